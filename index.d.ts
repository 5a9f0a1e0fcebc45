/**
 * Types of the native binding built from crates/sonar-node (loaded by ts/native.ts).
 * Field names are the JSON names of shared/spec/data-model.md; optional fields are the ones the
 * Go agent omits when empty.
 */

export interface CollectOptions {
  /** The hub's cache time: 60000 for the normal tick, 1000 for real time; 0 = never cached. */
  cacheTimeMs?: number
}

export interface FsStatsJson {
  /** GiB */ d: number
  /** GiB */ du: number
  /** MiB/s */ r: number
  /** MiB/s */ w: number
  /** bytes/s */ rb?: number
  /** bytes/s */ wb?: number
  /** [read-time %, write-time %, util %, r_await ms, w_await ms, weighted-io %] */
  dios?: number[]
}

export interface StatsJson {
  /** CPU busy %, all CPUs */ cpu: number
  /** GiB */ m: number
  /** GiB */ mu: number
  mp: number
  /** GiB */ mb: number
  /** GiB */ mz?: number
  /** GiB */ s?: number
  /** GiB */ su?: number
  /** GiB */ d: number
  /** GiB */ du: number
  dp: number
  /** MiB/s */ dr: number
  /** MiB/s */ dw: number
  /** MiB/s */ ns: number
  /** MiB/s */ nr: number
  /** °C by sensor name */ t?: Record<string, number>
  efs?: Record<string, FsStatsJson>
  /** [sent, received] bytes/s */ b?: [number, number]
  la: [number, number, number]
  /** [percent, state] */ bat?: [number, number]
  /** [up B/s, down B/s, total sent, total received] by interface */
  ni?: Record<string, [number, number, number, number]>
  /** [read, write] bytes/s */ dio?: [number, number]
  /** [user, system, iowait, steal, idle] % */ cpub?: number[]
  /** per-core busy % */ cpus?: number[]
  dios?: number[]
  /** percent by battery name */ bats?: Record<string, number>
}

export interface InfoJson {
  h: string
  k?: string
  c: number
  t?: number
  m: string
  /** seconds */ u: number
  cpu: number
  mp: number
  dp: number
  /** MiB/s */ b: number
  v: string
  p?: boolean
  g?: number
  dt?: number
  /** 0 Linux, 1 Darwin, 2 Windows, 3 FreeBSD */ os: number
  l1?: number
  l5?: number
  l15?: number
  /** bytes/s */ bb: number
  la: [number, number, number]
  /** 0 none, 1 SSH, 2 WebSocket */ ct?: number
  efs?: Record<string, number>
  sv?: [number, number]
  bat?: [number, number]
}

export interface CombinedDataJson {
  stats: StatsJson
  info: InfoJson
  container: unknown[] | null
}

export interface NativeBinding {
  /** The protocol version reported to hubs ("0.17.0"). */
  readonly agentVersion: string
  /** Every setting name the core reads (HOST_PROC, NICS, SENSORS, …). */
  settingNames(): string[]
  /** Replaces the collection settings; throws an Error with code ERR_SONAR_SETTING on a bad value. */
  configure(settings: Record<string, string | undefined>): void
  /** CBOR of CombinedData, ready to send; collected off the JS thread. */
  collect(options?: CollectOptions): Promise<Buffer>
  /** The same payload as a plain object with the spec's JSON names. */
  snapshot(options?: CollectOptions): Promise<CombinedDataJson>
  /** Info.ct: 0 none, 1 SSH, 2 WebSocket. */
  setConnectionType(type: 0 | 1 | 2): void
}
