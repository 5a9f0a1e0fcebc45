/** Placeholder: the agent's configuration (env + config file + CLI flags), validated with zod. */

/** A bad setting: one line naming the setting, the problem and an example of a good value. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}
