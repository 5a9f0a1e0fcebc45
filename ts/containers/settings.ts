/** Container settings (DOCKER_HOST, DOCKER_TIMEOUT, EXCLUDE_CONTAINERS), read like every other setting. */
import { SettingError } from '../collector.js'
import { parseOne } from '../config/catalog.js'

export type EngineAddress =
  | { kind: 'socket'; socketPath: string }
  | { kind: 'tcp'; protocol: 'http' | 'https'; host: string; port: number }

export interface ContainerSettings {
  /** false: DOCKER_HOST is set but empty, containers are not monitored */
  enabled: boolean
  /** DOCKER_HOST when set; otherwise the well-known sockets are probed on every sample */
  dockerHost: EngineAddress | undefined
  timeoutMs: number
  exclude: string | undefined
}

export const DEFAULT_DOCKER_TIMEOUT_MS = 2100

/** DOCKER_HOST as Docker's client reads it: unix://, tcp:// (plain HTTP), http://, https://. */
export function parseDockerHost(value: string): EngineAddress {
  const match = /^([a-z]+):\/\/(.*)$/i.exec(value.trim())
  const scheme = match?.[1]?.toLowerCase()
  const rest = match?.[2] ?? ''
  if (scheme === 'unix') {
    if (!rest) throw new SettingError(`DOCKER_HOST=${value}: the socket path is missing (e.g. unix:///var/run/docker.sock)`)
    return { kind: 'socket', socketPath: rest }
  }
  if (scheme === 'tcp' || scheme === 'http' || scheme === 'https') {
    let url: URL
    try {
      url = new URL(`${scheme === 'https' ? 'https' : 'http'}://${rest}`)
    } catch {
      throw new SettingError(`DOCKER_HOST=${value}: not a host:port address (e.g. tcp://127.0.0.1:2375)`)
    }
    const protocol = scheme === 'https' ? 'https' : 'http'
    const port = url.port ? Number(url.port) : protocol === 'https' ? 2376 : 2375
    return { kind: 'tcp', protocol, host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port }
  }
  throw new SettingError(`DOCKER_HOST=${value}: unsupported scheme (use unix://, tcp://, http:// or https://)`)
}

export function containerSettings(setting: (name: string) => string | undefined, warn: (message: string) => void = () => {}): ContainerSettings {
  const host = setting('DOCKER_HOST')
  let timeoutMs = DEFAULT_DOCKER_TIMEOUT_MS
  const timeout = setting('DOCKER_TIMEOUT')
  if (timeout !== undefined && timeout !== '') {
    // the core's grammar for the setting's kind (a timeout: a Go duration above zero)
    const parsed = parseOne('DOCKER_TIMEOUT', timeout)
    if (typeof parsed === 'number') timeoutMs = parsed
    else warn(`DOCKER_TIMEOUT=${timeout} is not a positive Go duration (e.g. 5s); using ${DEFAULT_DOCKER_TIMEOUT_MS}ms`)
  }
  return {
    enabled: host !== '',
    dockerHost: host ? parseDockerHost(host) : undefined,
    timeoutMs,
    exclude: setting('EXCLUDE_CONTAINERS'),
  }
}
