/**
 * The way to the hub, step by step, each bounded and all within one budget: DNS, TCP connect, TLS
 * (chain against CA_CERT_FILE), the agent-connect route and its signature, the clock; then the SSH
 * listen address. A failure stops the steps behind it (they are listed as skipped). A network
 * failure is required (fail) only when the hub has no SSH fallback (DISABLE_SSH=true); a wrong
 * TOKEN, KEY, URL or certificate is always a failure: the link can never come up as configured.
 */
import { lookup } from 'node:dns/promises'
import { connect, createServer, isIP } from 'node:net'
import { formatListen, type AgentConfig } from '../config/config.js'
import { hubDialSettings } from '../transport/hub-dial.js'
import { websocketProtocol } from '../transport/hub-url.js'
import { proxyForUrl, proxyUrlOf } from '../transport/proxy.js'
import { errorCode, formatMs, result, withTimeout, type CheckResult, type CheckStatus } from './check.js'
import type { DoctorContext } from './core.js'
import { checkTls } from './hub-tls.js'
import { checkRoute, clockResult, fetchDate, type RouteTarget } from './hub-route.js'

const GROUP = 'hub'

export interface HubTimeouts {
  /** the whole hub group; each step gets at most its own limit and never more than what is left */
  totalMs: number
  dnsMs: number
  connectMs: number
  tlsMs: number
  routeMs: number
  clockMs: number
}

export const HUB_TIMEOUTS: HubTimeouts = { totalMs: 8_500, dnsMs: 2_000, connectMs: 3_000, tlsMs: 3_000, routeMs: 3_000, clockMs: 2_000 }

export interface HubOptions {
  timeouts?: Partial<HubTimeouts>
  userAgent?: string
}

function defaultPort(url: URL): number {
  return url.port ? Number(url.port) : websocketProtocol(url.protocol) === 'wss:' ? 443 : 80
}

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<void> {
  const socket = connect({ host, port })
  const work = new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve())
    socket.once('error', reject)
  })
  return withTimeout(work, timeoutMs, () => socket.destroy()).finally(() => socket.destroy())
}

/** Binds LISTEN for a moment: the port must be free (or held by this agent already). */
async function checkListen(config: AgentConfig): Promise<CheckResult> {
  const { listen } = config
  const shown = formatListen(listen)
  if (listen.network === 'unix') return result(GROUP, 'ssh listen', 'skip', `unix socket ${shown}: not probed`)
  const server = createServer()
  try {
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen({ port: listen.port, ...(listen.host ? { host: listen.host } : {}), ...(listen.network === 'tcp6' ? { ipv6Only: true } : {}) }, () => resolve())
      }),
      2_000,
    )
    return result(GROUP, 'ssh listen', 'ok', `${shown} is free for the SSH fallback`)
  } catch (error) {
    const code = errorCode(error)
    if (code === 'EADDRINUSE') return result(GROUP, 'ssh listen', 'warn', `${shown} is in use (fine if it is this agent, already running)`, 'stop the other program, or set LISTEN to a free port (e.g. LISTEN=45877)')
    if (code === 'EACCES') return result(GROUP, 'ssh listen', 'warn', `not allowed to listen on ${shown}`, 'use a port ≥ 1024 (e.g. LISTEN=45876), or give the agent CAP_NET_BIND_SERVICE')
    return result(GROUP, 'ssh listen', 'warn', `cannot listen on ${shown} (${code})`, 'set LISTEN to an address of this host (e.g. LISTEN=45876)')
  } finally {
    server.close()
  }
}

export async function checkHub(context: DoctorContext, options: HubOptions = {}): Promise<CheckResult[]> {
  const config = context.config
  const native = context.native
  if (!config || !native) return [result(GROUP, 'hub', 'skip', 'not checked: the settings above do not parse')]
  const results: CheckResult[] = []
  const sshFallback = !config.disableSsh
  if (sshFallback) results.push(await checkListen(config))
  const url = config.hubUrl
  if (!url) {
    results.unshift(result(GROUP, 'HUB_URL', 'skip', `not set: the hub must dial this agent over SSH on ${formatListen(config.listen)}`, 'to have the agent dial the hub instead, set HUB_URL and TOKEN'))
    return results
  }
  const t = { ...HUB_TIMEOUTS, ...options.timeouts }
  const deadline = Date.now() + t.totalMs
  const left = (cap: number) => Math.max(1, Math.min(cap, deadline - Date.now()))
  const unreachable: CheckStatus = sshFallback ? 'warn' : 'fail'
  const fallbackNote = sshFallback ? ` (the hub can still poll over SSH on ${formatListen(config.listen)})` : ' (DISABLE_SSH=true: no other way in)'
  const steps: CheckResult[] = []
  const skipRest = (from: string[], why: string) => {
    for (const name of from) steps.push(result(GROUP, name, 'skip', `not tried: ${why}`))
  }

  const rawToken = context.setting('TOKEN')?.trim()
  // KEY may have failed above while TOKEN is fine: admission is still worth knowing
  const token = config.token ?? (rawToken ? rawToken : undefined)
  const dial = hubDialSettings(config, context.env, {
    token: token ?? '',
    protocolVersion: native.agentVersion,
    userAgent: options.userAgent ?? 'sonar-agent-doctor',
  })
  const proxy = dial.proxy
  const wsUrl = new URL(url.href)
  wsUrl.protocol = websocketProtocol(url.protocol)
  const proxyText = proxyForUrl(wsUrl, proxy)
  const proxyUrl = proxyText ? proxyUrlOf(proxyText) : undefined
  // Through a proxy the agent resolves and connects to the proxy, not the hub.
  const host = (proxyUrl ?? url).hostname.replace(/^\[|\]$/g, '')
  const port = proxyUrl ? (proxyUrl.port ? Number(proxyUrl.port) : proxyUrl.protocol === 'https:' ? 443 : 80) : defaultPort(url)
  const label = proxyUrl ? `proxy ${host}:${port}` : `${host}:${port}`
  const secure = wsUrl.protocol === 'wss:'

  // DNS
  let address = host
  if (isIP(host) !== 0) {
    steps.push(result(GROUP, 'DNS', 'ok', `${host} is an address (no lookup)`))
  } else {
    try {
      const found = await withTimeout(lookup(host, { all: true }), left(t.dnsMs))
      address = found[0]?.address ?? host
      steps.push(result(GROUP, 'DNS', 'ok', `${host} → ${found.map((a) => a.address).join(', ')}`))
    } catch (error) {
      const code = errorCode(error)
      steps.push(
        result(GROUP, 'DNS', unreachable, `${host} does not resolve (${code === 'TimeoutError' ? `no answer within ${formatMs(t.dnsMs)}` : code})${fallbackNote}`, proxyUrl ? 'correct the proxy in HTTPS_PROXY/HTTP_PROXY' : 'correct the host name in HUB_URL, or this host\'s DNS (/etc/resolv.conf, /etc/hosts)'),
      )
      skipRest(['TCP', ...(secure && !proxyUrl ? ['TLS'] : []), 'agent-connect', 'clock'], 'the name does not resolve')
      return [...steps, ...results]
    }
  }

  // TCP
  const started = Date.now()
  try {
    await tcpConnect(address, port, left(t.connectMs))
    steps.push(result(GROUP, 'TCP', 'ok', `connected to ${label}${address !== host ? ` (${address})` : ''} in ${Date.now() - started} ms`))
  } catch (error) {
    const code = errorCode(error)
    const why =
      code === 'ECONNREFUSED'
        ? `refused: nothing listens on ${label}`
        : code === 'TimeoutError' || /no answer/.test(code)
          ? `no answer from ${label} within ${formatMs(left(t.connectMs))} (a firewall dropping packets, or a wrong address)`
          : `${label}: ${code}`
    steps.push(result(GROUP, 'TCP', unreachable, `${why}${fallbackNote}`, proxyUrl ? 'check the proxy is up, or correct HTTPS_PROXY/HTTP_PROXY' : 'check the hub is running and HUB_URL\'s port is right; open the port in the firewall between this host and the hub'))
    skipRest([...(secure && !proxyUrl ? ['TLS'] : []), 'agent-connect', 'clock'], 'no TCP connection')
    return [...steps, ...results]
  }

  // TLS (direct only: through a proxy the tunnel's TLS is checked by the route step)
  if (secure && !proxyUrl) {
    const tls = await checkTls({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port,
      ...(dial.caCertFile ? { caCertFile: dial.caCertFile } : {}),
      insecure: dial.tlsInsecureSkipVerify === true,
      timeoutMs: left(t.tlsMs),
      unreachable,
    })
    steps.push(tls.result)
    if (!tls.usable) {
      skipRest(['agent-connect', 'clock'], 'the agent would not complete this TLS handshake')
      return [...steps, ...results]
    }
  }

  if (secure && proxyUrl) steps.push(result(GROUP, 'TLS', 'skip', `through ${label}: the chain is verified in the agent-connect step`))

  // Route and clock, side by side
  const target: RouteTarget = {
    hubUrl: url,
    dial,
    keys: context.keys,
    ...(config.hubFlavor ? { flavor: config.hubFlavor } : {}),
    timeoutMs: left(t.routeMs),
    unreachable,
    requireHubNonce: config.value('REQUIRE_HUB_NONCE') === true,
  }
  const [route, plainDate] = await Promise.all([checkRoute(target), fetchDate(target, left(t.clockMs)).then((date) => ({ date, at: Date.now() }))])
  steps.push(...route.results)
  const date = plainDate.date ?? route.date
  steps.push(clockResult(date, plainDate.at))
  return [...steps, ...results]
}
