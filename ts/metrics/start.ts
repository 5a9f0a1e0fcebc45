/**
 * The daemon's one entry to Prometheus: the /metrics server (METRICS_LISTEN) and remote write
 * (REMOTE_WRITE_URL). run.ts imports this module only when one of them is set, and this module
 * imports each part only when its own setting is: with both off, nothing of it is loaded.
 */
import type { MetricsCounters } from '../../index.js'
import { CONTAINER_WAIT_MS } from '../containers/recent.js'
import type { MetricsDeps, MetricsPart, ReadingOptions } from './part.js'

export type { MetricsDeps, MetricsPart, ReadingOptions } from './part.js'

/**
 * Checks the settings of the parts that are on, with each problem one ConfigError naming the
 * setting — before the daemon starts anything (run.ts), as every other bad setting is.
 */
export async function checkMetricsSettings(config: MetricsDeps['config']): Promise<void> {
  if ((config.setting('REMOTE_WRITE_URL') ?? '').trim() !== '') {
    const { remoteWriteSettings } = await import('./remote-write-settings.js')
    await remoteWriteSettings(config)
  }
}

export async function startMetrics(deps: MetricsDeps): Promise<MetricsPart> {
  const parts: MetricsPart[] = []
  // remote write's counters, when it is on (absent, the core has none to read)
  let counters: (() => MetricsCounters) | undefined
  const reading: ReadingOptions = async () => {
    const source = deps.containers
    const sample = source?.recent ? await source.recent(CONTAINER_WAIT_MS) : undefined
    return { ...(sample ? { containers: sample.containers } : {}), ...(counters ? { counters: counters() } : {}) }
  }
  try {
    if ((deps.config.setting('REMOTE_WRITE_URL') ?? '').trim() !== '') {
      const { startRemoteWrite } = await import('./remote-write.js')
      const push = await startRemoteWrite({ ...deps, logger: deps.logger.child('remote-write') }, reading)
      counters = () => push.counters()
      parts.push(push)
    }
    if ((deps.config.setting('METRICS_LISTEN') ?? '').trim() !== '') {
      const { startMetricsServer } = await import('./server.js')
      parts.push(await startMetricsServer({ ...deps, logger: deps.logger.child('metrics') }, reading))
    }
  } catch (error) {
    await Promise.allSettled(parts.map((part) => part.close()))
    throw error
  }
  return {
    close: async () => {
      await Promise.allSettled(parts.map((part) => part.close()))
    },
  }
}
