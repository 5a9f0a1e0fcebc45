/**
 * Remote write's queue across a restart of the agent: at stop, the requests still waiting for the
 * receiver are written to DATA_DIR/remote-write-queue; the next start reads them back (and
 * removes the file) so they are sent first. Kept for the same receiver only: the file names
 * REMOTE_WRITE_URL by its SHA-256 (a tenant token in the URL stays off the disk).
 *
 * Format: a header line `sonar-remote-write-queue 1 <sha256 of the URL>\n`, then per request its
 * timestamp (float64, ms), sample count (uint32) and body length (uint32), little-endian, and the
 * body (snappy-compressed WriteRequest, as it would be POSTed).
 */
import { createHash } from 'node:crypto'
import { readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Batch } from './write-queue.js'

export const QUEUE_FILE = 'remote-write-queue'
const MAGIC = 'sonar-remote-write-queue 1'
const RECORD_HEAD = 16

export const queueFilePath = (dataDir: string): string => join(dataDir, QUEUE_FILE)

const urlKey = (url: URL): string => createHash('sha256').update(url.href).digest('hex')

/** Writes `batches` (oldest first) for the next start; replaces an earlier file at once (rename). */
export function saveQueue(path: string, url: URL, batches: readonly Batch[]): void {
  const parts: Buffer[] = [Buffer.from(`${MAGIC} ${urlKey(url)}\n`)]
  for (const batch of batches) {
    const head = Buffer.alloc(RECORD_HEAD)
    head.writeDoubleLE(batch.timestamp, 0)
    head.writeUInt32LE(batch.samples, 8)
    head.writeUInt32LE(batch.body.length, 12)
    parts.push(head, batch.body)
  }
  const temporary = `${path}.tmp`
  writeFileSync(temporary, Buffer.concat(parts), { mode: 0o600 })
  renameSync(temporary, path)
}

export type LoadedQueue = { batches: Batch[] } | { batches: []; discarded: string }

/**
 * The requests a previous run saved for this receiver, oldest first; the file is removed either
 * way (what is read back is the queue's again, to be saved at the next stop). A file too large
 * for the byte bound, written for another URL, or cut short is discarded with the reason.
 */
export function loadQueue(path: string, url: URL, maxBytes: number): LoadedQueue | undefined {
  let size: number
  try {
    size = statSync(path).size
  } catch {
    return undefined // nothing saved
  }
  try {
    // the queue kept at most maxBytes plus the newest and the in-flight request
    if (size > 2 * maxBytes + (1 << 20)) return { batches: [], discarded: `it is ${size} bytes, more than REMOTE_WRITE_QUEUE_MAX_BYTES allows` }
    const data = readFileSync(path)
    const newline = data.indexOf(0x0a)
    const header = newline < 0 ? '' : data.subarray(0, newline).toString('latin1')
    if (!header.startsWith(`${MAGIC} `)) return { batches: [], discarded: 'it is not a queue file of this agent' }
    if (header !== `${MAGIC} ${urlKey(url)}`) return { batches: [], discarded: 'it was saved for another REMOTE_WRITE_URL' }
    const batches: Batch[] = []
    let at = newline + 1
    while (at < data.length) {
      if (at + RECORD_HEAD > data.length) return { batches: [], discarded: 'it is cut short' }
      const timestamp = data.readDoubleLE(at)
      const samples = data.readUInt32LE(at + 8)
      const length = data.readUInt32LE(at + 12)
      at += RECORD_HEAD
      if (!Number.isFinite(timestamp) || at + length > data.length) return { batches: [], discarded: 'it is cut short' }
      // a copy: the file's buffer is not kept alive by one small request
      batches.push({ timestamp, samples, body: Buffer.from(data.subarray(at, at + length)) })
      at += length
    }
    return { batches }
  } finally {
    try {
      unlinkSync(path)
    } catch {
      // already gone (another stop raced us) or not removable: the next save replaces it
    }
  }
}
