/**
 * The one place a setting's raw value is looked up: `SONAR_AGENT_<NAME>`, then
 * `BESZEL_AGENT_<NAME>` (so a migrated Beszel host keeps its configuration), then `<NAME>`.
 * An empty string is a value ("set but empty" disables some collectors, e.g. SENSORS="").
 */
export const SETTING_PREFIXES = ['SONAR_AGENT_', 'BESZEL_AGENT_', ''] as const

export type Environment = Readonly<Record<string, string | undefined>>

export function lookupSetting(name: string, env: Environment = process.env): string | undefined {
  for (const prefix of SETTING_PREFIXES) {
    const value = env[prefix + name]
    if (value !== undefined) return value
  }
  return undefined
}

/** The raw values of the given settings, for handing to the native core. */
export function lookupSettings(
  names: readonly string[],
  env: Environment = process.env,
): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {}
  for (const name of names) {
    const value = lookupSetting(name, env)
    if (value !== undefined) out[name] = value
  }
  return out
}
