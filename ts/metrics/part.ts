/**
 * What every Prometheus part (the /metrics server, remote write) is given and gives back; its own
 * module so that the parts and start.ts, which imports them, do not import each other.
 */
import type { AgentConfig } from '../config/config.js'
import type { ContainerSource } from '../handlers/data.js'
import type { Logger } from '../log.js'
import type { MetricsOptions, NativeBinding } from '../../index.js'

export interface MetricsDeps {
  config: AgentConfig
  native: NativeBinding
  containers?: ContainerSource
  logger: Logger
  /** the agent's data directory (remote write keeps its queue there across a restart); none: not kept */
  dataDir?: string
}

/** A running part (server or remote write). */
export interface MetricsPart {
  close(): Promise<void>
}

/** What a part needs to take one reading: the engines' last sample and the agent's own counters. */
export type ReadingOptions = () => Promise<MetricsOptions>
