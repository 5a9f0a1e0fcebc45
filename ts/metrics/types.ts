/** What the Prometheus parts (server, remote write) are given and give back (ts/metrics/start.ts). */
import type { AgentConfig } from '../config/config.js'
import type { ContainerSource } from '../handlers/data.js'
import type { Logger } from '../log.js'
import type { MetricsOptions, NativeBinding } from '../../index.js'

export interface MetricsDeps {
  config: AgentConfig
  native: NativeBinding
  containers?: ContainerSource
  logger: Logger
}

/** A running part (server or remote write). */
export interface MetricsPart {
  close(): Promise<void>
}

/** What a part needs to take one reading: the engines' last sample and the agent's own counters. */
export type ReadingOptions = () => Promise<MetricsOptions>
