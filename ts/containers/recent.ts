/**
 * What GetData sends for containers when an engine is slow. The hub gives an agent 5 s per request,
 * and DOCKER_TIMEOUT may be longer than that: GetData waits for the engines only a fixed share of
 * the hub's deadline, then answers with the last sample read (with its age, so the core measures
 * rates to when it was read) or with none, while the sample in flight finishes in the background
 * and becomes the next "last".
 */
import type { ContainerSample } from './types.js'

/** How long GetData waits for the engines: a fifth of the hub's 5 s deadline. */
export const CONTAINER_WAIT_MS = 1000

/** A last sample older than this (two of the hub's 60 s ticks and then some) is not sent. */
export const STALE_AFTER_MS = 150_000

/** A sample and how long ago (ms) it was read; 0 for one that arrived in time. */
export interface RecentContainerSample extends ContainerSample {
  ageMs: number
}

/** No engine answered: key 2 is null. */
const NONE: ContainerSample = { containers: null, podman: false }

/** `promise`'s value if it settles within `ms`, else undefined (the promise runs on). */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms)
    timer.unref()
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Remembers the last sample read, and when. */
export class RecentSamples {
  private last: { sample: ContainerSample; at: number } | undefined

  constructor(private readonly clock: () => number = () => performance.now()) {}

  record(sample: ContainerSample): void {
    this.last = { sample, at: this.clock() }
  }

  /** `pending` if it arrives within `waitMs`, else the last sample with its age, else none. */
  async within(pending: Promise<ContainerSample>, waitMs: number): Promise<RecentContainerSample> {
    // a sample that fails later is that sample's business, not this request's
    const fresh = await within(
      pending.catch(() => undefined),
      waitMs,
    )
    if (fresh) return { ...fresh, ageMs: 0 }
    const last = this.last
    const ageMs = last ? Math.max(0, Math.round(this.clock() - last.at)) : 0
    if (!last || ageMs > STALE_AFTER_MS) return { ...NONE, ageMs: 0 }
    return { ...last.sample, ageMs }
  }
}
