/**
 * One agent on the WebSocket side of the dev hub, after admission: the CheckFingerprint challenge
 * (spec §2.6, request id 1, the token signed — with the agent's nonce where it sent one,
 * docs/extensions.md), fingerprint pinning (§2.7), then polling. Every failure closes with code
 * 1000 and the reason a real hub gives.
 */
import { WebSocket, type RawData } from 'ws'
import { Action } from '../protocol/actions.js'
import type { Logger } from '../log.js'
import type { HubVersion } from './hub-version.js'
import type { FingerprintPins } from './pins.js'
import { Poller, type HubTransport } from './poller.js'
import { RequestManager, RequestTimeoutError } from './requests.js'
import { AGENT_CONNECT_ROUTES } from '../transport/hub-url.js'
import type { SmartFetchLog } from './smart-schedule.js'
import type { HubStore } from './store.js'

export interface SessionOptions {
  socket: WebSocket
  /** the route the agent came in on (/api/sonar/… or /api/beszel/…) */
  route: string
  token: string
  /** the CheckFingerprint signature for this connection */
  signature: Uint8Array
  /** what it covers: the agent's nonce (docs/extensions.md) or the token alone */
  hubProof: 'nonce' | 'token-only'
  agentVersion: string
  address: string
  store: HubStore
  pins: FingerprintPins
  logger: Logger
  /** the Beszel hub played (default: hub-version.ts's) */
  version?: HubVersion
  /** the hub's SMART attempts (they outlive connections) */
  smartLog?: SmartFetchLog
  intervalMs?: number
  realtimeMs?: number
  requestTimeoutMs?: number
  /** told once the agent is verified (the hub replaces an older session of the same system) */
  onAccepted: (session: AgentSession) => void
}

export class AgentSession {
  readonly requests: RequestManager
  readonly route: string
  /** the agent's fingerprint once verified */
  id: string | undefined
  private poller: Poller | undefined
  private closed = false

  constructor(private readonly options: SessionOptions) {
    const { socket } = options
    this.route = options.route
    this.requests = new RequestManager(
      (frame, done) => (socket.readyState === WebSocket.OPEN ? socket.send(frame, { binary: true }, done) : done(new Error('socket closed'))),
      options.requestTimeoutMs,
    )
    socket.on('message', (data: RawData, isBinary: boolean) => {
      // the hub ignores text and empty frames (§2.5)
      if (!isBinary) return
      const frame = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)
      if (frame.length > 0) this.requests.receive(frame)
    })
    socket.on('error', (error) => options.logger.debug('agent socket error', { address: options.address, error: error.message }))
    socket.once('close', (code, reason) => this.onClose(code, reason.toString('utf8')))
  }

  get open(): boolean {
    return !this.closed
  }

  async verify(): Promise<void> {
    const { logger, address } = this.options
    const hint = 'the agent\'s KEY must be this hub\'s public key'
    let fingerprint: string
    try {
      const { response } = await this.requests.request(Action.CheckFingerprint, new Map<number, unknown>([[0, this.options.signature], [1, false]]))
      const data = response.fields.get(2)
      const value = data instanceof Map ? data.get(0) : undefined
      if (typeof value !== 'string' || value === '') {
        // a SONAR agent says why (key 3); a Go agent stays silent and the wait below runs out
        if (response.error !== undefined) logger.warn(`the agent refused this hub: ${hint}`, { address, error: response.error })
        this.refuse(response.error ?? 'no fingerprint data in response')
        return
      }
      fingerprint = value
    } catch (error) {
      const reason = error instanceof RequestTimeoutError ? 'context deadline exceeded' : (error as Error).message
      logger.warn(`agent did not answer the signature challenge (${hint})`, { address, reason })
      this.refuse(reason)
      return
    }
    let pin = await this.options.pins.check(this.options.token, fingerprint)
    if (!pin.accepted && pin.reason === 'fingerprint mismatch') {
      // the log below tells the user to delete the file; honour that without a restart
      await this.options.pins.reload().catch(() => undefined)
      pin = await this.options.pins.check(this.options.token, fingerprint)
    }
    if (!this.open) return
    if (!pin.accepted) {
      logger.warn(`refused agent: ${pin.reason} (another host, or a reset fingerprint, uses this token; delete ${this.options.pins.path} to accept it)`, {
        address,
        fingerprint,
      })
      this.refuse(pin.reason)
      return
    }
    this.accept(fingerprint, pin.firstContact)
  }

  private accept(fingerprint: string, firstContact: boolean): void {
    const { store, logger, address, agentVersion } = this.options
    this.id = fingerprint
    this.options.onAccepted(this)
    const known = store.get(fingerprint)
    store.upsertSystem({
      id: fingerprint,
      name: known?.name ?? address,
      transport: 'websocket',
      address,
      route: this.route === `/${AGENT_CONNECT_ROUTES.sonar}` ? 'sonar' : 'beszel',
      agentVersion,
      connected: true,
      connectedAt: Date.now(),
      lastSampleAt: known?.lastSampleAt ?? null,
      ...(this.options.version ? { hubVersion: this.options.version } : {}),
    })
    logger.info(firstContact ? 'agent connected (fingerprint pinned on first contact)' : 'agent connected', {
      address,
      route: this.route,
      fingerprint,
      version: agentVersion,
      hubProof: this.options.hubProof,
    })
    const transport: HubTransport = {
      getData: async (options) => (await this.requests.request(Action.GetData, options)).response,
      getSmartData: async (timeoutMs) => (await this.requests.request(Action.GetSmartData, undefined, { timeoutMs })).response,
    }
    this.poller = new Poller({
      id: fingerprint,
      store,
      logger,
      transport,
      ...(this.options.version ? { version: this.options.version } : {}),
      ...(this.options.smartLog ? { smartLog: this.options.smartLog } : {}),
      // as a real hub: a failed data request costs the connection (§2.11); the agent redials
      onFailure: (reason) => this.close(reason),
      ...(this.options.intervalMs !== undefined ? { intervalMs: this.options.intervalMs } : {}),
      ...(this.options.realtimeMs !== undefined ? { realtimeMs: this.options.realtimeMs } : {}),
    })
    this.poller.start()
  }

  get realtimeActive(): boolean {
    return this.poller?.realtimeActive ?? false
  }

  /** The hub's polling of this connection, once verified. */
  get polling(): Poller | undefined {
    return this.poller
  }

  private refuse(reason: string): void {
    if (!this.open) return
    this.options.logger.warn('agent refused', { address: this.options.address, reason })
    this.close(reason)
  }

  /** Closes with 1000 and a reason, as the hub does on every failure. */
  close(reason = ''): void {
    if (this.closed) return
    const { socket } = this.options
    if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) {
      try {
        socket.close(1000, closeReason(reason))
      } catch {
        socket.terminate()
      }
    }
    this.onClose(1000, reason)
  }

  /** Cuts the connection without a close frame (hub shutdown). */
  terminate(): void {
    this.options.socket.terminate()
    this.onClose(1006, 'hub stopped')
  }

  private onClose(code: number, reason: string): void {
    if (this.closed) return
    this.closed = true
    this.poller?.stop()
    this.requests.close(`connection closed (${code})`)
    if (this.id !== undefined) {
      this.options.store.markDisconnected(this.id, reason || undefined)
      this.options.logger.info('agent disconnected', { address: this.options.address, code, reason })
    }
  }
}

/** A WebSocket close reason holds at most 123 bytes; cut on a character boundary. */
export function closeReason(reason: string): string {
  let out = ''
  let bytes = 0
  for (const char of reason) {
    const size = Buffer.byteLength(char)
    if (bytes + size > 123) break
    out += char
    bytes += size
  }
  return out
}
