/**
 * Reconnect delays: exponential backoff with full jitter (a uniformly random delay between 0 and
 * min(cap, base·2^attempt)). Jitter spreads a fleet of agents that lost the same hub, so a hub restart
 * is not answered by every agent in the same second.
 */
export interface BackoffOptions {
  /** first ceiling, ms (default 1 s) */
  baseMs?: number
  /** largest ceiling, ms (default 30 s) */
  capMs?: number
  /** [0, 1) source; injectable so tests are deterministic */
  random?: () => number
}

export const DEFAULT_BACKOFF_BASE_MS = 1_000
/** A hub back from a restart is found within 30 s (a Go hub retries every 10 s); jitter still spreads a fleet. */
export const DEFAULT_BACKOFF_CAP_MS = 30_000

export class Backoff {
  private attempt = 0
  private readonly baseMs: number
  private readonly capMs: number
  private readonly random: () => number

  constructor(options: BackoffOptions = {}) {
    this.baseMs = Math.max(1, options.baseMs ?? DEFAULT_BACKOFF_BASE_MS)
    this.capMs = Math.max(this.baseMs, options.capMs ?? DEFAULT_BACKOFF_CAP_MS)
    this.random = options.random ?? Math.random
  }

  /** Failures since the last reset. */
  get attempts(): number {
    return this.attempt
  }

  /** The ceiling the next delay is drawn under. */
  get ceilingMs(): number {
    // 2^attempt overflows to Infinity long after it passed the cap; min() keeps it finite.
    return Math.min(this.capMs, this.baseMs * 2 ** Math.min(this.attempt, 52))
  }

  /** The delay before the next try; each call counts one more failure. */
  next(): number {
    const ceiling = this.ceilingMs
    this.attempt += 1
    const r = this.random()
    const fraction = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0
    return Math.round(fraction * ceiling)
  }

  /** After a session the hub accepted: the next failure starts again from the base. */
  reset(): void {
    this.attempt = 0
  }
}
