/**
 * The host-action audit log (AUDIT_LOG, default <DATA_DIR>/audit.jsonl): one JSON line per decision,
 * allowed or refused, mode 0600. At 10 MiB the file is rotated (audit.jsonl.1 … .5; the oldest is
 * dropped). A record that cannot be written stops the action: the gate writes the "allowed" record
 * before it runs anything and refuses when that fails.
 */
import { chmod, open, rename, stat, type FileHandle } from 'node:fs/promises'

export const AUDIT_MAX_BYTES = 10 * 1024 * 1024
export const AUDIT_KEEP = 5

export interface AuditRecord {
  /** ISO 8601, UTC */
  time: string
  action: number
  name: string
  /** the request id (WebSocket), for matching the hub's own log */
  id?: number
  /** "allowed" (about to run), "refused", "done" or "failed" (it ran) */
  decision: 'allowed' | 'refused' | 'done' | 'failed'
  reason?: string
  /** SHA-256 (hex) of the signed params bytes: what was asked, without the content itself */
  params?: string
  /** the KEY entry that signed it (its comment) */
  key?: string
  exit?: number
  bytes?: number
  durationMs?: number
}

export class AuditLog {
  private handle: FileHandle | undefined
  private size = 0
  /** appends run one after another: rotation must not interleave with a write */
  private tail: Promise<void> = Promise.resolve()

  constructor(
    readonly path: string,
    private readonly maxBytes = AUDIT_MAX_BYTES,
    private readonly keep = AUDIT_KEEP,
  ) {}

  /** Appends one record; rejects when it could not be written (the caller must not act then). */
  append(record: AuditRecord): Promise<void> {
    const line = `${JSON.stringify(record)}\n`
    const write = this.tail.then(() => this.write(line))
    this.tail = write.catch(() => undefined)
    return write
  }

  async close(): Promise<void> {
    await this.tail
    await this.handle?.close()
    this.handle = undefined
  }

  private async write(line: string): Promise<void> {
    const bytes = Buffer.byteLength(line)
    if (this.handle && this.size > 0 && this.size + bytes > this.maxBytes) await this.rotate()
    const handle = await this.opened()
    try {
      await handle.appendFile(line)
      this.size += bytes
    } catch (error) {
      // a handle that failed once is reopened next time (the disk may come back)
      await handle.close().catch(() => undefined)
      this.handle = undefined
      throw error
    }
  }

  private async opened(): Promise<FileHandle> {
    if (this.handle) return this.handle
    const handle = await open(this.path, 'a', 0o600)
    try {
      // an existing file keeps its mode on open: make it 0600 whatever it was
      await handle.chmod(0o600)
      this.size = (await handle.stat()).size
    } catch (error) {
      await handle.close().catch(() => undefined)
      throw error
    }
    this.handle = handle
    if (this.size >= this.maxBytes) await this.rotate()
    return this.handle ?? (await this.opened())
  }

  /** audit.jsonl → .1 → .2 … → .keep (the last is overwritten): old records are kept, not cut. */
  private async rotate(): Promise<void> {
    await this.handle?.close().catch(() => undefined)
    this.handle = undefined
    for (let i = this.keep - 1; i >= 1; i--) {
      await rename(`${this.path}.${i}`, `${this.path}.${i + 1}`).catch(() => undefined)
    }
    await rename(this.path, `${this.path}.1`)
    await chmod(`${this.path}.1`, 0o600).catch(() => undefined)
    this.size = 0
  }
}

/** Whether `path` exists with a mode other than 0600 (for doctor). */
export async function auditModeProblem(path: string): Promise<string | undefined> {
  try {
    const mode = (await stat(path)).mode & 0o777
    return mode === 0o600 ? undefined : `${path} has mode ${mode.toString(8)}, not 600`
  } catch {
    return undefined
  }
}
