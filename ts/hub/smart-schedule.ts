/**
 * When a v0.18.8 hub fetches SMART in the background (spec beszel-v0.18.md §5.2): on a 60 s poll of
 * a connection whose details are stored, when no fetch of it runs and the last attempt is at least
 * one interval old — interval = Details.SmartInterval when > 0, else 1 h. The last attempts live in
 * one map per hub, keyed by system, that outlives connections; only failed attempts (an error or no
 * devices) are forgotten when a system connects again.
 */

export const DEFAULT_SMART_INTERVAL_MS = 3_600_000

interface Attempt {
  at: number
  ok: boolean
}

export class SmartFetchLog {
  private readonly attempts = new Map<string, Attempt>()

  /** A new connection of the system (WebSocket connect, new SSH client): failed attempts are forgotten. */
  connected(systemId: string): void {
    if (this.attempts.get(systemId)?.ok === false) this.attempts.delete(systemId)
  }

  due(systemId: string, intervalMs: number, now: number = Date.now()): boolean {
    const last = this.attempts.get(systemId)
    return last === undefined || last.at + intervalMs <= now
  }

  record(systemId: string, ok: boolean, at: number = Date.now()): void {
    this.attempts.set(systemId, { at, ok })
  }

  last(systemId: string): { at: number; ok: boolean } | undefined {
    const attempt = this.attempts.get(systemId)
    return attempt ? { ...attempt } : undefined
  }
}

/** Details.SmartInterval (ns) → ms; 0 when unset or not positive. */
export function smartIntervalMs(smartIntervalNs: number | undefined): number {
  return smartIntervalNs !== undefined && smartIntervalNs > 0 ? smartIntervalNs / 1e6 : 0
}
