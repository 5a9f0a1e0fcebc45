/**
 * The SSH listen address (spec §3.1): `8080` → `:8080`, `host:port`, `[v6]:port`, or a unix
 * socket path; `NETWORK` overrides the inferred network.
 */
import { isIP } from 'node:net'

export type ListenNetwork = 'tcp' | 'tcp4' | 'tcp6' | 'unix'

export interface ListenAddress {
  network: ListenNetwork
  /** undefined = every interface */
  host?: string
  port?: number
  /** unix socket path */
  path?: string
  /** as configured, for logs */
  text: string
}

export const DEFAULT_LISTEN = ':45876'

/** Why a listen value is unusable, with a good example (without the setting name). */
export class ListenError extends Error {
  constructor(
    message: string,
    readonly example: string,
  ) {
    super(message)
  }
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/

function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new ListenError(`port ${JSON.stringify(text)} is not a number`, '45876')
  const port = Number(text)
  if (port < 1 || port > 65535) throw new ListenError(`port ${port} is out of range 1-65535`, '45876')
  return port
}

/** The port the hub should dial, as text ("" for a unix socket), for NeedSysInfo. */
export function listenPort(address: ListenAddress): string {
  return address.port === undefined ? '' : String(address.port)
}

/** A human/log form: `:45876`, `[::1]:45876`, `/run/sonar.sock`. */
export function formatListen(address: ListenAddress): string {
  if (address.network === 'unix') return address.path ?? ''
  const host = address.host === undefined ? '' : isIP(address.host) === 6 ? `[${address.host}]` : address.host
  return `${host}:${address.port ?? ''}`
}

export function parseListen(value: string, network?: ListenNetwork): ListenAddress {
  const text = value.trim()
  if (text === '') throw new ListenError('is empty', '45876')
  const net: ListenNetwork = network ?? (text.startsWith('/') ? 'unix' : 'tcp')
  if (net === 'unix') return { network: 'unix', path: text, text }
  if (text.startsWith('/')) throw new ListenError(`a unix socket path needs NETWORK=unix, not NETWORK=${net}`, text)

  // Like the Go agent: no colon means a bare port.
  const withColon = text.includes(':') ? text : `:${text}`
  let host: string
  let portText: string
  if (withColon.startsWith('[')) {
    const close = withColon.indexOf(']')
    if (close < 0 || withColon[close + 1] !== ':') throw new ListenError('IPv6 address needs the form [address]:port', '[::1]:45876')
    host = withColon.slice(1, close)
    portText = withColon.slice(close + 2)
    if (isIP(host) !== 6) throw new ListenError(`${JSON.stringify(host)} in brackets is not an IPv6 address`, '[::1]:45876')
  } else {
    const colon = withColon.lastIndexOf(':')
    host = withColon.slice(0, colon)
    portText = withColon.slice(colon + 1)
    if (host.includes(':')) throw new ListenError('IPv6 addresses must be in brackets', '[::1]:45876')
    if (host !== '' && isIP(host) === 0 && !HOSTNAME.test(host)) {
      throw new ListenError(`${JSON.stringify(host)} is not an IP address or host name`, '127.0.0.1:45876')
    }
  }
  const port = parsePort(portText)
  const family = isIP(host)
  if (net === 'tcp4' && family === 6) throw new ListenError('NETWORK=tcp4 but the host is an IPv6 address', `0.0.0.0:${port}`)
  if (net === 'tcp6' && family === 4) throw new ListenError('NETWORK=tcp6 but the host is an IPv4 address', `[::]:${port}`)
  return { network: net, ...(host === '' ? {} : { host }), port, text }
}
