/**
 * Remote write's queue: encoded requests waiting for the receiver, oldest first, bounded by age
 * (REMOTE_WRITE_QUEUE_MAX_AGE) and by bytes (REMOTE_WRITE_QUEUE_MAX_BYTES). When a bound is hit
 * the oldest batches go first, and the queue counts them; it never reorders. Pure: no timers, no
 * I/O — the caller passes the clock.
 */
import { settingError } from '../config/errors.js'

/** One remote-write request body: every series of one reading, at one timestamp. */
export interface Batch {
  /** the snappy-compressed prometheus.WriteRequest */
  body: Buffer
  samples: number
  /** the samples' timestamp, ms since the epoch */
  timestamp: number
}

export interface QueueBounds {
  maxAgeMs: number
  maxBytes: number
}

/** What one prune or push let go of. */
export interface Dropped {
  batches: number
  samples: number
  bytes: number
}

const NOTHING: Dropped = Object.freeze({ batches: 0, samples: 0, bytes: 0 })

const add = (d: Dropped, batch: Batch): Dropped => ({ batches: d.batches + 1, samples: d.samples + batch.samples, bytes: d.bytes + batch.body.length })

export class WriteQueue {
  private readonly batches: Batch[] = []
  private head = 0
  private bytes = 0
  private samples = 0
  /** the batch being sent: the bounds wait for its answer rather than count it both sent and dropped */
  private inFlight: Batch | undefined

  constructor(readonly bounds: QueueBounds) {}

  get length(): number {
    return this.batches.length - this.head
  }

  get pendingBytes(): number {
    return this.bytes
  }

  get pendingSamples(): number {
    return this.samples
  }

  /** Seconds since the oldest pending sample was taken; 0 when nothing is pending. */
  oldestAgeSeconds(now: number): number {
    const first = this.peek()
    return first === undefined ? 0 : Math.max(0, now - first.timestamp) / 1000
  }

  /** Adds the newest batch, then enforces the bounds. */
  push(batch: Batch, now: number): Dropped {
    this.batches.push(batch)
    this.bytes += batch.body.length
    this.samples += batch.samples
    return this.prune(now)
  }

  /** The oldest batch: the next to send. */
  peek(): Batch | undefined {
    return this.batches[this.head]
  }

  /** Marks the oldest batch as being sent (undefined: nothing is). */
  setInFlight(batch: Batch | undefined): void {
    this.inFlight = batch
  }

  /** Removes `batch` once the receiver took it (or refused it for good); false if it is no longer queued. */
  remove(batch: Batch): boolean {
    if (this.inFlight === batch) this.inFlight = undefined
    if (this.peek() !== batch) return false
    this.shift()
    return true
  }

  /**
   * Drops the oldest batches until every remaining one is younger than maxAgeMs and they fit in
   * maxBytes. A batch in flight is kept until its answer (it is either sent or dropped, never
   * both): the bound then takes the next-oldest instead. The newest batch is kept whatever its
   * size, so a reading larger than the whole bound is still sent rather than never; the bytes
   * may exceed maxBytes by that batch, or by the one in flight.
   */
  prune(now: number): Dropped {
    let dropped: Dropped = NOTHING
    const tooOld = (batch: Batch) => now - batch.timestamp > this.bounds.maxAgeMs
    const fits = (first: Batch) => !tooOld(first) && (this.bytes <= this.bounds.maxBytes || this.length === 1)
    for (let first = this.peek(); first !== undefined && first !== this.inFlight && !fits(first); first = this.peek()) {
      this.shift()
      dropped = add(dropped, first)
    }
    // An in-flight head: the rest still keeps the bounds (drop the next-oldest).
    while (this.inFlight !== undefined && this.peek() === this.inFlight && this.length > 1) {
      const second = this.batches[this.head + 1] as Batch
      if (!tooOld(second) && (this.bytes <= this.bounds.maxBytes || this.length === 2)) break
      this.batches.splice(this.head + 1, 1)
      this.bytes -= second.body.length
      this.samples -= second.samples
      dropped = add(dropped, second)
    }
    return dropped
  }

  /** Everything still queued, oldest first (for shutdown accounting and tests). */
  pending(): readonly Batch[] {
    return this.batches.slice(this.head)
  }

  private shift(): Batch {
    const batch = this.batches[this.head] as Batch
    this.head += 1
    this.bytes -= batch.body.length
    this.samples -= batch.samples
    // Compact now and then rather than shifting the array on every removal.
    if (this.head > 64 && this.head * 2 > this.batches.length) {
      this.batches.splice(0, this.head)
      this.head = 0
    }
    return batch
  }
}

const UNITS: Record<string, number> = {
  b: 1,
  k: 1000,
  kb: 1000,
  m: 1000 ** 2,
  mb: 1000 ** 2,
  g: 1000 ** 3,
  gb: 1000 ** 3,
  ki: 1024,
  kib: 1024,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
}

/**
 * A byte size: a number and an optional unit, decimal (KB, MB, GB) or binary (KiB, MiB, GiB),
 * case-insensitive: "8MiB", "512KiB", "1GB", "1.5mb", "65536". The error names `setting`.
 */
export function parseByteSize(text: string, setting: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text)
  const unit = match?.[2]?.toLowerCase() ?? ''
  const factor = unit === '' ? 1 : UNITS[unit]
  if (match === null || factor === undefined) {
    throw settingError(setting, `${JSON.stringify(text)} is not a size (a number and a unit: B, KB, MB, GB, KiB, MiB, GiB)`, '32MiB')
  }
  const bytes = Math.floor(Number(match[1]) * factor)
  if (!(bytes >= 1024)) throw settingError(setting, `${JSON.stringify(text)} is less than 1KiB: no request would fit`, '32MiB')
  return bytes
}
