/**
 * GetData: one CombinedData payload from the native core, passed on as the bytes it produced. The
 * container engines are asked only when the core will not answer from its snapshot cache; their raw
 * counters go to the core, which computes the rates and encodes key 2.
 */
import type { Collector } from '../collector.js'
import type { ContainerSample } from '../containers/types.js'
import type { CombinedDataJson } from '../native.js'
import type { GetDataOptions } from '../protocol/actions.js'
import type { HandlerResult } from './handler.js'

export interface ContainerSource {
  sample(): Promise<ContainerSample>
}

export type DataCollector = Pick<Collector, 'collect'> & Partial<Pick<Collector, 'isFresh' | 'snapshot'>>

/** The collect options for `cacheTimeMs`, with this moment's containers when the core needs them. */
async function optionsFor(collector: DataCollector, cacheTimeMs: number, containers: ContainerSource | undefined) {
  if (!containers || !collector.isFresh || collector.isFresh(cacheTimeMs)) return { cacheTimeMs }
  const sample = await containers.sample()
  return { cacheTimeMs, containers: sample.containers, podman: sample.podman }
}

export async function collectWithContainers(collector: DataCollector, cacheTimeMs: number, containers?: ContainerSource): Promise<Buffer> {
  return collector.collect(await optionsFor(collector, cacheTimeMs, containers))
}

export async function snapshotWithContainers(
  collector: Pick<Collector, 'snapshot'> & Partial<Pick<Collector, 'isFresh'>>,
  cacheTimeMs: number,
  containers?: ContainerSource,
): Promise<CombinedDataJson> {
  const dataCollector: DataCollector = { collect: () => Promise.reject(new Error('unused')), ...collector }
  return collector.snapshot(await optionsFor(dataCollector, cacheTimeMs, containers))
}

export async function handleGetData(options: GetDataOptions, collector: DataCollector, containers?: ContainerSource): Promise<HandlerResult> {
  // includeDetails (v0.18 hubs) is accepted; the core sends the v0.17 shape, which v0.18 hubs migrate.
  const cbor = await collectWithContainers(collector, options.cacheTimeMs, containers)
  return { body: { kind: 'data', cbor } }
}
