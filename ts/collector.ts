/**
 * The native collection core, configured from the settings lookup. TypeScript decides when to
 * collect; the core reads the kernel, keeps the baselines and encodes the payload.
 */
import { lookupSettings, type Environment } from './config/lookup.js'
import { loadNative, type CollectOptions, type CombinedDataJson, type NativeBinding } from './native.js'

export interface Collector {
  readonly agentVersion: string
  collect(options?: CollectOptions): Promise<Buffer>
  /** true when collect() would answer from the snapshot cache (the container engines need not be asked) */
  isFresh(cacheTimeMs: number): boolean
  snapshot(options?: CollectOptions): Promise<CombinedDataJson>
  setConnectionType(type: 0 | 1 | 2): void
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
    native.configure(lookupSettings(native.settingNames(), env))
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_SONAR_SETTING') {
      throw new SettingError((error as Error).message)
    }
    throw error
  }
  return {
    agentVersion: native.agentVersion,
    collect: (options) => native.collect(options),
    // a native build older than the container support lacks isFresh: never fresh, never asked
    isFresh: (cacheTimeMs) => (typeof native.isFresh === 'function' ? native.isFresh(cacheTimeMs) : false),
    snapshot: (options) => native.snapshot(options),
    setConnectionType: (type) => native.setConnectionType(type),
  }
}
