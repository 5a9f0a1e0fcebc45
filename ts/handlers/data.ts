/** GetData: one CombinedData payload from the native core, passed on as the bytes it produced. */
import type { Collector } from '../collector.js'
import type { GetDataOptions } from '../protocol/actions.js'
import type { HandlerResult } from './handler.js'

export async function handleGetData(options: GetDataOptions, collector: Pick<Collector, 'collect'>): Promise<HandlerResult> {
  // includeDetails (v0.18 hubs) is accepted; the core sends the v0.17 shape, which v0.18 hubs migrate.
  const cbor = await collector.collect({ cacheTimeMs: options.cacheTimeMs })
  return { body: { kind: 'data', cbor } }
}
