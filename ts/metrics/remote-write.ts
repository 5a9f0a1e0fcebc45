/**
 * Remote write to REMOTE_WRITE_URL (contract placeholder: the client lands with its tests).
 */
import type { MetricsCounters } from '../../index.js'
import type { MetricsDeps, MetricsPart, ReadingOptions } from './start.js'

export interface RemoteWritePart extends MetricsPart {
  /** the queue's counters, rendered by the core as sonar_remote_write_* */
  counters(): MetricsCounters
}

export async function startRemoteWrite(deps: MetricsDeps, _reading: ReadingOptions): Promise<RemoteWritePart> {
  throw new Error(`REMOTE_WRITE_URL=${deps.config.setting('REMOTE_WRITE_URL') ?? ''}: remote write is not built yet`)
}
