/**
 * Types of the native binding built from crates/sonar-node (loaded by ts/native.ts).
 * Field names are the JSON names of shared/spec/data-model.md; optional fields are the ones the
 * Go agent omits when empty.
 */

/** A published port of a container (`/containers/json` Ports[] entries with PublicPort ≠ 0). */
export interface ContainerPortInput {
  /** Host IP; "0.0.0.0", "::" and "" are written as the bare port */
  ip: string
  publicPort: number
}

/**
 * The raw readings of one running container, straight from the engine's list and one-shot stats.
 * The core computes every rate and percentage; a field of the wrong type rejects collect() with a
 * TypeError/RangeError naming it (e.g. `containers[3].cpuTotal`).
 */
export interface ContainerSampleInput {
  /** Full id from /containers/json (hex); items carry its first 12 characters */
  id: string
  /** Names[0] without the leading "/" */
  name: string
  image: string
  /** /containers/json Status text, e.g. "Up About an hour (healthy)" */
  status: string
  ports: ContainerPortInput[]
  /** cpu_stats.cpu_usage.total_usage (ns) */
  cpuTotal: number
  /** cpu_stats.system_cpu_usage (ns) */
  cpuSystem: number
  /** cpu_stats.online_cpus (0 if absent) */
  onlineCpus: number
  /** memory_stats.usage (bytes) */
  memUsage: number
  /** memory_stats.stats.inactive_file (cgroup v2), 0 if absent */
  memInactiveFile: number
  /** memory_stats.stats.cache (cgroup v1), 0 if absent */
  memCache: number
  /** Σ networks.*.rx_bytes */
  netRx: number
  /** Σ networks.*.tx_bytes */
  netTx: number
  /**
   * The engine's health status: /containers/json Health.Status (Docker API ≥ 1.52), or Podman's
   * inspect State.Health.Status; absent or "" when it gave none (the status text decides)
   */
  health?: string
  /** The stats' `read` stamp in µs since the Unix epoch (Podman CPU %); absent or 0 when none */
  readUs?: number
}

export interface CollectOptions {
  /** The hub's cache time: 60000 for the normal tick, 1000 for real time; 0 = never cached. */
  cacheTimeMs?: number
  /**
   * The containers of this sample (every engine that answered, any order); omitted or null →
   * key 2 is null (no engine answered), [] → an empty list. Ignored when the answer comes from
   * the snapshot cache (see isFresh).
   */
  containers?: ContainerSampleInput[] | null
  /** Info.p: a Podman engine is monitored */
  podman?: boolean
  /**
   * How long ago (ms, an integer) `containers` were read from the engines; 0 when omitted. A slow
   * engine is not waited for: the last sample is sent with its age, rates are measured to when it
   * was read, and a sample a cache time already measured repeats its figures.
   */
  containersAgeMs?: number
  /**
   * GetData key 1 as the hub sent it: omitted for a v0.17 hub (the v0.17 shape), a boolean for a
   * v0.18 hub (the v0.18.8 shape; `true` asks for Details, CombinedData key 4, on a 60000 answer).
   */
  includeDetails?: boolean
}

// BEGIN GENERATED payload interfaces (npm run gen:model, from crates/sonar-core/src/model.rs): do not edit

/**
 * An item of CombinedData.container (container.Stats, spec §1.7): the v0.17 shape plus HEAD's
 * `b` and `ports`. Keys 5–8 and 10 are CBOR-only in Go (`json:"-"`); their JSON names serve
 * the snapshot.
 */
export interface ContainerJson {
  n: string
  /** % of the whole host, 2 dp */
  c: number
  /** MiB, 2 dp */
  m: number
  /** MiB/s, 2 dp */
  ns: number
  /** MiB/s, 2 dp */
  nr: number
  /** 0 none, 1 starting, 2 healthy, 3 unhealthy */
  health: number
  /** cleaned status text, e.g. "Up an hour" */
  status: string
  /** 12-character short id */
  id: string
  image: string
  /** [sent, received] bytes/s */
  b?: [number, number]
  /** e.g. "80, 127.0.0.1:8080" */
  ports: string
}

/**
 * The host's slow-changing facts a v0.18 hub asks for once per connection (system.Details,
 * spec beszel-v0.18.md §3.1); the v0.17 shape carries most of them in Info instead. The Go
 * struct has no JSON tags, so its JSON names are the Go field names.
 */
export interface DetailsJson {
  Hostname: string
  /** kernel release */
  Kernel?: string
  /** physical cores (lowered to the logical count under LXC limits) */
  Cores: number
  /** logical CPUs */
  Threads: number
  CpuModel: string
  /** 0 Linux, 1 Darwin, 2 Windows, 3 FreeBSD */
  Os: number
  /** os-release PRETTY_NAME, e.g. "Debian GNU/Linux 12 (bookworm)" */
  OsName: string
  /** uname machine: x86_64, aarch64, armv7l… */
  Arch: string
  /** a Podman engine is monitored */
  Podman?: boolean
  /** bytes */
  MemoryTotal: number
  /** SMART_INTERVAL in nanoseconds (the hub fetches SMART data that often) */
  SmartInterval?: number
}

/** A filesystem of `Stats.efs` (FsStats). */
export interface FsStatsJson {
  /** GiB */
  d: number
  /** GiB */
  du: number
  /** MiB/s */
  r: number
  /** MiB/s */
  w: number
  /** bytes/s */
  rb?: number
  /** bytes/s */
  wb?: number
  /** [read-time %, write-time %, util %, r_await ms, w_await ms, weighted-io %] */
  dios?: [number, number, number, number, number, number]
}

/** A GPU of `Stats.g` (spec §1.6). */
export interface GpuDataJson {
  /** display name ("<name> <id>" when several GPUs share one) */
  n: string
  /** "MB" as the vendor reports it (NVIDIA: MiB/1.024, AMD/Intel: MiB; spec §1.6), 2 dp */
  mu?: number
  /** "MB", 2 dp */
  mt?: number
  /**
   * busy %, 2 dp, mean since the last request with this cache time (Intel: the busiest
   * engine's mean)
   */
  u?: number
  /** W, 2 dp, mean since the last request with this cache time */
  p?: number
  /** Intel: busy % by engine class ("Render/3D", "Video", …), 2 dp */
  e?: Record<string, number>
  /** W, Intel package power */
  pp?: number
}

/** The host's figures of one sample (system.Stats, spec §1.3). */
export interface StatsJson {
  /** CPU busy %, all CPUs */
  cpu: number
  /** GiB */
  m: number
  /** GiB */
  mu: number
  /** % */
  mp: number
  /** GiB */
  mb: number
  /** GiB */
  mz?: number
  /** GiB */
  s?: number
  /** GiB */
  su?: number
  /** GiB */
  d: number
  /** GiB */
  du: number
  /** % */
  dp: number
  /** MiB/s */
  dr: number
  /** MiB/s */
  dw: number
  /** MiB/s */
  ns: number
  /** MiB/s */
  nr: number
  /** °C by sensor name */
  t?: Record<string, number>
  /** by extra filesystem name */
  efs?: Record<string, FsStatsJson>
  /** by GPU id (NVIDIA index, AMD/Intel "cardN", intel_gpu_top "i0") */
  g?: Record<string, GpuDataJson>
  /** [sent, received] bytes/s */
  b?: [number, number]
  /** 1, 5 and 15 minute load averages */
  la: [number, number, number]
  /** [percent, state] */
  bat?: [number, number]
  /** [up B/s, down B/s, total sent, total received] by interface */
  ni?: Record<string, [number, number, number, number]>
  /** [read, write] bytes/s */
  dio?: [number, number]
  /** [user, system, iowait, steal, idle] % */
  cpub?: number[]
  /** per-core busy % */
  cpus?: number[]
  /** [read-time %, write-time %, util %, r_await ms, w_await ms, weighted-io %] */
  dios?: [number, number, number, number, number, number]
  /** RPM by fan name (hwmon chip_label or chip_fanN) */
  f?: Record<string, number>
  /** percent by battery name */
  bats?: Record<string, number>
}

/** The host's facts and headline figures (system.Info, spec §1.4). */
export interface InfoJson {
  /** hostname */
  h: string
  /** kernel version */
  k?: string
  /** physical cores */
  c: number
  /** logical CPUs */
  t?: number
  /** CPU model */
  m: string
  /** seconds */
  u: number
  /** CPU busy % */
  cpu: number
  /** memory used % */
  mp: number
  /** root disk used % */
  dp: number
  /** MiB/s, sent + received */
  b: number
  /** agent version */
  v: string
  /** a Podman engine is monitored */
  p?: boolean
  /** the busiest GPU's busy % */
  g?: number
  /** dashboard temperature, °C */
  dt?: number
  /** 0 Linux, 1 Darwin, 2 Windows, 3 FreeBSD */
  os: number
  /** legacy 1 minute load average (v0.17 fills it from `la`; HEAD dropped it) */
  l1?: number
  /** legacy 5 minute load average */
  l5?: number
  /** legacy 15 minute load average */
  l15?: number
  /** bytes/s, sent + received */
  bb: number
  /** 1, 5 and 15 minute load averages */
  la: [number, number, number]
  /** 0 none, 1 SSH, 2 WebSocket */
  ct?: number
  /** used % by extra filesystem name */
  efs?: Record<string, number>
  /**
   * [total, failed] systemd services; set only when there are services (Go sends a
   * nil slice otherwise)
   */
  sv?: [number, number]
  /** same as Stats.bat */
  bat?: [number, number]
}

/** A systemd service of CombinedData key 3 (spec §1.8); every field is always sent. */
export interface ServiceJson {
  n: string
  /** 0 active, 1 inactive, 2 failed, 3 activating, 4 deactivating, 5 reloading */
  s: number
  /** % of all logical CPUs, averaged over the last refresh period */
  c: number
  /** bytes */
  m: number
  /** bytes, peak */
  mp: number
  /** 0 dead, 1 running, 2 exited, 3 failed, 4 unknown */
  ss: number
  /** %, peak */
  cp: number
}

/** The answer to GetData (spec §1.1). */
export interface CombinedDataJson {
  stats: StatsJson
  info: InfoJson
  /** null when no container engine answered */
  container: ContainerJson[] | null
  /** systemd services: only on 60000 ms samples right after a systemd refresh */
  systemd?: ServiceJson[]
  /** v0.18 hubs only, when they ask (GetData key 1) or the Podman flag changed */
  details?: DetailsJson
}

// END GENERATED payload interfaces

export interface SystemdStatus {
  /** disabled: SKIP_SYSTEMD or not Linux; starting: no refresh finished yet */
  state: 'disabled' | 'starting' | 'available' | 'unavailable'
  /** units reported, when available */
  units?: number
  /** why it is disabled or unavailable (e.g. the bus socket that could not be reached) */
  reason?: string
}

/** How a setting's value is parsed (the core's grammar; see crates/sonar-core/src/settings/). */
export type SettingKind = 'bool' | 'duration' | 'timeout' | 'list' | 'filter' | 'globs' | 'enum' | 'enum-list' | 'path' | 'text' | 'secret'

/** One row of the core's settings table. */
export interface SettingSpec {
  name: string
  kind: SettingKind
  /** what applies when unset, as a person writes it ('' when nothing does) */
  default: string
  /** the components that read it: hub, ssh, identity, logging, containers (TypeScript); host, memory, disks, network, sensors, gpu, smart, systemd (core) */
  readBy: string[]
  /** who reads it: the Rust core, the TypeScript agent, or both */
  side: 'core' | 'agent' | 'both'
  /** one line: what it does */
  meaning: string
  /** a good value ('' for a refused setting) */
  example: string
  /** lists: the separator; separatorSetting, when set, replaces it */
  separator?: string
  separatorSetting?: string
  /** enums and enum lists: the accepted names */
  values?: string[]
  /** set only for a setting the agent refuses, with the reason */
  refused?: string
}

/** A parsed value: booleans, durations in milliseconds, lists, text. */
export type SettingValue = boolean | number | string | string[]

/** A value the core's grammar rejected; `problem` reads after the quoted value. */
export interface SettingProblem {
  name: string
  value: string
  problem: string
  example?: string
}

/** A GPU collector candidate and the detection's verdict on it (the collector's own detection). */
export interface GpuCandidateProbe {
  name: 'nvml' | 'nvidia-smi' | 'intel_gpu_top' | 'intel_sysfs' | 'amd_sysfs'
  /**
   * chosen: it runs; covered: usable, but an earlier collector already reads this vendor;
   * unusable: not here (see reason); not_listed: GPU_COLLECTOR is set and does not name it
   */
  verdict: 'chosen' | 'covered' | 'unusable' | 'not_listed'
  /** why it is not chosen, e.g. "nvidia-smi is not on PATH"; null when chosen */
  reason: string | null
  /** what it found: the executable, "driver 550.54.15, 2 GPUs", "card0, card2" */
  found: string | null
}

export interface GpuProbe {
  /** false with SKIP_GPU=true (then no candidate is tried) */
  enabled: boolean
  disabledBy: string | null
  /** GPU_COLLECTOR as the core parsed it; [] = detect */
  requested: string[]
  /** the collectors that would run, in priority order */
  sources: string[]
  candidates: GpuCandidateProbe[]
  /** the DRM folder read (HOST_SYS/class/drm) */
  drm: string
  /** DRM cards (cardN; connectors left out) */
  cards: { id: string; vendorId: string; vendor: 'amd' | 'intel' | 'nvidia' | null; driver: string | null; busyPercent: number | null }[]
  /** PCI display controllers (class 0x03), with or without a driver */
  displays: { address: string; vendorId: string; vendor: 'amd' | 'intel' | 'nvidia' | null }[]
}

export interface SystemdProbe {
  /** false with SKIP_SYSTEMD=true or off Linux (then nothing is tried) */
  enabled: boolean
  disabledBy: string | null
  /** DBUS_SYSTEM_BUS_ADDRESS, or the default unix:path=/run/dbus/system_bus_socket */
  address: string
  fromSetting: boolean
  /** the unix sockets of the address ("@name" for an abstract one) */
  sockets: string[]
  /** SERVICE_PATTERNS as the collector uses them */
  patterns: string[]
  /** connected and authenticated (the collector's own connect, bounded by deadlineMs) */
  connected: boolean
  /** the socket that answered, or the one the error is about */
  socket: string | null
  error: {
    stage: 'address' | 'connect' | 'watchdog' | 'handshake'
    /** errno name of connect(2): ENOENT, EACCES, EPERM, ECONNREFUSED, ETIMEDOUT… */
    code: string | null
    message: string
  } | null
  /** after a connection: whether systemd answered the collector's ListUnitsByPatterns */
  systemd: { answered: boolean; units: number | null; version: string | null; error: string | null } | null
  deadlineMs: number
}

export interface SmartProbe {
  /** the smartctl the S.M.A.R.T. monitor would run (PATH first, then `searched`) */
  smartctl: string | null
  searched: string[]
  /** "7.3" from `smartctl --version` */
  version: string | null
  versionLine: string | null
  /** why there is no version (did not finish, printed none) */
  versionError: string | null
  /** the version has --json, which the monitor reads (from jsonSince on) */
  json: boolean
  jsonSince: string
  /** SMART_DEVICES as the monitor reads it (SMART_DEVICES_SEPARATOR applied), type null when not given */
  devices: { path: string; type: string | null }[]
}

/** GetSmartData's answer as the core has it. */
export interface SmartAnswer {
  /** response key 5: CBOR `map[string]SmartData` keyed by serial (eMMC serial or "/dev/mmcblkN", md arrays "mdraid:mdN"), possibly empty (0xa0) */
  cbor: Buffer
  /** the refresh behind `cbor` read every device it knew of (spec v0.18 §5.1): key 8 for a v0.18 hub */
  complete: boolean
}

export interface SensorsProbe {
  /** SYS_SENSORS, else HOST_SYS, else /sys */
  root: string
  /** SENSORS unset, SENSORS="", or a filter */
  selection: 'all' | 'disabled' | 'filter'
  hwmon: string
  /** why the hwmon folder could not be listed */
  hwmonError: string | null
  hwmonChips: number
  thermalZones: number
  temperatures: {
    /** where discovery took the inputs from (thermal zones only when hwmon has none) */
    source: 'hwmon' | 'thermal_zone' | null
    inputs: number
    /** inputs with a plausible reading, before SENSORS */
    readings: number
    /** the names reported after SENSORS */
    selected: string[]
  }
  /** fan inputs that read */
  fans: number
}

export type ProbeArea = 'gpu' | 'systemd' | 'smart' | 'sensors'

export interface ProbeReport {
  gpu?: GpuProbe
  systemd?: SystemdProbe
  smart?: SmartProbe
  sensors?: SensorsProbe
}

/** A unit of ListServices (host action 7), as systemd lists it. */
export interface ServiceRow {
  name: string
  loadState: string
  activeState: string
  subState: string
  description: string
}

/** GetServiceStatus (host action 8). */
export interface ServiceStatusJson extends ServiceRow {
  /** systemd's UnitFileState: enabled, disabled, static, indirect, … ("" without a file) */
  unitFileState: string
  /** 0 when none, or not a service */
  mainPid: number
  /** µs since the epoch; 0 when never active */
  activeEnterTimestampUs: number
}

export type ServiceActionName = 'start' | 'stop' | 'restart' | 'reload' | 'enable' | 'disable'

/** PerformServiceAction (host action 9), done. */
export interface ServiceActionDone {
  /** the unit systemd acted on (its own name, also when asked through an alias) */
  unit: string
  action: ServiceActionName
  /** the job's object path; "" for enable/disable */
  job: string
  /** ActiveState once the job ended, or when the 30 s wait ran out */
  activeState: string
  waitRanOut: boolean
}

/** What every files* call names: a root (absolute, resolved by the policy) and a path beneath it. */
export interface FileRequest {
  /** the root's absolute path, without symbolic links */
  root: string
  /** relative to the root: plain names, no `..`, no leading `/` ("" is the root itself, for filesList) */
  path: string
  /** paths never served beyond the built-in deny list, each with everything beneath it (DATA_DIR, the config directory, EXTENSIONS_FILE, AUDIT_LOG) */
  protect: readonly string[]
}

export interface FileListEntry {
  /** as UTF-8 (a name that is not shows U+FFFD) */
  name: string
  /** 0 file, 1 directory, 2 symbolic link (never followed), 3 anything else */
  kind: 0 | 1 | 2 | 3
  size: number
  /** mode & 0o7777 */
  mode: number
  mtimeMs: number
}

export interface FileListing {
  /** sorted by name, at most 10000 */
  entries: FileListEntry[]
  /** the directory has more than 10000 entries */
  truncated: boolean
}

export interface FileRead {
  data: Buffer
  /** the file's size when the read ended */
  size: number
  /** nothing follows `data` */
  eof: boolean
  /** SHA-256 of the whole file, only when `data` is the whole file */
  sha256: Buffer | null
}

export interface FileWritten {
  written: number
  /** SHA-256 of the new content */
  sha256: Buffer
}

/**
 * The error codes the files* functions reject with (anything else is a bad argument or an
 * internal error): ERR_SONAR_FILES_PATH (the hub's path: absolute, `..`, NUL, too long),
 * _ROOT (the root cannot be used now), _NOT_FOUND, _SYMLINK (a symbolic link on the way or at the
 * end: never followed), _KIND (not a regular file / directory: devices, FIFOs, sockets), _DENIED
 * (the built-in deny list or `protect`), _REFUSED (hard links, /proc and /sys from outside them,
 * a file swapped while being opened, an owner the agent cannot keep), _CONFLICT (expectedSha256),
 * _IO, _UNSUPPORTED (not Linux).
 */
export type FileErrorCode =
  | 'ERR_SONAR_FILES_PATH'
  | 'ERR_SONAR_FILES_ROOT'
  | 'ERR_SONAR_FILES_NOT_FOUND'
  | 'ERR_SONAR_FILES_SYMLINK'
  | 'ERR_SONAR_FILES_KIND'
  | 'ERR_SONAR_FILES_DENIED'
  | 'ERR_SONAR_FILES_REFUSED'
  | 'ERR_SONAR_FILES_CONFLICT'
  | 'ERR_SONAR_FILES_IO'
  | 'ERR_SONAR_FILES_UNSUPPORTED'

/**
 * Counters only the TypeScript side keeps (remote write's queue); the core renders them with the
 * rest (`sonar_remote_write_*`). Omitted fields count 0.
 */
export interface MetricsCounters {
  /** remote write is configured: its families are written */
  remoteWrite?: boolean
  remoteWriteSentSamples?: number
  remoteWriteDroppedSamples?: number
  remoteWriteFailedRequests?: number
  remoteWritePendingSamples?: number
  remoteWritePendingBytes?: number
  remoteWriteOldestPendingSeconds?: number
}

/** The Content-Type header of each exposition format (the core's constants). */
export interface MetricsContentTypes {
  readonly text: string
  readonly openmetrics: string
}

export interface MetricsOptions {
  /** The engines' last sample (the same input as collect's); omitted or null: no container series */
  containers?: ContainerSampleInput[] | null
  counters?: MetricsCounters
}

export interface ExpositionOptions extends MetricsOptions {
  /** gzip the rendering (one gzip member, fast level), in the same off-thread work */
  gzip?: boolean
}

export interface RemoteWriteOptions extends MetricsOptions {
  /** The samples' timestamp, ms since the Unix epoch */
  timestampMs: number
  /** Labels added to every series, [name, value] pairs; a name a series already has is replaced */
  labels?: [string, string][]
}

export interface RemoteWriteBody {
  /** A snappy-compressed prometheus.WriteRequest, the body of one remote-write POST */
  body: Buffer
  /** How many samples it carries */
  samples: number
}

export interface NativeBinding {
  /** The newest protocol version this agent speaks, announced to hubs before they say theirs ("0.18.8"). */
  readonly agentVersion: string
  /** The settings table: every setting the agent knows, core's and TypeScript's, in documentation order. */
  settings(): SettingSpec[]
  /**
   * Parses raw values (already looked up: flags > environment > file) with the core's grammar:
   * every set, non-blank setting typed by its kind, and every problem (refused settings included).
   */
  parseSettings(raw: Record<string, string | undefined>): { values: Record<string, SettingValue>; errors: SettingProblem[] }
  /** Replaces the collection settings (the names whose side is core or both); throws an Error with code ERR_SONAR_SETTING on a bad value. */
  configure(settings: Record<string, string | undefined>): void
  /** CBOR of CombinedData, ready to send; collected off the JS thread. */
  collect(options?: CollectOptions): Promise<Buffer>
  /** The same payload as a plain object with the spec's JSON names. */
  snapshot(options?: CollectOptions): Promise<CombinedDataJson>
  /**
   * True when collect({ cacheTimeMs }) would answer from the snapshot cache, so the caller can
   * skip asking the container engines. Never blocks: false while a collection is running.
   */
  isFresh(cacheTimeMs: number): boolean
  /** Go `path.Match` (the core's implementation, shared with NICS and SENSORS); null for a malformed pattern. */
  globMatch(pattern: string, name: string): boolean | null
  /** A Go duration ("2100ms", "1m30s") in milliseconds; null when Go would reject it. */
  parseDuration(text: string): number | null
  /**
   * Replaces the S.M.A.R.T. monitor (nothing runs yet). `available` is false when smartctl is not
   * found (PATH, /usr/sbin, /usr/local/sbin, /sbin, /opt/homebrew/bin) or SMART_DEVICES is blank;
   * eMMC and md arrays (sysfs, under HOST_SYS) are still reported then, unless SMART_DEVICES is blank.
   */
  smartConfigure(settings: Record<string, string | undefined>): { available: boolean; smartctl: string | null }
  /**
   * GetSmartData's key 5 and whether the refresh behind it was complete. The first call waits for
   * smartctl (15 s per call; a device takes two calls at most); later calls answer from memory at
   * once and refresh in the background.
   */
  smartData(): Promise<SmartAnswer>
  /**
   * GetSystemdInfo's key 6: CBOR map of the unit's org.freedesktop.systemd1.Unit properties plus
   * selected Service ones (UINT64_MAX → null). ".service" is appended when missing. Rejects with
   * code ERR_SONAR_SYSTEMD_NAME (bad name), ERR_SONAR_SYSTEMD_UNAVAILABLE (no bus, SKIP_SYSTEMD)
   * or ERR_SONAR_SYSTEMD (systemd's own error, e.g. "Unit x.service not loaded."). Ends within 4.5 s.
   */
  systemdInfo(name: string): Promise<Buffer>
  /**
   * Host action 7: the units systemd holds and the unit files it finds whose names match one of
   * the Go `path.Match` patterns (the core's globMatch), sorted by name. Over the system bus
   * (DBUS_SYSTEM_BUS_ADDRESS), off the JS thread, within 10 s. Rejects with ERR_SONAR_SYSTEMD_UNAVAILABLE
   * (no bus) or ERR_SONAR_SYSTEMD.
   */
  serviceList(patterns: string[]): Promise<ServiceRow[]>
  /**
   * Host action 8: one unit's state. `unit` is a full unit name (with its type); the unit systemd
   * resolves it to (an alias's target) must match one of `patterns`, else ERR_SONAR_SERVICE_NOT_ALLOWED.
   * Also ERR_SONAR_SERVICE_NAME, ERR_SONAR_SYSTEMD_UNAVAILABLE, ERR_SONAR_SYSTEMD. Within 5 s.
   */
  serviceStatus(unit: string, patterns: string[]): Promise<ServiceStatusJson>
  /**
   * Host action 9: start/stop/restart/reload (a job in mode "replace", waited for up to 30 s) or
   * enable/disable (unit files, then a daemon reload) of `unit`, which must resolve to a unit
   * `patterns` allows. Rejects with ERR_SONAR_SERVICE_DENIED when polkit (or systemd without
   * polkitd) refuses the agent's user, ERR_SONAR_SERVICE_NOT_LOADED (no unit file, masked…),
   * ERR_SONAR_SERVICE_NOT_ALLOWED, ERR_SONAR_SERVICE_NAME, ERR_SONAR_SYSTEMD_UNAVAILABLE or ERR_SONAR_SYSTEMD.
   */
  serviceAction(unit: string, action: ServiceActionName, patterns: string[]): Promise<ServiceActionDone>
  /** The systemd collector's state (never blocks). */
  systemdStatus(): SystemdStatus
  /**
   * What the collectors find with these settings (the configured ones are not touched), through
   * their own code, for `sonar-agent doctor`: the areas asked for (all when omitted). Rejects
   * with ERR_SONAR_SETTING on a bad value. Runs off the JS thread; ends within a few seconds (the
   * bus within deadlineMs, smartctl --version within 3 s). Starts no collector.
   */
  probe(settings: Record<string, string | undefined>, areas?: ProbeArea[]): Promise<ProbeReport>
  /**
   * Host action 10: the entries of a directory beneath a root (docs/extensions-files.md). All four
   * files* functions resolve without following any symbolic link (openat2 RESOLVE_BENEATH where
   * the kernel has it), run off the JS thread, and reject with a FileErrorCode.
   */
  filesList(request: FileRequest): Promise<FileListing>
  /** Host action 11: at most `length` bytes of a regular file from `offset`. */
  filesRead(request: FileRequest & { offset: number; length: number }): Promise<FileRead>
  /**
   * Host action 12: replaces (or creates) a regular file atomically, keeping its mode (less
   * set-uid/set-gid) and owner. `expectedSha256`: absent no check, empty the file must not
   * exist, 32 bytes the SHA-256 it must have now.
   */
  filesWrite(request: FileRequest & { content: Uint8Array; expectedSha256?: Uint8Array }): Promise<FileWritten>
  /** Host action 13: removes a regular file (never a directory or a link); `expectedSha256` 32 bytes. */
  filesDelete(request: FileRequest & { expectedSha256?: Uint8Array }): Promise<void>
  /**
   * One Prometheus reading, read fresh (raw counters: the hub's rates and cache are untouched), as
   * the text exposition format 0.0.4 or OpenMetrics 1.0.0 (docs/prometheus.md). Off the JS thread.
   */
  metricsExposition(format: 'text' | 'openmetrics', options?: ExpositionOptions): Promise<Buffer>
  /** The Content-Type of each rendering of metricsExposition, as the core writes it. */
  readonly metricsContentTypes: MetricsContentTypes
  /** The same reading as the body of a Prometheus remote-write request. Off the JS thread. */
  metricsRemoteWrite(options: RemoteWriteOptions): Promise<RemoteWriteBody>
  /** Info.ct: 0 none, 1 SSH, 2 WebSocket. */
  setConnectionType(type: 0 | 1 | 2): void
  /**
   * Drops the pages of the addon and of the node executable that this process has not used
   * (fault-around and readahead map far more than a daemon runs); the bytes of the mappings it
   * trimmed. Linux; 0 elsewhere.
   */
  trimResidentPages(): number
  /**
   * The core's warnings since the last call, oldest first: a HOST_PROC/HOST_SYS that is missing,
   * a key file under it missing or garbled, a setting that names nothing (EXTRA_FILESYSTEMS…).
   * Each is reported once per process, naming the setting and the path; the caller logs them.
   */
  takeWarnings(): string[]
}
