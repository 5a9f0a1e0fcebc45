/** What TS hands the native core per container: raw engine counters (index.d.ts); the core does every rate. */
import type { ContainerSampleInput } from '../../index.js'

export type { ContainerSampleInput }

/** One sample across every engine. */
export interface ContainerSample {
  /** null: no engine answered (key 2 is then null, as the Go agent sends without Docker) */
  containers: ContainerSampleInput[] | null
  /** a Podman engine answered (Info.p) */
  podman: boolean
}
