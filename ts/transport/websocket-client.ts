/**
 * The WebSocket link to the hub (spec §2): dials `<HUB_URL>/api/sonar/agent-connect` (falling back to
 * Beszel's route on 404), hands every binary frame to the dispatcher, and redials forever with
 * jittered backoff. Unlike the Go agent it verifies TLS certificates, keeps `wss` as given, answers
 * concurrently, starts every connection unverified, and never gives up on a failure path.
 */
import { EventEmitter } from 'node:events'
import { readFile } from 'node:fs/promises'
import { posix } from 'node:path'
import { rootCertificates } from 'node:tls'
import type { Agent as HttpAgent, IncomingMessage } from 'node:http'
import { WebSocket, type ClientOptions, type RawData } from 'ws'
import type { Dispatcher, Session } from '../dispatch.js'
import type { Logger } from '../log.js'
import { decodeRequest, encodeResponse } from '../protocol/envelope.js'
import { Backoff, type BackoffOptions } from './backoff.js'
import { isStrictSemver } from '../protocol/semver.js'

export type HubFlavor = 'sonar' | 'beszel'

/** Route below HUB_URL's path, per hub flavour (SONAR's API prefix first). */
export const AGENT_CONNECT_ROUTES: Readonly<Record<HubFlavor, string>> = {
  sonar: 'api/sonar/agent-connect',
  beszel: 'api/beszel/agent-connect',
}

/** gws's limit, which the hub also applies: a bigger frame is an attack or a bug. */
export const MAX_PAYLOAD_BYTES = 16 * 1024 * 1024
/** No message for this long means the socket is dead even if TCP has not noticed (spec §2.11). */
export const WATCHDOG_MS = 70_000
export const HANDSHAKE_TIMEOUT_MS = 10_000
/** Handlers running at once on one connection; beyond it requests are refused, not queued. */
export const MAX_IN_FLIGHT = 64
/** RFC 6455 caps a close reason at 123 bytes. */
const MAX_CLOSE_REASON_BYTES = 123

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

/** A URL fit for logs: no user info (it may carry credentials). */
export function redactUrl(url: URL): string {
  const copy = new URL(url.href)
  copy.username = ''
  copy.password = ''
  return copy.href
}

/** Proxy variables, already looked up (upper or lower case). */
export interface ProxySettings {
  httpsProxy?: string
  httpProxy?: string
  allProxy?: string
  noProxy?: string
}

/** Reads HTTPS_PROXY/HTTP_PROXY/ALL_PROXY/NO_PROXY (prefixed names win, then upper, then lower case). */
export function proxySettings(lookup: (name: string) => string | undefined): ProxySettings {
  const read = (name: string) => {
    const value = lookup(name) ?? lookup(name.toLowerCase())
    return value === undefined || value.trim() === '' ? undefined : value.trim()
  }
  const settings: ProxySettings = {}
  const httpsProxy = read('HTTPS_PROXY')
  const httpProxy = read('HTTP_PROXY')
  const allProxy = read('ALL_PROXY')
  const noProxy = read('NO_PROXY')
  if (httpsProxy) settings.httpsProxy = httpsProxy
  if (httpProxy) settings.httpProxy = httpProxy
  if (allProxy) settings.allProxy = allProxy
  if (noProxy) settings.noProxy = noProxy
  return settings
}

function hasProxy(settings: ProxySettings | undefined): settings is ProxySettings {
  return Boolean(settings && (settings.httpsProxy || settings.httpProxy || settings.allProxy))
}

/** Whether NO_PROXY exempts `url`: `*`, exact hosts, domain suffixes (`.example.com`, `*.example.com`), optional `:port`. */
export function bypassesProxy(url: URL, noProxy: string | undefined): boolean {
  if (!noProxy) return false
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase()
  const port = url.port || (url.protocol === 'wss:' || url.protocol === 'https:' ? '443' : '80')
  for (const raw of noProxy.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase()
    if (entry === '') continue
    if (entry === '*') return true
    // `[v6]:port`, `host:port`, or a bare host (a bare IPv6 address has several colons and no port)
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry)
    const hostPort = /^([^:]+):(\d+)$/.exec(entry)
    let name = bracketed?.[1] ?? hostPort?.[1] ?? entry
    const entryPort = bracketed?.[2] ?? hostPort?.[2]
    if (entryPort && entryPort !== port) continue
    name = name.replace(/^\*?\./, '')
    if (host === name || host.endsWith(`.${name}`)) return true
  }
  return false
}

/** The proxy for a ws/wss URL: wss uses HTTPS_PROXY, ws HTTP_PROXY, both fall back to ALL_PROXY. */
export function proxyForUrl(url: URL, settings: ProxySettings): string | undefined {
  if (bypassesProxy(url, settings.noProxy)) return undefined
  const secure = url.protocol === 'wss:' || url.protocol === 'https:'
  return (secure ? settings.httpsProxy : settings.httpProxy) ?? settings.allProxy
}

export interface WebSocketClientOptions {
  hubUrl: URL
  token: string
  /** HUB_FLAVOR: pins the route; unset = SONAR's first, Beszel's on 404 */
  hubFlavor?: HubFlavor
  /** strict semver sent in X-Beszel and X-Sonar (hub UIs gate features on it) */
  protocolVersion: string
  userAgent: string
  dispatcher: Pick<Dispatcher, 'handle'>
  logger: Logger
  caCertFile?: string
  tlsInsecureSkipVerify?: boolean
  proxy?: ProxySettings
  watchdogMs?: number
  handshakeTimeoutMs?: number
  maxInFlight?: number
  maxPayload?: number
  backoff?: BackoffOptions
}

export type WebSocketState = 'idle' | 'connecting' | 'connected' | 'verified' | 'waiting' | 'stopped'

export interface DisconnectInfo {
  code: number
  reason: string
  /** the hub's signature verified on this connection */
  wasVerified: boolean
}

export interface WebSocketClientEvents {
  /** upgrade done; not yet verified */
  connected: []
  /** the hub's CheckFingerprint signature verified on this connection */
  verified: []
  /** an upgraded connection ended */
  disconnected: [DisconnectInfo]
  /** a dial failed before the upgrade (status, DNS, refused, TLS…) */
  failed: [{ reason: string; status?: number; dns?: boolean }]
  /** the next dial is in `delayMs` */
  retry: [{ delayMs: number }]
}

type Outcome =
  | { kind: 'closed'; served: boolean }
  | { kind: 'failed'; status?: number }
  | { kind: 'stopped' }

const CERT_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME/
/** getaddrinfo failures: the hub's name does not resolve (EXIT_ON_DNS_ERROR acts on these). */
const DNS_ERROR = /^(ENOTFOUND|EAI_AGAIN|EAI_NONAME|EAI_FAIL)$/

/** A short, single-line, token-free description of why a dial failed. */
function describeError(error: Error): string {
  const code = (error as { code?: unknown }).code
  const message = error.message.split('\n')[0] ?? ''
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message
}

/** The error answer for a request refused because too many are in flight (none if it has no id). */
function busyReply(frame: Uint8Array): Buffer | undefined {
  try {
    const { id } = decodeRequest(frame)
    return id === undefined ? undefined : encodeResponse(id, { kind: 'error', message: 'agent busy: too many requests in flight' })
  } catch {
    return undefined
  }
}

function truncateReason(reason: string): string {
  let out = reason
  while (Buffer.byteLength(out) > MAX_CLOSE_REASON_BYTES) out = out.slice(0, -1)
  return out
}

async function readBodySnippet(res: IncomingMessage, limit = 200, timeoutMs = 1_000): Promise<string> {
  return await new Promise((resolve) => {
    let body = ''
    const done = () => {
      clearTimeout(timer)
      res.removeAllListeners('data')
      resolve(body.replace(/\s+/g, ' ').trim().slice(0, limit))
    }
    const timer = setTimeout(done, timeoutMs)
    res.setEncoding('utf8')
    res.on('data', (chunk: string) => {
      body += chunk
      if (body.length >= limit) done()
    })
    res.once('end', done)
    res.once('error', done)
  })
}

export class WebSocketClient extends EventEmitter<WebSocketClientEvents> {
  private running = false
  private loopDone: Promise<void> | undefined
  private socket: WebSocket | undefined
  private wake: (() => void) | undefined
  private currentState: WebSocketState = 'idle'
  private readonly backoff: Backoff
  /** the route that last upgraded (or the pinned one) */
  private route: HubFlavor
  private proxyAgent: Promise<HttpAgent> | undefined
  private readonly log: Logger

  constructor(readonly options: WebSocketClientOptions) {
    super()
    this.backoff = new Backoff(options.backoff)
    this.route = options.hubFlavor ?? 'sonar'
    this.log = options.logger
    websocketProtocol(options.hubUrl.protocol)
    if (!isStrictSemver(options.protocolVersion)) throw new Error(`protocol version ${options.protocolVersion} is not a strict semver`)
  }

  get state(): WebSocketState {
    return this.currentState
  }

  /** The route in use: the pinned one, the one that last upgraded, or the next to try. */
  get flavor(): HubFlavor {
    return this.route
  }

  /** Starts dialing; returns at once. */
  start(): void {
    if (this.running) return
    this.running = true
    this.loopDone = this.loop().catch((error: unknown) => {
      // The loop catches per attempt; reaching here is a bug, and the agent must still not go quiet.
      this.log.error('websocket loop failed', { error: error instanceof Error ? error.message : String(error) })
    })
  }

  /** Closes the connection with 1000 and stops redialing. */
  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    this.wake?.()
    const socket = this.socket
    if (socket && socket.readyState === WebSocket.OPEN) socket.close(1000)
    else socket?.terminate()
    // A hub that never answers the close frame must not hold up shutdown.
    const timer = setTimeout(() => socket?.terminate(), 2_000)
    await this.loopDone
    clearTimeout(timer)
    this.setState('stopped')
    this.proxyAgent?.then((agent) => agent.destroy()).catch(() => undefined)
  }

  private setState(state: WebSocketState): void {
    this.currentState = state
  }

  private async loop(): Promise<void> {
    // Routes already answered 404 in this round of dials (reset by any other outcome).
    const notFound = new Set<HubFlavor>()
    while (this.running) {
      const flavor = this.route
      const outcome = await this.dial(flavor)
      if (!this.running || outcome.kind === 'stopped') break
      if (outcome.kind === 'failed' && outcome.status === 404 && !this.options.hubFlavor) {
        notFound.add(flavor)
        const other: HubFlavor = flavor === 'sonar' ? 'beszel' : 'sonar'
        this.route = other
        if (!notFound.has(other)) {
          this.log.info('route not found; trying the other hub flavour', { route: `/${AGENT_CONNECT_ROUTES[flavor]}`, next: `/${AGENT_CONNECT_ROUTES[other]}` })
          continue
        }
        // Both answered 404: back off, and start the next round from SONAR's route again.
        this.route = 'sonar'
      }
      notFound.clear()
      // Only a session the hub went on to use proves the setup works; a hub that verifies and then
      // rejects our fingerprint must not make us redial every second.
      if (outcome.kind === 'closed' && outcome.served) this.backoff.reset()
      const delayMs = this.backoff.next()
      this.setState('waiting')
      this.log.info(`retry in ${(delayMs / 1000).toFixed(1)} s`, { attempt: this.backoff.attempts })
      this.emit('retry', { delayMs })
      await this.sleep(delayMs)
    }
  }

  private async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.wake = done
    })
    this.wake = undefined
  }

  private async clientOptions(url: URL): Promise<ClientOptions> {
    const { options } = this
    const client: ClientOptions = {
      headers: {
        'X-Token': options.token,
        'X-Beszel': options.protocolVersion,
        'X-Sonar': options.protocolVersion,
        'User-Agent': options.userAgent,
      },
      perMessageDeflate: false,
      maxPayload: options.maxPayload ?? MAX_PAYLOAD_BYTES,
      handshakeTimeout: options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS,
      followRedirects: false,
      // Text frames are ignored, so checking their UTF-8 is wasted work.
      skipUTF8Validation: true,
    }
    if (url.protocol === 'wss:') {
      if (options.tlsInsecureSkipVerify) {
        client.rejectUnauthorized = false
      } else if (options.caCertFile) {
        // Read on every dial so a rotated CA is picked up without a restart.
        const pem = await readFile(options.caCertFile, 'utf8')
        client.ca = [...rootCertificates, pem]
      }
    }
    const proxy = options.proxy
    if (hasProxy(proxy) && proxyForUrl(url, proxy)) client.agent = await this.loadProxyAgent(proxy)
    return client
  }

  /** proxy-agent is loaded only when a proxy is configured: most hosts never pay for it. */
  private loadProxyAgent(settings: ProxySettings): Promise<HttpAgent> {
    this.proxyAgent ??= import('proxy-agent').then(
      ({ ProxyAgent }) => new ProxyAgent({ getProxyForUrl: (href: string) => proxyForUrl(new URL(href), settings) ?? '' }),
    )
    return this.proxyAgent
  }

  /** One connection, from dial to close. Never throws. */
  private async dial(flavor: HubFlavor): Promise<Outcome> {
    const url = agentConnectUrl(this.options.hubUrl, flavor)
    const where = redactUrl(url)
    this.setState('connecting')
    if (url.protocol === 'wss:' && this.options.tlsInsecureSkipVerify) {
      this.log.warn('TLS_INSECURE_SKIP_VERIFY=true: the hub certificate is NOT verified; anyone on the path can read the token and impersonate the hub', { url: where })
    }
    let client: ClientOptions
    try {
      client = await this.clientOptions(url)
    } catch (error) {
      const reason = `cannot prepare the connection: ${describeError(error as Error)}`
      this.log.error('connect failed', { url: where, reason })
      this.emit('failed', { reason })
      return { kind: 'failed' }
    }
    if (!this.running) return { kind: 'stopped' }
    this.log.debug('connecting', { url: where })

    let socket: WebSocket
    try {
      socket = new WebSocket(url, client)
    } catch (error) {
      const reason = describeError(error as Error)
      this.log.error('connect failed', { url: where, reason })
      this.emit('failed', { reason })
      return { kind: 'failed' }
    }
    this.socket = socket

    return await new Promise<Outcome>((resolve) => {
      const session: Session = { transport: 'websocket', verified: false }
      let opened = false
      let served = false
      let announced = false
      let status: number | undefined
      let body = ''
      let failure: Error | undefined
      let inFlight = 0
      let refused = 0
      let lastRefusalLog = 0
      let watchdog: NodeJS.Timeout | undefined
      const watchdogMs = this.options.watchdogMs ?? WATCHDOG_MS
      const maxInFlight = this.options.maxInFlight ?? MAX_IN_FLIGHT

      const feedWatchdog = () => {
        if (watchdog) watchdog.refresh()
        else {
          watchdog = setTimeout(() => {
            this.log.warn(`no message from the hub for ${Math.round(watchdogMs / 1000)} s; dropping the connection`, { url: where })
            socket.terminate()
          }, watchdogMs)
        }
      }

      const handle = (frame: Buffer) => {
        if (inFlight >= maxInFlight) {
          refused += 1
          const now = Date.now()
          if (now - lastRefusalLog >= 10_000) {
            lastRefusalLog = now
            this.log.warn('too many requests in flight; refusing requests', { inFlight, refused })
          }
          const reply = busyReply(frame)
          if (reply && socket.readyState === WebSocket.OPEN) socket.send(reply)
          return
        }
        inFlight += 1
        const verifiedBefore = session.verified
        void this.options.dispatcher
          .handle(frame, session)
          .then((result) => {
            if (verifiedBefore) {
              served = true
            } else if (session.verified && !announced) {
              announced = true
              this.setState('verified')
              this.log.info('hub verified', { url: where })
              this.emit('verified')
            }
            if (result.reply && socket.readyState === WebSocket.OPEN) socket.send(result.reply)
            if (result.close && socket.readyState === WebSocket.OPEN) {
              this.log.warn('closing the connection', { reason: result.close.reason })
              socket.close(1000, truncateReason(result.close.reason))
            }
          })
          .catch((error: unknown) => {
            // The dispatcher promises never to throw; if it does, one request is lost, not the link.
            this.log.error('request handler failed', { error: error instanceof Error ? error.message : String(error) })
          })
          .finally(() => {
            inFlight -= 1
          })
      }

      socket.on('unexpected-response', (req, res) => {
        status = res.statusCode
        void readBodySnippet(res).then((text) => {
          body = text
          req.destroy()
          socket.terminate()
        })
      })
      socket.on('open', () => {
        opened = true
        this.route = flavor
        this.setState('connected')
        this.log.info('connected', { url: where })
        feedWatchdog()
        this.emit('connected')
      })
      socket.on('message', (data: RawData, isBinary: boolean) => {
        feedWatchdog()
        if (!isBinary) {
          this.log.debug('ignoring a text frame')
          return
        }
        handle(Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data))
      })
      socket.on('ping', feedWatchdog)
      socket.on('error', (error: Error) => {
        failure ??= error
      })
      socket.once('close', (code: number, reasonBytes: Buffer) => {
        if (watchdog) clearTimeout(watchdog)
        this.socket = undefined
        if (opened) {
          const reason = reasonBytes.toString('utf8')
          const fields: Record<string, string | number> = { code, reason }
          if (failure) fields.error = describeError(failure)
          this.log.info('disconnected', fields)
          const wasVerified = session.verified
          session.verified = false
          this.emit('disconnected', { code, reason, wasVerified })
          resolve(this.running ? { kind: 'closed', served } : { kind: 'stopped' })
          return
        }
        if (!this.running) {
          resolve({ kind: 'stopped' })
          return
        }
        let reason: string
        if (status !== undefined) reason = `hub answered HTTP ${status}${body ? `: ${body}` : ''}`
        else if (failure) reason = describeError(failure)
        else reason = `closed before the upgrade (code ${code})`
        const fields: Record<string, string | number> = { url: where, reason }
        if (failure && CERT_ERROR.test(String((failure as { code?: unknown }).code ?? failure.message))) {
          fields.hint = 'the hub certificate did not verify: set CA_CERT_FILE to its CA (or TLS_INSECURE_SKIP_VERIFY=true, not recommended)'
        } else if (status === 401) {
          fields.hint = 'check TOKEN (and that the hub knows this system)'
        }
        if (status === 404) this.log.info('connect failed', fields)
        else this.log.warn('connect failed', fields)
        const failed: { reason: string; status?: number; dns?: boolean } = { reason }
        if (status !== undefined) failed.status = status
        if (failure && DNS_ERROR.test(String((failure as { code?: unknown }).code ?? ''))) failed.dns = true
        this.emit('failed', failed)
        resolve(status === undefined ? { kind: 'failed' } : { kind: 'failed', status })
      })
    })
  }
}
