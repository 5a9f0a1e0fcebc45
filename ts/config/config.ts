/** STUB (helper CONFIG replaces): the agent's configuration (env + config file + CLI flags). */
import type { HubKey } from '../identity/keys.js'
import type { LogLevel } from '../log.js'

/** A bad setting: one line naming the setting, the problem and an example of a good value. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

export interface HostIdRoots {
  proc: string
  sys: string
  etc: string
}

export interface ListenAddress {
  network: 'tcp' | 'tcp4' | 'tcp6' | 'unix'
  host?: string
  port?: number
  path?: string
  /** as configured, for logs */
  text: string
}

export interface AgentConfig {
  hubUrl?: URL
  token?: string
  keys: HubKey[]
  listen: ListenAddress
  disableSsh: boolean
  dataDir?: string
  systemName?: string
  logLevel: LogLevel
  hubFlavor?: 'sonar' | 'beszel'
  caCertFile?: string
  tlsInsecureSkipVerify: boolean
  roots: HostIdRoots
  setting(name: string): string | undefined
  collectorSettings(names: readonly string[]): Record<string, string | undefined>
}

export interface CliFlags {
  key?: string
  listen?: string
  url?: string
  token?: string
  config?: string
}

export function loadConfig(_flags: CliFlags, _env: NodeJS.ProcessEnv = process.env): AgentConfig {
  throw new ConfigError('not implemented')
}
