/**
 * One WebSocket connection to the hub, from dial to close (spec §2): dials with the shared hub
 * options, hands every binary frame to the dispatcher (at most maxInFlight at once, beyond that
 * refused, not queued), drops a socket that stays silent past the watchdog, and says how it ended.
 * The redial loop around it is websocket-client.ts.
 */
import { WebSocket, type ClientOptions, type RawData } from 'ws'
import type { Dispatcher, Session } from '../dispatch.js'
import type { Logger } from '../log.js'
import { ProtocolError, decodeRequest, encodeResponse } from '../protocol/envelope.js'
import { hubClientOptions, isCertificateError, readRefusalBody, type HubDialSettings } from './hub-dial.js'
import { flavorOf, isPlainRemote, redactUrl } from './hub-url.js'
import type { ProxyAgentSource } from './proxy.js'

/** No message for this long means the socket is dead even if TCP has not noticed (spec §2.11). */
export const WATCHDOG_MS = 70_000
/**
 * Not in the Go agent: a hub that has not verified this long after the upgrade is dropped. Its
 * requests (refused unverified) would otherwise feed the watchdog and hold the connection forever.
 */
export const VERIFY_TIMEOUT_MS = 10_000
/** Handlers running at once on one connection; beyond it requests are refused, not queued. */
export const MAX_IN_FLIGHT = 64
/** RFC 6455: the peer broke the protocol's rules (here: it never proved its key). */
const CLOSE_POLICY_VIOLATION = 1008
/** RFC 6455 caps a close reason at 123 bytes. */
const MAX_CLOSE_REASON_BYTES = 123
/** getaddrinfo failures: the hub's name does not resolve (EXIT_ON_DNS_ERROR acts on these). */
const DNS_ERROR = /^(ENOTFOUND|EAI_AGAIN|EAI_NONAME|EAI_FAIL)$/

export interface DisconnectInfo {
  code: number
  reason: string
  /** the hub's signature verified on this connection */
  wasVerified: boolean
}

/** A dial that failed before the upgrade (status, DNS, refused, TLS…). */
export interface DialFailure {
  reason: string
  status?: number
  dns?: boolean
}

/** How one connection ended, for the redial loop. */
export type ConnectionOutcome =
  /** upgraded, then closed; `served`: the hub went on to use the verified session */
  | { kind: 'closed'; served: boolean }
  | { kind: 'failed'; status?: number }
  | { kind: 'stopped' }

export interface ConnectionOptions {
  /** the agent-connect URL */
  url: URL
  dial: HubDialSettings
  dispatcher: Pick<Dispatcher, 'handle'>
  logger: Logger
  watchdogMs: number
  verifyTimeoutMs: number
  maxInFlight: number
  /** the owner's proxy agent (kept across dials) */
  proxyAgent: ProxyAgentSource
}

/** What the connection tells its owner as it goes; each is called after the matching log line. */
export interface ConnectionEvents {
  /** false once the owner stops: a close is then 'stopped', not a failure */
  running(): boolean
  /** the socket once created, undefined once closed (the owner closes it on stop) */
  socket(socket: WebSocket | undefined): void
  connected(): void
  verified(): void
  disconnected(info: DisconnectInfo): void
  failed(failure: DialFailure): void
}

/** A short, single-line, token-free description of why a dial failed. */
function describeError(error: Error): string {
  const code = (error as { code?: unknown }).code
  const message = error.message.split('\n')[0] ?? ''
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message
}

/**
 * The error answer for a request refused because too many are in flight: under its id whenever one
 * can be read, also when the request itself would be refused (the hub must not wait 5 s for it).
 */
function busyReply(frame: Uint8Array): Buffer | undefined {
  let id: number | undefined
  try {
    id = decodeRequest(frame).id
  } catch (error) {
    id = error instanceof ProtocolError ? error.id : undefined
  }
  return id === undefined ? undefined : encodeResponse(id, { kind: 'error', message: 'agent busy: too many requests in flight' })
}

function truncateReason(reason: string): string {
  let out = reason
  while (Buffer.byteLength(out) > MAX_CLOSE_REASON_BYTES) out = out.slice(0, -1)
  return out
}

/** One connection, from dial to close. Never throws. */
export async function runConnection(options: ConnectionOptions, events: ConnectionEvents): Promise<ConnectionOutcome> {
  const { url, dial, logger: log } = options
  const where = redactUrl(url)
  if (url.protocol === 'wss:' && dial.tlsInsecureSkipVerify) {
    log.warn('TLS_INSECURE_SKIP_VERIFY=true: the hub certificate is NOT verified; anyone on the path can read the token and impersonate the hub', { url: where })
  }
  let client: ClientOptions
  try {
    client = await hubClientOptions(url, dial, options.proxyAgent)
  } catch (error) {
    const reason = `cannot prepare the connection: ${describeError(error as Error)}`
    log.error('connect failed', { url: where, reason })
    events.failed({ reason })
    return { kind: 'failed' }
  }
  if (!events.running()) return { kind: 'stopped' }
  log.debug('connecting', { url: where })

  let socket: WebSocket
  try {
    socket = new WebSocket(url, client)
  } catch (error) {
    const reason = describeError(error as Error)
    log.error('connect failed', { url: where, reason })
    events.failed({ reason })
    return { kind: 'failed' }
  }
  events.socket(socket)

  return await new Promise<ConnectionOutcome>((resolve) => {
    // the nonce of this dial, if it sent one, is what the hub's signature may cover
    const session: Session = {
      transport: 'websocket',
      verified: false,
      route: flavorOf(url),
      plainRemote: isPlainRemote(url),
      ...(dial.hubNonce ? { hubNonce: dial.hubNonce } : {}),
    }
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
    let verifyDeadline: NodeJS.Timeout | undefined
    const { watchdogMs, verifyTimeoutMs, maxInFlight } = options

    const feedWatchdog = () => {
      if (watchdog) watchdog.refresh()
      else {
        watchdog = setTimeout(() => {
          log.warn(`no message from the hub for ${Math.round(watchdogMs / 1000)} s; dropping the connection`, { url: where })
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
          log.warn('too many requests in flight; refusing requests', { inFlight, refused })
        }
        const reply = busyReply(frame)
        if (reply && socket.readyState === WebSocket.OPEN) socket.send(reply)
        return
      }
      inFlight += 1
      const verifiedBefore = session.verified
      void options.dispatcher
        .handle(frame, session)
        .then((result) => {
          if (verifiedBefore) {
            served = true
          } else if (session.verified && !announced) {
            announced = true
            clearTimeout(verifyDeadline)
            log.info('hub verified', { url: where })
            events.verified()
          }
          if (result.reply && socket.readyState === WebSocket.OPEN) socket.send(result.reply)
          if (result.close && socket.readyState === WebSocket.OPEN) {
            log.warn('closing the connection', { reason: result.close.reason })
            socket.close(1000, truncateReason(result.close.reason))
          }
        })
        .catch((error: unknown) => {
          // The dispatcher promises never to throw; if it does, one request is lost, not the link.
          log.error('request handler failed', { error: error instanceof Error ? error.message : String(error) })
        })
        .finally(() => {
          inFlight -= 1
        })
    }

    socket.on('unexpected-response', (req, res) => {
      status = res.statusCode
      void readRefusalBody(res, 200, 1_000).then((text) => {
        body = text
        req.destroy()
        socket.terminate()
      })
    })
    socket.on('open', () => {
      opened = true
      log.info('connected', { url: where })
      feedWatchdog()
      verifyDeadline = setTimeout(() => {
        if (session.verified || socket.readyState !== WebSocket.OPEN) return
        log.warn(`hub did not verify within ${verifyTimeoutMs / 1000} s of the upgrade (no valid CheckFingerprint); closing the connection`, { url: where })
        socket.close(CLOSE_POLICY_VIOLATION, 'hub not verified in time')
      }, verifyTimeoutMs)
      events.connected()
    })
    socket.on('message', (data: RawData, isBinary: boolean) => {
      feedWatchdog()
      if (!isBinary) {
        log.debug('ignoring a text frame')
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
      clearTimeout(verifyDeadline)
      events.socket(undefined)
      if (opened) {
        const reason = reasonBytes.toString('utf8')
        const fields: Record<string, string | number> = { code, reason }
        if (failure) fields.error = describeError(failure)
        log.info('disconnected', fields)
        const wasVerified = session.verified
        session.verified = false
        events.disconnected({ code, reason, wasVerified })
        resolve(events.running() ? { kind: 'closed', served } : { kind: 'stopped' })
        return
      }
      if (!events.running()) {
        resolve({ kind: 'stopped' })
        return
      }
      let reason: string
      if (status !== undefined) reason = `hub answered HTTP ${status}${body ? `: ${body}` : ''}`
      else if (failure) reason = describeError(failure)
      else reason = `closed before the upgrade (code ${code})`
      const fields: Record<string, string | number> = { url: where, reason }
      if (failure && isCertificateError(String((failure as { code?: unknown }).code ?? failure.message))) {
        fields.hint = 'the hub certificate did not verify: set CA_CERT_FILE to its CA (or TLS_INSECURE_SKIP_VERIFY=true, not recommended)'
      } else if (status === 401) {
        fields.hint = 'check TOKEN (and that the hub knows this system)'
      }
      if (status === 404) log.info('connect failed', fields)
      else log.warn('connect failed', fields)
      const failed: DialFailure = { reason }
      if (status !== undefined) failed.status = status
      if (failure && DNS_ERROR.test(String((failure as { code?: unknown }).code ?? ''))) failed.dns = true
      events.failed(failed)
      resolve(status === undefined ? { kind: 'failed' } : { kind: 'failed', status })
    })
  })
}
