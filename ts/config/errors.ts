/** A bad setting: one line naming the setting, the problem and an example of a good value. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  constructor(
    message: string,
    /** the setting (or flag) at fault, when there is one */
    readonly setting?: string,
  ) {
    super(message)
  }
}

/** `<SETTING>: <problem> (e.g. <SETTING>=<example>)` — the example must never be a user's secret. */
export function settingError(setting: string, problem: string, example?: string): ConfigError {
  const hint = example === undefined ? '' : ` (e.g. ${setting}${setting.startsWith('--') ? ' ' : '='}${example})`
  return new ConfigError(`${setting}: ${problem}${hint}`, setting)
}
