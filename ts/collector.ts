/**
 * The native collection core, configured from the settings lookup. TypeScript decides when to
 * collect; the core reads the kernel, keeps the baselines and encodes the payload.
 */
import { coreSettingNames, parseOne, settingNamesReadBy } from './config/catalog.js'
import { lookupSetting, lookupSettings, type Environment } from './config/lookup.js'
import type { Logger } from './log.js'
import { loadNative, type CollectOptions, type CombinedDataJson, type NativeBinding } from './native.js'
import type { SmartAnswer, SystemdStatus } from '../index.js'

export interface Collector {
  readonly agentVersion: string
  collect(options?: CollectOptions): Promise<Buffer>
  /** true when collect() would answer from the snapshot cache (the container engines need not be asked) */
  isFresh(cacheTimeMs: number): boolean
  snapshot(options?: CollectOptions): Promise<CombinedDataJson>
  setConnectionType(type: 0 | 1 | 2): void
  /**
   * The core's warnings since the last call (a missing HOST_PROC, a garbled file under it, an
   * EXTRA_FILESYSTEMS entry naming nothing…), each once per process, naming the setting and path.
   */
  takeWarnings(): string[]
  /** S.M.A.R.T. for GetSmartData: smartctl runs in the core, off the JS thread */
  readonly smart: SmartState
  /** systemd units over D-Bus, refreshed in the core; undefined when SKIP_SYSTEMD=true */
  readonly systemd: SystemdState | undefined
}

export interface SystemdState {
  /** GetSystemdInfo's CBOR property map */
  info(serviceName: string): Promise<Buffer>
  status(): SystemdStatus
}

export interface SmartState {
  /** false: no smartctl found, or SMART_DEVICES set but empty */
  readonly available: boolean
  /** SMART_DEVICES is set but empty: SMART monitoring is off */
  readonly disabled: boolean
  readonly smartctl: string | null
  /** CBOR map serial → SmartData (possibly empty) and whether its refresh was complete */
  data(): Promise<SmartAnswer>
}


/** A setting the core rejected; the message names the setting and shows a good value. */
export class SettingError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SettingError'
  }
}

/** Configures the process-wide core from `env` and returns it. */
export function openCollector(env: Environment = process.env, native: NativeBinding = loadNative()): Collector {
  try {
    native.configure(lookupSettings(coreSettingNames(native), env))
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_SONAR_SETTING') {
      throw new SettingError((error as Error).message)
    }
    throw error
  }
  const smartSettings = lookupSettings(settingNamesReadBy('smart', native), env)
  const found = native.smartConfigure(smartSettings)
  // Callers that arrive while an answer is pending share it: the first one waits on a threadpool
  // thread for smartctl (seconds per disk), and every extra waiter would hold another of the four
  // threads that GetData's collection also needs.
  let pending: Promise<SmartAnswer> | undefined
  const smart: SmartState = {
    available: found.available,
    disabled: smartSettings.SMART_DEVICES !== undefined && smartSettings.SMART_DEVICES.trim() === '',
    smartctl: found.smartctl,
    data: () =>
      (pending ??= native.smartData().finally(() => {
        pending = undefined
      })),
  }
  // configure() above accepted it, so it parses: the core's reading, not a second one here
  const skipSystemd = parseOne('SKIP_SYSTEMD', lookupSetting('SKIP_SYSTEMD', env), native) === true
  const systemd: SystemdState | undefined = skipSystemd
    ? undefined
    : { info: (name) => native.systemdInfo(name), status: () => native.systemdStatus() }
  return {
    agentVersion: native.agentVersion,
    smart,
    systemd,
    collect: (options) => native.collect(options),
    // a native build older than the container support lacks isFresh: never fresh, never asked
    isFresh: (cacheTimeMs) => (typeof native.isFresh === 'function' ? native.isFresh(cacheTimeMs) : false),
    snapshot: (options) => native.snapshot(options),
    setConnectionType: (type) => native.setConnectionType(type),
    // a native build older than the warnings channel has none to give
    takeWarnings: () => (typeof native.takeWarnings === 'function' ? native.takeWarnings() : []),
  }
}

/**
 * The same collector, logging the core's warnings after every collection (they arise while the
 * core reads the host, and the core has no logger of its own). The rest is passed through.
 */
export function loggingCoreWarnings(collector: Collector, logger: Logger): Collector {
  const report = <T>(result: Promise<T>): Promise<T> =>
    result.finally(() => {
      for (const warning of collector.takeWarnings()) logger.warn(warning)
    })
  return {
    agentVersion: collector.agentVersion,
    smart: collector.smart,
    systemd: collector.systemd,
    collect: (options) => report(collector.collect(options)),
    snapshot: (options) => report(collector.snapshot(options)),
    isFresh: (cacheTimeMs) => collector.isFresh(cacheTimeMs),
    setConnectionType: (type) => collector.setConnectionType(type),
    takeWarnings: () => collector.takeWarnings(),
  }
}
