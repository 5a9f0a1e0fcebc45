/**
 * The host fingerprint the hub pins a system to (spec §2.8): a stored file wins; otherwise
 * SHA-256 of the host id (gopsutil's Linux HostID sources), first 24 bytes, lower-case hex. It must
 * match the Go agent bit for bit, or a hub refuses a migrated host with "fingerprint mismatch".
 */
import { createHash } from 'node:crypto'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beszelDataDirs } from './data-dir.js'

export interface HostIdRoots {
  proc: string
  sys: string
  etc: string
}

export const FINGERPRINT_FILE = 'fingerprint'
/** A DMI UUID many boards ship with; Beszel ≥ 0.18.4 ignores it (`fingerprint.go:18`). */
export const NON_UNIQUE_DMI_UUID = '03000200-0400-0500-0006-000700080009'

/** First line without its `\n`, like gopsutil's ReadLines; undefined when unreadable or empty. */
function firstLine(path: string): string | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
  if (text === '') return undefined
  return text.split('\n')[0]
}

/** gopsutil `host.HostID()` on Linux: product_uuid → machine-id (exactly 32 chars) → boot_id. */
export function hostId(roots: HostIdRoots): string | undefined {
  const productUuid = firstLine(join(roots.sys, 'class/dmi/id/product_uuid'))
  if (productUuid) return productUuid.toLowerCase()
  const machineId = firstLine(join(roots.etc, 'machine-id'))
  // Go counts bytes; real machine-ids are 32 hex characters, where bytes and characters agree.
  if (machineId !== undefined && Buffer.byteLength(machineId) === 32) {
    return `${machineId.slice(0, 8)}-${machineId.slice(8, 12)}-${machineId.slice(12, 16)}-${machineId.slice(16, 20)}-${machineId.slice(20, 32)}`
  }
  const bootId = firstLine(join(roots.proc, 'sys/kernel/random/boot_id'))
  if (bootId) return bootId.toLowerCase()
  return undefined
}

export function computeFingerprint(roots: HostIdRoots, hostname: string, cpuModel: string): string {
  let id = hostId(roots)
  if (id === undefined || id === '' || id === NON_UNIQUE_DMI_UUID) id = hostname + cpuModel
  return createHash('sha256').update(id, 'utf8').digest().subarray(0, 24).toString('hex')
}

/** A stored fingerprint, trimmed; an empty or unreadable file counts as none (Beszel ≥ 0.18.4). */
export function readFingerprintFile(dir: string): string | undefined {
  try {
    const text = readFileSync(join(dir, FINGERPRINT_FILE), 'utf8').trim()
    return text === '' ? undefined : text
  } catch {
    return undefined
  }
}

export interface LoadFingerprintOptions {
  dataDir?: string
  roots: HostIdRoots
  hostname: string
  cpuModel: string
  env?: NodeJS.ProcessEnv
  /** where to look for a Beszel agent's fingerprint; default beszelDataDirs(env); [] = no migration */
  beszelDirs?: readonly string[]
  /** false: never write (`fingerprint view`). Default true. */
  persist?: boolean
  /** told when the fingerprint cannot be saved (the agent still runs; the hub may see a new one later) */
  onWarning?: (message: string) => void
}

function persistFingerprint(dir: string, fingerprint: string, warn: (message: string) => void): void {
  try {
    writeFileSync(join(dir, FINGERPRINT_FILE), fingerprint, { mode: 0o644 })
  } catch (error) {
    warn(`cannot save the fingerprint in ${dir} (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
  }
}

/**
 * Our stored fingerprint → a Beszel agent's (copied into our data dir, so a migrated host keeps
 * the identity its hub pinned) → computed from the host id and saved.
 */
export function loadFingerprint(opts: LoadFingerprintOptions): string {
  const persist = opts.persist ?? true
  const warn = opts.onWarning ?? (() => undefined)
  const stored = opts.dataDir === undefined ? undefined : readFingerprintFile(opts.dataDir)
  if (stored !== undefined) return stored
  for (const dir of opts.beszelDirs ?? beszelDataDirs(opts.env)) {
    if (dir === opts.dataDir) continue
    const migrated = readFingerprintFile(dir)
    if (migrated === undefined) continue
    if (persist && opts.dataDir !== undefined) persistFingerprint(opts.dataDir, migrated, warn)
    return migrated
  }
  const fingerprint = computeFingerprint(opts.roots, opts.hostname, opts.cpuModel)
  if (persist && opts.dataDir !== undefined) persistFingerprint(opts.dataDir, fingerprint, warn)
  return fingerprint
}

/** Forgets the stored fingerprint; the next load computes a fresh one. Beszel's files are left alone. */
export function resetFingerprint(dataDir: string | undefined): void {
  if (dataDir === undefined) return
  rmSync(join(dataDir, FINGERPRINT_FILE), { force: true })
}
