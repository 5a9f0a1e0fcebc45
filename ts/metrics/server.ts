/**
 * GET /metrics on METRICS_LISTEN (contract placeholder: the server lands with its tests).
 */
import type { MetricsDeps, MetricsPart, ReadingOptions } from './start.js'

export async function startMetricsServer(deps: MetricsDeps, _reading: ReadingOptions): Promise<MetricsPart> {
  throw new Error(`METRICS_LISTEN=${deps.config.setting('METRICS_LISTEN') ?? ''}: the /metrics server is not built yet`)
}
