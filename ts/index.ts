/** The sonar-agent package's programmatic entry point. */
export { openCollector, SettingError, type Collector } from './collector.js'
export { loadNative, platformTriple, NativeLoadError, NATIVE_PATH_ENV } from './native.js'
export { lookupSetting, lookupSettings, SETTING_PREFIXES } from './config/lookup.js'
export { renderSummary } from './snapshot/summary.js'
export type { CombinedDataJson, NativeBinding, CollectOptions } from './native.js'
