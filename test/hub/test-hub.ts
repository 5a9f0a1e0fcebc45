/**
 * An in-repo hub that speaks the hub side of the WebSocket protocol (spec §2): admission (§2.4), the
 * CheckFingerprint challenge signed with an Ed25519 key (§2.6; over the agent's nonce on the SONAR route,
 * docs/extensions.md, unless told to play a stock hub), fingerprint pinning (§2.7) and a
 * per-connection request manager with ids from 1 and 5 s timeouts (§2.10) — the dev hub's own
 * (ts/hub/requests.ts, over the agent's envelope code) and its token signing (ts/hub/keys.ts).
 *
 * Test hooks: raw frames, drop/stop/restart, a route set without SONAR's prefix, and silence (a
 * half-open socket: nothing is sent, nothing is read, nothing is closed).
 *
 * By default the tests drive every request. With `beszel: '0.17' | '0.18.8'` the hub also plays that
 * Beszel hub after a connection is verified, with the dev hub's poller (ts/hub/poller.ts,
 * beszel-v0.18.md §2, §3.4, §4, §5.2): GetData(60000) at once and every `pollIntervalMs`, SMART as
 * that version fetches it, what it stores in `store` (keyed by the agent's fingerprint); tests read
 * it with `stored()` and run a poll at a time of their choosing with `connection.system.poll()`.
 */
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto'
import type { AddressInfo, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer, WebSocket, type RawData } from 'ws'
import { ed25519Blob } from '../../ts/identity/keys.js'
import type { AgentResponse } from '../../ts/protocol/envelope.js'
import { signHubChallenge } from '../../ts/hub/keys.js'
import { HUB_NONCE_HEADER, parseHubNonceHeader } from '../../ts/identity/hub-nonce.js'
import { RequestManager, RequestTimeoutError } from '../../ts/hub/requests.js'
import type { HubVersion } from '../../ts/hub/hub-version.js'
import { Poller } from '../../ts/hub/poller.js'
import type { SmartDeviceRecord } from '../../ts/hub/smart-records.js'
import { SmartFetchLog } from '../../ts/hub/smart-schedule.js'
import { HubStore, type HubSample, type StoredDetails } from '../../ts/hub/store.js'
import { silentLogger } from '../../ts/log.js'
import { isStrictSemver } from '../../ts/protocol/semver.js'

export type HubFlavor = 'sonar' | 'beszel'

export const HUB_ROUTES: Readonly<Record<HubFlavor, string>> = {
  sonar: '/api/sonar/agent-connect',
  beszel: '/api/beszel/agent-connect',
}

export const Actions = { GetData: 0, CheckFingerprint: 1, GetSmartData: 4 } as const


export interface TestHubOptions {
  /** the accepted registration token (default: a random UUID) */
  token?: string
  /** NeedSysInfo in CheckFingerprint (a universal token) */
  universal?: boolean
  /** the hub's Ed25519 private key (default: generated) */
  signingKey?: KeyObject
  /** overrides the signature sent in CheckFingerprint (bad-signature and replay tests); `nonce`: the connection's */
  signature?: (token: string, nonce: Buffer | undefined) => Uint8Array
  /** sign the agent's X-Sonar-Nonce on the SONAR route (default true); false plays a stock hub that signs the token only */
  nonce?: boolean
  /** routes served; a missing route answers 404 (default both) */
  routes?: readonly HubFlavor[]
  tls?: { key: string | Buffer; cert: string | Buffer }
  host?: string
  port?: number
  /** hub wait for an answer (spec: 5 s) */
  requestTimeoutMs?: number
  /** a pinned fingerprint; undefined = trust on first use */
  fingerprint?: string
  /** send CheckFingerprint on connect (default true) */
  challenge?: boolean
  /** play this Beszel hub on every verified connection (default: none, the test drives requests) */
  beszel?: HubVersion
  /** its 60 s poll interval (default 60 s: tests call connection.system.poll() instead of waiting) */
  pollIntervalMs?: number
}

/** What a hub that plays Beszel stored for a system. */
export interface StoredSystem {
  /** the system_details record, if any */
  details: StoredDetails | undefined
  /** every details write, oldest first */
  detailsWrites: readonly StoredDetails[]
  /** the Info of the latest 60 s sample, as saved (migrated by a 0.18.8 hub) */
  info: HubSample['data']['info'] | undefined
  /** the latest 60 s sample */
  sample: HubSample | undefined
  /** smart_devices records by record id */
  smart: ReadonlyMap<string, SmartDeviceRecord>
}

export interface Admission {
  path: string
  status: number
  headers: IncomingHttpHeaders
}

export interface HubReply {
  /** the frame as received */
  frame: Buffer
  response: AgentResponse
}

export type ChallengeResult = { accepted: true; fingerprint: Map<number, unknown> } | { accepted: false; reason: string }

function rawHttpResponse(socket: Duplex, status: number, text: string, body: string): void {
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  )
}

/** The CombinedData bytes of a `{0: id, 1: data}` reply, exactly as the agent wrote them. */
export function dataPayloadBytes(frame: Buffer): Buffer {
  if (frame[0] !== 0xa2 || frame[1] !== 0x00) throw new Error('not a {0: id, 1: data} reply')
  const head = frame[2] ?? 0
  const idLength = head < 0x18 ? 1 : head === 0x18 ? 2 : head === 0x19 ? 3 : head === 0x1a ? 5 : 0
  if (idLength === 0) throw new Error('bad id encoding')
  const at = 2 + idLength
  if (frame[at] !== 0x01) throw new Error('reply has no key 1 after the id')
  return frame.subarray(at + 1)
}

export class HubConnection {
  readonly received: Buffer[] = []
  readonly textFrames: string[] = []
  /** answers whose id matched no pending request */
  readonly unmatched: HubReply[] = []
  readonly closed: Promise<{ code: number; reason: string }>
  /** outcome of the CheckFingerprint exchange (not accepted when the connection closes first) */
  readonly verdict: Promise<ChallengeResult>
  /** the agent's X-Sonar-Nonce when this hub signs it (SONAR route, `nonce` not false) */
  readonly nonce: Buffer | undefined
  /** the signature sent in CheckFingerprint, once sent */
  signature: Uint8Array | undefined
  /** the Beszel hub's polling of this connection (hub option `beszel`), once verified */
  system: Poller | undefined
  private readonly requests: RequestManager
  private silent = false
  private settleChallenge: (result: ChallengeResult) => void = () => undefined

  constructor(
    readonly hub: TestHub,
    readonly socket: WebSocket,
    readonly route: HubFlavor,
    readonly headers: IncomingHttpHeaders,
    nonce: Buffer | undefined,
  ) {
    this.nonce = nonce
    this.requests = new RequestManager((frame, done) => this.socket.send(frame, (error) => done(error ?? undefined)), hub.requestTimeoutMs)
    this.verdict = new Promise((resolve) => {
      this.settleChallenge = resolve
    })
    this.closed = new Promise((resolve) => {
      socket.once('close', (code, reason) => {
        if (this.system) {
          this.system.stop()
          if (this.hub.fingerprint !== undefined) this.hub.store.markDisconnected(this.hub.fingerprint, reason.toString('utf8') || undefined)
        }
        this.requests.close(`connection closed (${code})`)
        this.settleChallenge({ accepted: false, reason: `closed (${code})` })
        resolve({ code, reason: reason.toString('utf8') })
      })
    })
    socket.on('error', () => undefined)
    socket.on('message', (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary))
  }

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    const frame = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)
    if (!isBinary) {
      this.textFrames.push(frame.toString('utf8'))
      return
    }
    this.received.push(frame)
    const received = this.requests.receive(frame)
    if (received && !received.matched) this.unmatched.push(received.reply)
  }

  /** Sends one request (with the next id unless given) and waits (5 s) for the answer with that id. */
  request(action: number, data?: unknown, options: { id?: number; timeoutMs?: number } = {}): Promise<HubReply> {
    return this.requests.request(action, data, options)
  }

  /** GetData `{0: cacheTimeMs[, 1: includeDetails]}` as a 0.17 (or, with includeDetails, 0.18) hub sends it. */
  getData(cacheTimeMs: number, includeDetails?: boolean): Promise<HubReply> {
    const options = new Map<number, unknown>([[0, cacheTimeMs]])
    if (includeDetails !== undefined) options.set(1, includeDetails)
    return this.request(Actions.GetData, options)
  }

  /** Raw bytes (binary frame) or a string (text frame), for malformed-input tests. */
  send(data: Uint8Array | string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.send(data, { binary: typeof data !== 'string' }, (error) => (error ? reject(error) : resolve()))
    })
  }

  close(code = 1000, reason = ''): void {
    this.socket.close(code, reason)
  }

  terminate(): void {
    this.socket.terminate()
  }

  /** Half-open: stop reading and writing without closing, as a dead NAT mapping looks to the agent. */
  silence(): void {
    this.silent = true
    const raw = (this.socket as unknown as { _socket?: Socket })._socket
    raw?.pause()
  }

  get isSilent(): boolean {
    return this.silent
  }

  /** The hub side of §2.6/§2.7: challenge, fingerprint check, pinning. */
  async runChallenge(): Promise<void> {
    const token = String(this.headers['x-token'] ?? '')
    const signature = this.hub.signatureFor(token, this.nonce)
    this.signature = signature
    let result: ChallengeResult
    try {
      const reply = await this.request(Actions.CheckFingerprint, new Map<number, unknown>([[0, signature], [1, this.hub.universal]]))
      const fingerprint = reply.response.fields.get(2)
      if (!(fingerprint instanceof Map) || typeof fingerprint.get(0) !== 'string') {
        result = { accepted: false, reason: reply.response.error ?? 'no fingerprint data in response' }
      } else {
        const value = fingerprint.get(0) as string
        if (this.hub.fingerprint === undefined) this.hub.fingerprint = value
        result = value === this.hub.fingerprint ? { accepted: true, fingerprint } : { accepted: false, reason: 'fingerprint mismatch' }
      }
    } catch (error) {
      result = { accepted: false, reason: error instanceof RequestTimeoutError ? 'context deadline exceeded' : (error as Error).message }
    }
    if (!result.accepted && this.open) this.close(1000, result.reason)
    if (result.accepted && this.open && this.hub.beszel) this.playBeszel(this.hub.beszel, result.fingerprint.get(0) as string)
    this.settleChallenge(result)
  }

  /** Polls as that Beszel hub does, until the connection closes; a failed GetData closes it (§7.1). */
  private playBeszel(version: HubVersion, fingerprint: string): void {
    const { store } = this.hub
    const known = store.get(fingerprint)
    store.upsertSystem({
      id: fingerprint,
      name: known?.name ?? fingerprint,
      transport: 'websocket',
      address: 'test',
      agentVersion: String(this.headers['x-beszel'] ?? ''),
      connected: true,
      connectedAt: Date.now(),
      lastSampleAt: known?.lastSampleAt ?? null,
      hubVersion: version,
    })
    this.system = new Poller({
      id: fingerprint,
      store,
      logger: silentLogger,
      version,
      smartLog: this.hub.smartLog,
      transport: {
        getData: async (options) => (await this.request(Actions.GetData, options)).response,
        getSmartData: async (timeoutMs) => (await this.request(Actions.GetSmartData, undefined, { timeoutMs })).response,
      },
      onFailure: (reason) => this.close(1000, reason),
      ...(this.hub.pollIntervalMs !== undefined ? { intervalMs: this.hub.pollIntervalMs } : {}),
    })
    this.system.start()
  }
}

export class TestHub {
  /** the accepted token (tests change it to turn 401s into admissions) */
  token: string
  /** send CheckFingerprint on each new connection */
  challenge: boolean
  readonly universal: boolean
  /** signs the agent's nonce on the SONAR route */
  readonly signsNonce: boolean
  readonly requestTimeoutMs: number
  readonly admissions: Admission[] = []
  readonly connections: HubConnection[] = []
  /** the pinned fingerprint (set on first contact when not given) */
  fingerprint: string | undefined
  routes: Set<HubFlavor>
  /** the Beszel hub played on verified connections, if any */
  readonly beszel: HubVersion | undefined
  readonly pollIntervalMs: number | undefined
  /** what the Beszel hub stored (systems keyed by fingerprint) */
  readonly store = new HubStore()
  /** its SMART attempts, kept across connections as a real hub keeps them */
  readonly smartLog = new SmartFetchLog()
  private readonly key: KeyObject
  private readonly publicKeyRaw: Buffer
  private server: Server | undefined
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false })
  private readonly waiters: { index: number; resolve: (c: HubConnection) => void }[] = []
  private boundPort = 0

  private constructor(private readonly options: TestHubOptions) {
    this.token = options.token ?? randomUUID()
    this.challenge = options.challenge ?? true
    this.universal = options.universal ?? false
    this.signsNonce = options.nonce ?? true
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5_000
    this.fingerprint = options.fingerprint
    this.routes = new Set(options.routes ?? ['sonar', 'beszel'])
    this.beszel = options.beszel
    this.pollIntervalMs = options.pollIntervalMs
    this.key = options.signingKey ?? generateKeyPairSync('ed25519').privateKey
    const jwk = this.key.export({ format: 'jwk' }) as { x?: string }
    this.publicKeyRaw = Buffer.from(jwk.x ?? '', 'base64url')
  }

  static async start(options: TestHubOptions = {}): Promise<TestHub> {
    const hub = new TestHub(options)
    await hub.listen(options.port ?? 0)
    return hub
  }

  /** The private key, for a replacement hub that must keep the same identity. */
  get signingKey(): KeyObject {
    return this.key
  }

  /** The hub's public key as a KEY line. */
  get publicKeyLine(): string {
    return `ssh-ed25519 ${ed25519Blob(this.publicKeyRaw).toString('base64')} test-hub`
  }

  get port(): number {
    return this.boundPort
  }

  /** HUB_URL for the agent. */
  get url(): string {
    const host = this.options.host ?? '127.0.0.1'
    return `${this.options.tls ? 'https' : 'http'}://${host}:${this.boundPort}`
  }

  signatureFor(token: string, nonce?: Buffer): Uint8Array {
    return this.options.signature ? this.options.signature(token, nonce) : signHubChallenge(this.key, token, nonce)
  }

  /** The n-th connection (0-based) that got through admission, once it exists. */
  connection(index: number, timeoutMs = 15_000): Promise<HubConnection> {
    const existing = this.connections[index]
    if (existing) return Promise.resolve(existing)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no connection #${index} within ${timeoutMs} ms`)), timeoutMs)
      this.waiters.push({
        index,
        resolve: (c) => {
          clearTimeout(timer)
          resolve(c)
        },
      })
    })
  }

  /** The first connection from now on whose fingerprint the hub accepted. */
  async nextAccepted(timeoutMs = 15_000): Promise<HubConnection> {
    const deadline = Date.now() + timeoutMs
    for (let index = this.connections.length; ; index++) {
      const connection = await this.connection(index, Math.max(1, deadline - Date.now()))
      const result = await connection.verdict
      if (result.accepted) return connection
    }
  }

  /** What the Beszel hub stored for a system (default: the pinned fingerprint). */
  stored(id: string | undefined = this.fingerprint): StoredSystem {
    if (id === undefined) throw new Error('no system yet')
    const sample = this.store.history(id).filter((s) => s.cacheTimeMs === 60_000).at(-1)
    return {
      details: this.store.details(id),
      detailsWrites: this.store.detailsWrites(id),
      info: sample?.data.info,
      sample,
      smart: this.store.smartDevices(id),
    }
  }

  /** The latest connection (throws when none). */
  get latest(): HubConnection {
    const connection = this.connections.at(-1)
    if (!connection) throw new Error('no connection yet')
    return connection
  }

  private async listen(port: number): Promise<void> {
    const server = this.options.tls
      ? createHttpsServer({ key: this.options.tls.key, cert: this.options.tls.cert })
      : createHttpServer()
    server.on('request', (_req, res) => {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found')
    })
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head))
    // TLS handshake failures (the agent rejecting our certificate) are expected in tests.
    server.on('tlsClientError', () => undefined)
    server.on('clientError', (_error, socket) => socket.destroy())
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, this.options.host ?? '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })
    this.server = server
    this.boundPort = (server.address() as AddressInfo).port
  }

  private admit(path: string, status: number, headers: IncomingHttpHeaders): void {
    this.admissions.push({ path, status, headers })
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined)
    const path = new URL(req.url ?? '/', 'http://hub').pathname
    const route = (Object.keys(HUB_ROUTES) as HubFlavor[]).find((flavor) => HUB_ROUTES[flavor] === path)
    if (!route || !this.routes.has(route)) {
      this.admit(path, 404, req.headers)
      rawHttpResponse(socket, 404, 'Not Found', '404 page not found')
      return
    }
    const version = String(req.headers['x-beszel'] ?? '')
    const token = String(req.headers['x-token'] ?? '')
    if (version === '' || token === '' || Buffer.byteLength(token) > 64) {
      this.admit(path, 400, req.headers)
      rawHttpResponse(socket, 400, 'Bad Request', '')
      return
    }
    if (token !== this.token) {
      this.admit(path, 401, req.headers)
      rawHttpResponse(socket, 401, 'Unauthorized', 'Invalid token')
      return
    }
    if (!isStrictSemver(version)) {
      this.admit(path, 401, req.headers)
      rawHttpResponse(socket, 401, 'Unauthorized', 'Invalid agent version')
      return
    }
    // as the dev hub: the nonce is read on the SONAR route only, and a malformed one is refused
    const nonce = route === 'sonar' && this.signsNonce ? parseHubNonceHeader(req.headers[HUB_NONCE_HEADER.toLowerCase()]) : { ok: true as const, nonce: undefined }
    if (!nonce.ok) {
      this.admit(path, 400, req.headers)
      rawHttpResponse(socket, 400, 'Bad Request', 'Invalid nonce')
      return
    }
    this.admit(path, 101, req.headers)
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const connection = new HubConnection(this, ws, route, req.headers, nonce.nonce)
      const index = this.connections.push(connection) - 1
      for (const waiter of this.waiters.filter((w) => w.index === index)) waiter.resolve(connection)
      this.waiters.splice(0, this.waiters.length, ...this.waiters.filter((w) => w.index !== index))
      if (this.challenge) void connection.runChallenge()
    })
  }

  /** Closes every open connection (the hub dropping its agents). */
  dropAll(code = 1000, reason = ''): void {
    for (const connection of this.connections) if (connection.open) connection.close(code, reason)
  }

  /** Stops listening and cuts every connection (a hub going down). */
  async stop(): Promise<void> {
    for (const connection of this.connections) {
      connection.system?.stop()
      connection.terminate()
    }
    const server = this.server
    this.server = undefined
    if (!server) return
    server.closeAllConnections?.()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  /** Stops and listens again on the same port (a hub restart). */
  async restart(): Promise<void> {
    const port = this.boundPort
    await this.stop()
    await this.listen(port)
  }
}
