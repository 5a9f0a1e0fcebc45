/**
 * The WebSocket link to the hub (spec §2): dials `<HUB_URL>/api/sonar/agent-connect` (falling back to
 * Beszel's route on 404) and redials forever with jittered backoff. One connection's life is
 * websocket-connection.ts; the dial options are hub-dial.ts. Unlike the Go agent it verifies TLS
 * certificates, keeps `wss` as given, answers concurrently, starts every connection unverified, and
 * never gives up on a failure path.
 */
import { EventEmitter } from 'node:events'
import type { Agent as HttpAgent } from 'node:http'
import { WebSocket } from 'ws'
import type { Dispatcher } from '../dispatch.js'
import { newHubNonce } from '../identity/hub-nonce.js'
import type { Logger } from '../log.js'
import { isStrictSemver } from '../protocol/semver.js'
import { Backoff, type BackoffOptions } from './backoff.js'
import type { HubDialSettings } from './hub-dial.js'
import { AGENT_CONNECT_ROUTES, agentConnectUrl, websocketProtocol, type HubFlavor } from './hub-url.js'
import { createProxyAgent, type ProxySettings } from './proxy.js'
import { MAX_IN_FLIGHT, runConnection, VERIFY_TIMEOUT_MS, WATCHDOG_MS, type ConnectionOutcome, type DialFailure, type DisconnectInfo } from './websocket-connection.js'

/** The dial settings but the nonce, which the client makes afresh for every SONAR-route dial. */
export interface WebSocketClientOptions extends Omit<HubDialSettings, 'hubNonce'> {
  hubUrl: URL
  /** HUB_FLAVOR: pins the route; unset = SONAR's first, Beszel's on 404 */
  hubFlavor?: HubFlavor
  dispatcher: Pick<Dispatcher, 'handle'>
  logger: Logger
  watchdogMs?: number
  /** how long after the upgrade the hub has to verify (default 10 s) */
  verifyTimeoutMs?: number
  maxInFlight?: number
  backoff?: BackoffOptions
}

export type WebSocketState = 'idle' | 'connecting' | 'connected' | 'verified' | 'waiting' | 'stopped'

export interface WebSocketClientEvents {
  /** upgrade done; not yet verified */
  connected: []
  /** the hub's CheckFingerprint signature verified on this connection */
  verified: []
  /** an upgraded connection ended */
  disconnected: [DisconnectInfo]
  /** a dial failed before the upgrade (status, DNS, refused, TLS…) */
  failed: [DialFailure]
  /** the next dial is in `delayMs` */
  retry: [{ delayMs: number }]
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

  /** One proxy agent for the client's life: proxy-agent keeps its tunnels' sockets pooled. */
  private loadProxyAgent(settings: ProxySettings): Promise<HttpAgent> {
    this.proxyAgent ??= createProxyAgent(settings)
    return this.proxyAgent
  }

  /** One connection on the route of `flavor`, from dial to close. Never throws. */
  private async dial(flavor: HubFlavor): Promise<ConnectionOutcome> {
    this.setState('connecting')
    const { options } = this
    return await runConnection(
      {
        url: agentConnectUrl(options.hubUrl, flavor),
        // a fresh nonce per dial, on SONAR's route only: Beszel's stays exactly as Beszel's agent sends it
        dial: flavor === 'sonar' ? { ...options, hubNonce: newHubNonce() } : options,
        dispatcher: options.dispatcher,
        logger: this.log,
        watchdogMs: options.watchdogMs ?? WATCHDOG_MS,
        verifyTimeoutMs: options.verifyTimeoutMs ?? VERIFY_TIMEOUT_MS,
        maxInFlight: options.maxInFlight ?? MAX_IN_FLIGHT,
        proxyAgent: (settings) => this.loadProxyAgent(settings),
      },
      {
        running: () => this.running,
        socket: (socket) => {
          this.socket = socket
        },
        connected: () => {
          this.route = flavor
          this.setState('connected')
          this.emit('connected')
        },
        verified: () => {
          this.setState('verified')
          this.emit('verified')
        },
        disconnected: (info) => this.emit('disconnected', info),
        failed: (failure) => this.emit('failed', failure),
      },
    )
  }
}
