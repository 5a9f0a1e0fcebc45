/**
 * What a v0.18.8 hub does to every 60 s answer before saving it (spec beszel-v0.18.md §3.4,
 * `migrateDeprecatedFields`): Details synthesized from the legacy Info fields of an agent that
 * sent none (once per connection), those Info fields cleared, and byte rates derived from the
 * MiB/s fields older agents send. Realtime answers are not migrated.
 */
import type { DetailsJson } from './details.js'
import type { HubPayload } from './payload.js'

const MIB = 1024 * 1024
const GIB = 1024 * MIB

export interface Migrated {
  /** the Details to store with this answer: the agent's, or synthesized; undefined when neither */
  details: DetailsJson | undefined
  synthesized: boolean
}

/** Details built from Info as 0.18.8 builds them: no OsName, Arch or SmartInterval; memory from the GiB figure. */
export function detailsFromInfo(data: HubPayload): DetailsJson {
  const { info, stats } = data
  return {
    Hostname: info.h,
    ...(info.k ? { Kernel: info.k } : {}),
    Cores: info.c,
    Threads: info.t ?? 0,
    CpuModel: info.m,
    Os: info.os,
    OsName: '',
    Arch: '',
    ...(info.p ? { Podman: true } : {}),
    // Go: uint64(Stats.Mem * 1024 * 1024 * 1024), truncated
    MemoryTotal: Math.trunc(stats.m * GIB),
  }
}

/**
 * Mutates `data` as the hub does and returns the Details to store. `createDetails` is true while
 * this connection has not stored details yet (`!detailsFetched`).
 */
export function migrateDeprecatedFields(data: HubPayload, details: DetailsJson | undefined, createDetails: boolean): Migrated {
  let result: Migrated = { details, synthesized: false }
  if (details === undefined && data.info.h !== '') {
    if (createDetails) result = { details: detailsFromInfo(data), synthesized: true }
    // cleared on every such answer, whether or not details were built from it
    data.info.h = ''
    delete data.info.k
    data.info.c = 0
    data.info.m = ''
    delete data.info.p
    data.info.os = 0
  }
  const { stats, info } = data
  if (stats.b === undefined || (stats.b[0] === 0 && stats.b[1] === 0)) {
    const derived: [number, number] = [Math.trunc(stats.ns * MIB), Math.trunc(stats.nr * MIB)]
    if (derived[0] !== 0 || derived[1] !== 0) stats.b = derived
  }
  if (info.bb === 0) info.bb = Math.trunc(info.b * MIB)
  if (stats.dio === undefined || (stats.dio[0] === 0 && stats.dio[1] === 0)) {
    const derived: [number, number] = [Math.trunc(stats.dr * MIB), Math.trunc(stats.dw * MIB)]
    if (derived[0] !== 0 || derived[1] !== 0) stats.dio = derived
  }
  return result
}
