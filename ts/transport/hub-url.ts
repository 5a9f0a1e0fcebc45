/**
 * Where the agent dials the hub (spec §2.1): HUB_URL's scheme mapped to ws/wss and its path joined
 * with the agent-connect route of the hub's flavour. The WebSocket client and the doctor's route
 * check both build their URLs here.
 */
import { posix } from 'node:path'
import { isLoopbackHost } from './loopback.js'

export type HubFlavor = 'sonar' | 'beszel'

/** Route below HUB_URL's path, per hub flavour (SONAR's API prefix first). */
export const AGENT_CONNECT_ROUTES: Readonly<Record<HubFlavor, string>> = {
  sonar: 'api/sonar/agent-connect',
  beszel: 'api/beszel/agent-connect',
}

/** `https`→`wss`, `http`→`ws`, `ws`/`wss` kept (the Go agent downgrades `wss` to `ws`). */
export function websocketProtocol(protocol: string): 'ws:' | 'wss:' {
  switch (protocol) {
    case 'https:':
    case 'wss:':
      return 'wss:'
    case 'http:':
    case 'ws:':
      return 'ws:'
    default:
      throw new Error(`HUB_URL scheme ${protocol.replace(/:$/, '')} is not supported (use https://, http://, wss:// or ws://)`)
  }
}

/** The agent-connect URL: HUB_URL's path joined (and cleaned, like Go's path.Join) with the route. */
export function agentConnectUrl(hubUrl: URL, flavor: HubFlavor): URL {
  const url = new URL(hubUrl.href)
  url.protocol = websocketProtocol(hubUrl.protocol)
  url.pathname = posix.join('/', hubUrl.pathname, AGENT_CONNECT_ROUTES[flavor])
  url.hash = ''
  return url
}

/** The flavour whose route an agent-connect URL ends with. */
export function flavorOf(url: URL): HubFlavor {
  return url.pathname.endsWith(`/${AGENT_CONNECT_ROUTES.sonar}`) ? 'sonar' : 'beszel'
}

/**
 * Whether a connection to `url` travels in the clear beyond this machine: `ws:` to anything but a
 * loopback name or address (host actions that change the host are refused over it).
 */
export function isPlainRemote(url: URL): boolean {
  return url.protocol === 'ws:' && !isLoopbackHost(url.hostname)
}

/** A URL fit for logs: no user info (it may carry credentials). */
export function redactUrl(url: URL): string {
  const copy = new URL(url.href)
  copy.username = ''
  copy.password = ''
  return copy.href
}
