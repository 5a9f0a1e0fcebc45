/**
 * The settings table, as the native core declares it (crates/sonar-core/src/settings/catalog.rs).
 * TypeScript keeps no list of its own: the config file's known names, the names handed to the
 * core, the doctor's reading of a value and the documentation checks all derive from this.
 */
import { loadNative, type NativeBinding, type SettingProblem, type SettingSpec, type SettingValue } from '../native.js'
import { settingError, type ConfigError } from './errors.js'

export type { SettingProblem, SettingSpec, SettingValue }

const tables = new WeakMap<NativeBinding, readonly SettingSpec[]>()

/** Every setting, in documentation order (read once per addon). */
export function settingCatalog(native: NativeBinding = loadNative()): readonly SettingSpec[] {
  let table = tables.get(native)
  if (table === undefined) {
    table = Object.freeze(native.settings())
    tables.set(native, table)
  }
  return table
}

/** Every name the config file accepts: the whole table (refused names too, so they are refused with their reason rather than as unknown). */
export function knownSettings(native?: NativeBinding): readonly string[] {
  return settingCatalog(native).map((s) => s.name)
}

/** The names the core reads (its `configure` looks at these). */
export function coreSettingNames(native?: NativeBinding): readonly string[] {
  return settingCatalog(native)
    .filter((s) => s.side !== 'agent')
    .map((s) => s.name)
}

/** The names one component reads (e.g. 'smart'), refused ones left out. */
export function settingNamesReadBy(component: string, native?: NativeBinding): readonly string[] {
  return settingCatalog(native)
    .filter((s) => s.readBy.includes(component) && s.refused === undefined)
    .map((s) => s.name)
}

/** `NAME: "value" problem (e.g. NAME=example)`, the line every bad setting gets. */
export function problemError(problem: SettingProblem): ConfigError {
  return settingError(problem.name, `${JSON.stringify(problem.value)} ${problem.problem}`, problem.example)
}

/** One setting's value as the core reads it: undefined when unset or blank, or when it does not parse. */
export function parseOne(name: string, raw: string | undefined, native: NativeBinding = loadNative()): SettingValue | undefined {
  if (raw === undefined) return undefined
  return native.parseSettings({ [name]: raw }).values[name]
}
