/**
 * The embedded DEV hub's connection side: one HTTP server that admits agents over WebSocket on both
 * route prefixes (spec §2.4: 400/401 as a real hub answers), verifies them (§2.6/§2.7) and polls
 * them (ws-session.ts, poller.ts) as the chosen Beszel hub version does (hub-version.ts: 0.18.8
 * unless told 0.17), optionally dials agents over SSH, and hands every other HTTP request to the
 * web page's handler. In-memory, one process: for trying SONAR and for tests.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import { silentLogger, type Logger } from '../log.js'
import { MAX_FRAME_BYTES } from '../protocol/envelope.js'
import { loadHubIdentity, signHubChallenge } from './keys.js'
import { DEFAULT_HUB_VERSION, type HubVersion } from './hub-version.js'
import { FingerprintPins } from './pins.js'
import { SmartFetchLog } from './smart-schedule.js'
import { parseSshTarget, SshDial } from './ssh-dial.js'
import { HubStore } from './store.js'
import { AgentSession } from './ws-session.js'
import { HubActions, type ActionPort } from './actions/hub-actions.js'
import { isStrictSemver } from '../protocol/semver.js'
import { HUB_NONCE_HEADER, parseHubNonceHeader } from '../identity/hub-nonce.js'
import { AGENT_CONNECT_ROUTES } from '../transport/hub-url.js'

/** The routes agents dial, as the agent's own hub-url module names them. */
export const AGENT_ROUTES: readonly string[] = Object.values(AGENT_CONNECT_ROUTES).map((route) => `/${route}`)


/** Answers an HTTP request it owns (true), or leaves it to the hub's 404 (false). */
export type HttpHandler = ((req: IncomingMessage, res: ServerResponse) => boolean) & {
  /** ends long-lived responses (event streams) so the server can close */
  closeStreams?: () => void
  /** given the hub's host actions once it has its key and sessions (the page's Actions panel) */
  useActions?: (actions: ActionPort) => void
}

export interface DevHubOptions {
  /** where the key pair, token and pinned fingerprints live */
  dataDir: string
  /** default 127.0.0.1: the dev hub is not meant to face a network */
  host?: string
  /** default 8090; 0 picks a free port */
  port?: number
  store?: HubStore
  logger?: Logger
  /** agents' SSH servers to dial: `host:port`, `[v6]:port` or a socket path */
  ssh?: string[]
  /** the web page (ts/hub/web), mounted on the same server */
  web?: HttpHandler
  /** the Beszel hub to play (default DEFAULT_HUB_VERSION, 0.18.8) */
  version?: HubVersion
  /** timings, shortened by tests */
  intervalMs?: number
  realtimeMs?: number
  requestTimeoutMs?: number
  /** how long a host action waits for its answer (default: per action, hub-actions.ts) */
  actionTimeoutMs?: number
}

export interface DevHub {
  /** http://host:port/ — the page */
  url: string
  /** HUB_URL for agents */
  agentUrl: string
  /** the agent's KEY line */
  key: string
  token: string
  /** OpenSSH private key text (tests that act as this hub over SSH) */
  privateKey: string
  /** the Beszel hub it plays */
  version: HubVersion
  store: HubStore
  server: Server
  /** sessions of verified WebSocket agents, and the SSH dials */
  sessions(): AgentSession[]
  dials(): SshDial[]
  /** signs and sends host actions (6–13) to SONAR agents on WebSocket */
  actions: HubActions
  close(): Promise<void>
}

function rawHttpResponse(socket: Duplex, status: number, text: string, body: string): void {
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  )
  // a client that keeps its half open must not hold the hub's shutdown
  setTimeout(() => socket.destroy(), 1000).unref()
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

export async function startDevHub(options: DevHubOptions): Promise<DevHub> {
  const logger = options.logger ?? silentLogger
  const store = options.store ?? new HubStore()
  const identity = await loadHubIdentity(options.dataDir)
  const pins = await FingerprintPins.load(options.dataDir)
  const dials = (options.ssh ?? []).map(parseSshTarget)
  const sessions = new Set<AgentSession>()
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_FRAME_BYTES })
  const hubVersion = options.version ?? DEFAULT_HUB_VERSION
  // the hub's SMART attempts per system, kept across reconnects (beszel-v0.18.md §5.2)
  const smartLog = new SmartFetchLog()

  const timings = {
    ...(options.intervalMs !== undefined ? { intervalMs: options.intervalMs } : {}),
    ...(options.realtimeMs !== undefined ? { realtimeMs: options.realtimeMs } : {}),
    ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
  }

  const liveSessions = () => [...sessions].filter((s) => s.id !== undefined && s.open)
  const actions = new HubActions({
    signingKey: identity.signingKey,
    sessions: liveSessions,
    logger: logger.child('actions'),
    ...(options.actionTimeoutMs !== undefined ? { timeoutMs: options.actionTimeoutMs } : {}),
  })
  options.web?.useActions?.(actions)

  const server = createServer((req, res) => {
    try {
      if (options.web?.(req, res)) return
    } catch (error) {
      logger.error('web handler failed', { url: req.url, error: error instanceof Error ? error.message : String(error) })
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' })
      res.end('internal error')
      return
    }
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('404 page not found')
  })
  server.on('clientError', (_error, socket) => socket.destroy())

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined)
    let path: string
    try {
      path = new URL(req.url ?? '/', 'http://hub').pathname
    } catch {
      rawHttpResponse(socket, 400, 'Bad Request', '')
      return
    }
    const address = req.socket.remoteAddress ?? 'unknown'
    if (!AGENT_ROUTES.includes(path)) {
      rawHttpResponse(socket, 404, 'Not Found', '404 page not found')
      return
    }
    // admission in a real hub's order (§2.4)
    const version = String(req.headers['x-beszel'] ?? '')
    const token = String(req.headers['x-token'] ?? '')
    if (version === '' || token === '' || Buffer.byteLength(token) > 64) {
      logger.warn('agent refused: X-Beszel or X-Token missing', { address })
      rawHttpResponse(socket, 400, 'Bad Request', '')
      return
    }
    if (token !== identity.token) {
      logger.warn(`agent refused: invalid token (give it TOKEN from ${identity.dataDir}/token)`, { address })
      rawHttpResponse(socket, 401, 'Unauthorized', 'Invalid token')
      return
    }
    if (!isStrictSemver(version)) {
      logger.warn('agent refused: invalid agent version', { address, version })
      rawHttpResponse(socket, 401, 'Unauthorized', 'Invalid agent version')
      return
    }
    // the nonce extension lives on SONAR's route only; on Beszel's this hub signs as Beszel does
    const nonce = path === `/${AGENT_CONNECT_ROUTES.sonar}` ? parseHubNonceHeader(req.headers[HUB_NONCE_HEADER.toLowerCase()]) : { ok: true as const, nonce: undefined }
    if (!nonce.ok) {
      logger.warn(`agent refused: ${nonce.reason}`, { address })
      rawHttpResponse(socket, 400, 'Bad Request', 'Invalid nonce')
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const session = new AgentSession({
        socket: ws,
        route: path,
        token,
        signature: signHubChallenge(identity.signingKey, token, nonce.nonce),
        hubProof: nonce.nonce ? 'nonce' : 'token-only',
        agentVersion: version,
        address,
        store,
        pins,
        logger,
        version: hubVersion,
        smartLog,
        ...timings,
        onAccepted: (accepted) => {
          // a newer session of the same system replaces the older one, as a real hub does
          for (const other of sessions) if (other !== accepted && other.id === accepted.id) other.close('replaced by a new connection')
        },
      })
      sessions.add(session)
      ws.once('close', () => sessions.delete(session))
      session.verify().catch((error: unknown) => {
        logger.error('agent verification failed', { address, error: error instanceof Error ? error.message : String(error) })
        session.close('internal error')
      })
    })
  })

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`port ${options.port ?? 8090} on ${options.host ?? '127.0.0.1'} is in use: pick another with --port`)
          : error,
      )
    }
    server.once('error', onError)
    server.listen(options.port ?? 8090, options.host ?? '127.0.0.1', () => {
      server.off('error', onError)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const base = `http://${formatHost(options.host ?? '127.0.0.1')}:${port}`

  const sshDials = dials.map((target) => new SshDial({ target, privateKey: identity.privateKey, store, logger: logger.child('ssh'), version: hubVersion, smartLog, ...timings }))
  for (const dial of sshDials) dial.start()

  let closing: Promise<void> | undefined
  return {
    url: `${base}/`,
    agentUrl: base,
    key: identity.publicKey,
    token: identity.token,
    privateKey: identity.privateKey,
    version: hubVersion,
    store,
    server,
    sessions: liveSessions,
    dials: () => [...sshDials],
    actions,
    close: () => {
      closing ??= (async () => {
        for (const dial of sshDials) dial.stop()
        for (const session of sessions) session.close('hub stopped')
        options.web?.closeStreams?.()
        server.closeAllConnections()
        // agents answer the close frame at once; one that does not is cut after a second
        const cut = setTimeout(() => {
          for (const ws of wss.clients) ws.terminate()
        }, 1_000)
        await new Promise<void>((resolve) => server.close(() => resolve()))
        clearTimeout(cut)
      })()
      return closing
    },
  }
}
