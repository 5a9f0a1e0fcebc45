/**
 * The data directory (fingerprint, SSH host key, health file), found like the Go agent does
 * (spec §2.8): the first existing writable candidate, else the first one that can be created.
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const SYSTEM_DATA_DIR = '/var/lib/sonar-agent'
export const BESZEL_SYSTEM_DATA_DIR = '/var/lib/beszel-agent'

export interface DataDirOptions {
  /** false: only pick a directory that already exists (read-only commands). Default true. */
  create?: boolean
  /** replaces `/var/lib/sonar-agent` (tests) */
  systemDir?: string
}

/** Candidates in order: DATA_DIR, /var/lib/sonar-agent, $HOME/.config/sonar-agent. */
export function dataDirCandidates(configured: string | undefined, env: NodeJS.ProcessEnv = process.env, systemDir = SYSTEM_DATA_DIR): string[] {
  const home = env.HOME
  return [configured, systemDir, home ? join(home, '.config', 'sonar-agent') : undefined].filter(
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

/** The data directory, or undefined when no candidate is usable (the fingerprint is then not saved). */
export function resolveDataDir(configured: string | undefined, env: NodeJS.ProcessEnv = process.env, options: DataDirOptions = {}): string | undefined {
  const candidates = dataDirCandidates(configured, env, options.systemDir)
  for (const dir of candidates) {
    if (existsAsDir(dir) === true && isWritable(dir)) return dir
  }
  if (options.create === false) return undefined
  for (const dir of candidates) {
    if (existsAsDir(dir) !== undefined) continue
    try {
      mkdirSync(dir, { recursive: true, mode: 0o755 })
    } catch {
      continue
    }
    if (isWritable(dir)) return dir
  }
  return undefined
}
