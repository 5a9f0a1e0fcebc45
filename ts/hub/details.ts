/**
 * CombinedData key 4 `Details` (spec beszel-v0.18.md §3.1): the host facts a v0.18 agent sends once
 * per connection instead of Info 0/1/2/4/11/14. Declared here until the core's payload tables
 * (ts/hub/model.generated.ts) carry a Details struct; the JSON names are the Go field names, as the
 * Go struct has no JSON tags.
 */
import type { WireField } from './model.generated.js'

export const DETAILS_FIELDS: readonly WireField[] = [
  { key: 0, name: 'Hostname', optional: false, type: { kind: 'text' } },
  { key: 1, name: 'Kernel', optional: true, type: { kind: 'text' } },
  { key: 2, name: 'Cores', optional: false, type: { kind: 'uint' } },
  { key: 3, name: 'Threads', optional: false, type: { kind: 'uint' } },
  { key: 4, name: 'CpuModel', optional: false, type: { kind: 'text' } },
  { key: 5, name: 'Os', optional: false, type: { kind: 'uint' } },
  { key: 6, name: 'OsName', optional: false, type: { kind: 'text' } },
  { key: 7, name: 'Arch', optional: false, type: { kind: 'text' } },
  { key: 8, name: 'Podman', optional: true, type: { kind: 'bool' } },
  { key: 9, name: 'MemoryTotal', optional: false, type: { kind: 'uint' } },
  { key: 10, name: 'SmartInterval', optional: true, type: { kind: 'uint' } },
]

export interface DetailsJson {
  Hostname: string
  Kernel?: string
  /** physical cores */
  Cores: number
  Threads: number
  CpuModel: string
  /** 0 Linux, 1 Darwin, 2 Windows, 3 FreeBSD */
  Os: number
  /** e.g. PRETTY_NAME of /etc/os-release */
  OsName: string
  /** uname machine: x86_64, aarch64… */
  Arch: string
  Podman?: boolean
  /** bytes */
  MemoryTotal: number
  /** SMART_INTERVAL in nanoseconds (Go time.Duration) */
  SmartInterval?: number
}

/** Where stored details came from: the agent's key 4, or the hub's synthesis from legacy Info (§3.4). */
export type DetailsSource = 'agent' | 'synthesized'
