/**
 * GetData: one CombinedData payload from the native core, passed on as the bytes it produced. The
 * container engines are asked only when the core will not answer from its snapshot cache; their raw
 * counters go to the core, which computes the rates and encodes key 2. A hub request never waits
 * for the engines longer than CONTAINER_WAIT_MS: a slow engine's last sample is sent instead.
 */
import type { Collector } from '../collector.js'
import { CONTAINER_WAIT_MS, within, type RecentContainerSample } from '../containers/recent.js'
import type { ContainerSample } from '../containers/types.js'
import type { CollectOptions, CombinedDataJson } from '../native.js'
import type { GetDataOptions } from '../protocol/actions.js'
import type { HandlerResult } from './handler.js'

export { CONTAINER_WAIT_MS }

export interface ContainerSource {
  sample(): Promise<ContainerSample>
  /** the sample if it comes within `waitMs`, else the last one read with its age (ContainerMonitor) */
  recent?(waitMs: number): Promise<RecentContainerSample>
}

export type DataCollector = Pick<Collector, 'collect'> & Partial<Pick<Collector, 'isFresh' | 'snapshot'>>

/** The engines' sample, waiting at most `waitMs` (undefined: as long as the engines take). */
async function containersFor(source: ContainerSource, waitMs: number | undefined): Promise<RecentContainerSample> {
  if (waitMs === undefined) return { ...(await source.sample()), ageMs: 0 }
  if (source.recent) return source.recent(waitMs)
  // a source that keeps no last sample: this one if it comes in time, else none
  const sample = await within(source.sample(), waitMs)
  return sample ? { ...sample, ageMs: 0 } : { containers: null, podman: false, ageMs: 0 }
}

/** The collect options for `cacheTimeMs`, with the containers when the core needs them. */
async function optionsFor(
  collector: DataCollector,
  cacheTimeMs: number,
  containers: ContainerSource | undefined,
  waitMs: number | undefined,
): Promise<CollectOptions> {
  if (!containers || !collector.isFresh || collector.isFresh(cacheTimeMs)) return { cacheTimeMs }
  const sample = await containersFor(containers, waitMs)
  return {
    cacheTimeMs,
    containers: sample.containers,
    podman: sample.podman,
    ...(sample.ageMs > 0 ? { containersAgeMs: sample.ageMs } : {}),
  }
}

/**
 * A payload for the hub, in its dialect (`includeDetails` as the hub sent GetData key 1): the
 * engines are waited for at most `waitMs` (default CONTAINER_WAIT_MS).
 */
export async function collectWithContainers(
  collector: DataCollector,
  cacheTimeMs: number,
  containers?: ContainerSource,
  waitMs: number = CONTAINER_WAIT_MS,
  includeDetails?: boolean,
): Promise<Buffer> {
  const options = await optionsFor(collector, cacheTimeMs, containers, waitMs)
  return collector.collect(includeDetails === undefined ? options : { ...options, includeDetails })
}

/** The payload as JSON; `waitMs` undefined (the CLI's snapshot) waits for the engines as long as they take. */
export async function snapshotWithContainers(
  collector: Pick<Collector, 'snapshot'> & Partial<Pick<Collector, 'isFresh'>>,
  cacheTimeMs: number,
  containers?: ContainerSource,
  waitMs?: number,
): Promise<CombinedDataJson> {
  const dataCollector: DataCollector = { collect: () => Promise.reject(new Error('unused')), ...collector }
  return collector.snapshot(await optionsFor(dataCollector, cacheTimeMs, containers, waitMs))
}

export async function handleGetData(options: GetDataOptions, collector: DataCollector, containers?: ContainerSource): Promise<HandlerResult> {
  // The core renders the hub's dialect: key 1 present → the v0.18.8 shape (spec beszel-v0.18.md).
  const cbor = await collectWithContainers(collector, options.cacheTimeMs, containers, CONTAINER_WAIT_MS, options.includeDetails)
  return { body: { kind: 'data', cbor } }
}
