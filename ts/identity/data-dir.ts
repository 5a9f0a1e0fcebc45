/**
 * The data directory (fingerprint, SSH host key, health file), found like the Go agent does
 * (spec §2.8): the first existing writable candidate, else the first one that can be created.
 *
 * An explicitly set DATA_DIR that cannot be used (read-only, not a directory, not creatable) is
 * still passed over as the Go agent does — refusing to start would turn a monitored host into an
 * unmonitored one over where two small files live — but never silently: `onWarning` gets one
 * line naming DATA_DIR, its path, why, and what is used instead (as root, /var/lib/sonar-agent,
 * which holds a different fingerprint, so the hub may see a new one).
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join, win32 } from 'node:path'

export const SYSTEM_DATA_DIR = '/var/lib/sonar-agent'
export const BESZEL_SYSTEM_DATA_DIR = '/var/lib/beszel-agent'

/**
 * The machine-wide data directory: /var/lib/sonar-agent, on Windows %ProgramData%\sonar-agent
 * (where services keep their state; the LocalSystem account a service runs as has no useful HOME).
 */
export function systemDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (platform !== 'win32') return SYSTEM_DATA_DIR
  return win32.join(env.ProgramData || env.PROGRAMDATA || 'C:\\ProgramData', 'sonar-agent')
}

/** The per-user fallback: $HOME/.config/sonar-agent, on Windows %APPDATA%\sonar-agent. */
function userDataDir(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): string | undefined {
  if (platform === 'win32') {
    const appData = env.APPDATA || (env.USERPROFILE ? win32.join(env.USERPROFILE, 'AppData', 'Roaming') : undefined)
    return appData ? win32.join(appData, 'sonar-agent') : undefined
  }
  return env.HOME ? join(env.HOME, '.config', 'sonar-agent') : undefined
}

export interface DataDirOptions {
  /** false: only pick a directory that already exists (read-only commands). Default true. */
  create?: boolean
  /** replaces `/var/lib/sonar-agent` (tests) */
  systemDir?: string
  /** told once when an explicitly set DATA_DIR is not the directory used, and why */
  onWarning?: (message: string) => void
}

/**
 * Candidates in order: DATA_DIR, /var/lib/sonar-agent, $HOME/.config/sonar-agent (Windows:
 * DATA_DIR, %ProgramData%\sonar-agent, %APPDATA%\sonar-agent).
 */
export function dataDirCandidates(
  configured: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  systemDir = systemDataDir(env),
  platform: NodeJS.Platform = process.platform,
): string[] {
  return [configured, systemDir, userDataDir(env, platform)].filter(
    (dir): dir is string => dir !== undefined && dir !== '',
  )
}

/** Where a Beszel agent keeps its fingerprint: the source for migrating a host's identity. */
export function beszelDataDirs(env: NodeJS.ProcessEnv = process.env, systemDir = BESZEL_SYSTEM_DATA_DIR): string[] {
  const home = env.HOME
  return [systemDir, home ? join(home, '.config', 'beszel') : undefined].filter((dir): dir is string => dir !== undefined && dir !== '')
}

/** Permissions say too little (root, read-only mounts): try it. */
function isWritable(dir: string): boolean {
  const probe = join(dir, '.write-test')
  try {
    writeFileSync(probe, '')
    rmSync(probe, { force: true })
    return true
  } catch {
    return false
  }
}

function existsAsDir(dir: string): boolean | undefined {
  try {
    return statSync(dir).isDirectory()
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : false
  }
}

/** Why `dir` (which was not chosen) could not be the data directory. */
function whyNotUsable(dir: string, create: boolean): string {
  try {
    const stat = statSync(dir)
    if (!stat.isDirectory()) return 'is not a directory'
    return 'is not writable (read-only?)'
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOTDIR') return 'is not a directory (a part of the path is a file)'
    if (code !== 'ENOENT') return `cannot be read (${code ?? String(error)})`
    return create ? 'does not exist and an existing data directory came first (as in the Go agent)' : 'does not exist'
  }
}

function pick(candidates: string[], create: boolean): { dir: string | undefined; createFailure?: string } {
  for (const dir of candidates) {
    if (existsAsDir(dir) === true && isWritable(dir)) return { dir }
  }
  if (!create) return { dir: undefined }
  let createFailure: string | undefined
  for (const dir of candidates) {
    if (existsAsDir(dir) !== undefined) continue
    try {
      mkdirSync(dir, { recursive: true, mode: 0o755 })
    } catch (error) {
      if (dir === candidates[0]) createFailure = `could not be created (${(error as NodeJS.ErrnoException).code ?? String(error)})`
      continue
    }
    if (isWritable(dir)) return { dir }
    if (dir === candidates[0]) createFailure = 'was created but is not writable'
  }
  return { dir: undefined, ...(createFailure ? { createFailure } : {}) }
}

/** The data directory, or undefined when no candidate is usable (the fingerprint is then not saved). */
export function resolveDataDir(configured: string | undefined, env: NodeJS.ProcessEnv = process.env, options: DataDirOptions = {}): string | undefined {
  const candidates = dataDirCandidates(configured, env, options.systemDir)
  const create = options.create !== false
  const { dir, createFailure } = pick(candidates, create)
  if (configured && dir !== configured && options.onWarning) {
    const why = createFailure ?? whyNotUsable(configured, create)
    const instead = dir ? `using ${dir} instead` : 'no data directory is used (the fingerprint and SSH host key are not saved)'
    options.onWarning(`DATA_DIR=${configured} ${why}: ${instead}; fix DATA_DIR or unset it`)
  }
  return dir
}
