/**
 * The hub's agent-connect route, dialled as the agent dials it (the same URL and the same options,
 * from transport/hub-dial.ts): the HTTP status of the upgrade, then — when the hub admits the
 * token — its CheckFingerprint signature checked against KEY. The doctor never answers: it closes (1000) before
 * sending its fingerprint, so the hub records nothing. Also reads the hub's clock from a plain
 * HTTP response's Date header.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { WebSocket, type RawData } from 'ws'
import type { HubKey } from '../identity/keys.js'
import { verifyHubSignature } from '../identity/keys.js'
import { newHubNonce } from '../identity/hub-nonce.js'
import { decodeRequest } from '../protocol/envelope.js'
import { Action, parseActionData } from '../protocol/actions.js'
import { hubClientOptions, hubProxyAgent, hubTlsOptions, isCertificateError, readRefusalBody, type HubDialSettings } from '../transport/hub-dial.js'
import { agentConnectUrl, redactUrl, type HubFlavor } from '../transport/hub-url.js'
import { errorCode, formatMs, result, type CheckResult, type CheckStatus } from './check.js'

const GROUP = 'hub'
/** Beyond this the hub's and this host's logs disagree visibly, and TLS validity windows may bite. */
export const MAX_CLOCK_SKEW_MS = 30_000

export interface RouteTarget {
  hubUrl: URL
  /** what the agent dials with (hubDialSettings); token '' when TOKEN is not set or not valid */
  dial: HubDialSettings
  keys: readonly HubKey[]
  flavor?: HubFlavor
  timeoutMs: number
  unreachable: CheckStatus
  /** REQUIRE_HUB_NONCE: the agent would refuse a hub that signs the bare token */
  requireHubNonce: boolean
}

type Dial =
  | { kind: 'upgraded'; frame?: Buffer; date?: string }
  | { kind: 'status'; status: number; body: string; date?: string }
  | { kind: 'error'; code: string }

/** One upgrade attempt; after 101 waits (within the time left) for the hub's first frame. */
async function dial(url: URL, target: RouteTarget, deadline: number): Promise<Dial> {
  // the agent's options, a proxy agent per dial; the doctor's own timer below ends the dial, so
  // ws's handshake timeout is only a backstop behind it (with the same deadline either could fire
  // first under load, and ws's "Opening handshake has timed out" hid the doctor's message)
  const options = await hubClientOptions(url, { ...target.dial, handshakeTimeoutMs: Math.max(1, deadline - Date.now()) + 1_000 })
  const agent = options.agent
  const socket = new WebSocket(url, options)
  return await new Promise<Dial>((resolve) => {
    let date: string | undefined
    let upgraded = false
    const finish = (outcome: Dial) => {
      clearTimeout(timer)
      socket.removeAllListeners()
      socket.on('error', () => undefined)
      if (socket.readyState === WebSocket.OPEN) socket.close(1000, 'sonar-agent doctor')
      else socket.terminate()
      agent?.destroy()
      resolve(outcome)
    }
    const timer = setTimeout(() => finish(socket.readyState === WebSocket.OPEN ? { kind: 'upgraded', ...(date ? { date } : {}) } : { kind: 'error', code: 'ETIMEDOUT' }), Math.max(1, deadline - Date.now()))
    socket.on('upgrade', (res: IncomingMessage) => {
      upgraded = true
      date = res.headers.date
    })
    socket.on('unexpected-response', (_req, res: IncomingMessage) => {
      void readRefusalBody(res, 120, 500).then((body) => finish({ kind: 'status', status: res.statusCode ?? 0, body, ...(res.headers.date ? { date: res.headers.date } : {}) }))
    })
    socket.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) finish({ kind: 'upgraded', frame: Buffer.isBuffer(data) ? data : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]), ...(date ? { date } : {}) })
    })
    socket.on('error', (error) => finish({ kind: 'error', code: errorCode(error) }))
    socket.on('close', () => finish(upgraded ? { kind: 'upgraded', ...(date ? { date } : {}) } : { kind: 'error', code: 'ECONNRESET' }))
  })
}

/** The hub's CheckFingerprint checked as the agent checks it: the nonce form first (when this dial sent one), then the bare token. */
function signatureCheck(frame: Buffer | undefined, target: RouteTarget, nonce: Buffer | undefined): { status: CheckStatus; text: string; fix?: string } {
  if (!frame) return { status: 'warn', text: 'but sent no CheckFingerprint in time: the hub\'s signature was not checked', fix: 'check the hub\'s logs; a SONAR or Beszel hub challenges every new connection' }
  if (target.keys.length === 0) return { status: 'skip', text: 'but its signature was not checked: KEY did not parse (see above)' }
  try {
    const request = decodeRequest(frame)
    if (request.action !== Action.CheckFingerprint) return { status: 'warn', text: `but its first request was action ${request.action}, not CheckFingerprint` }
    const parsed = parseActionData(Action.CheckFingerprint, request.data)
    if (!parsed.ok) return { status: 'warn', text: `but its CheckFingerprint is malformed (${parsed.message})` }
    const { token } = target.dial
    const nonceKey = nonce ? verifyHubSignature(target.keys, token, parsed.data.signature, nonce) : undefined
    const key = nonceKey ?? verifyHubSignature(target.keys, token, parsed.data.signature)
    const against = (k: HubKey) => `against KEY${k.comment ? ` (${k.comment})` : ''}`
    if (nonceKey) return { status: 'ok', text: `and its signature verifies ${against(nonceKey)}, over this dial's nonce` }
    if (key && target.requireHubNonce) {
      return {
        status: 'fail',
        text: `but it signs the token only (${nonce ? 'it ignored X-Sonar-Nonce' : 'this route carries no nonce'}), and REQUIRE_HUB_NONCE=true refuses that`,
        fix: 'upgrade the hub to one that signs the nonce (a SONAR hub), or set REQUIRE_HUB_NONCE=false',
      }
    }
    if (key) return { status: 'ok', text: `and its signature verifies ${against(key)} (token only: the hub ignores X-Sonar-Nonce${nonce ? '' : ', or this route carries none'})` }
    return {
      status: 'fail',
      text: `but its signature matches no key in KEY: the agent would refuse this hub`,
      fix: 'set KEY to the public key shown in THIS hub\'s "Add system" dialog (ssh-ed25519 …)',
    }
  } catch (error) {
    return { status: 'warn', text: `but its first frame does not decode (${error instanceof Error ? error.message : String(error)})` }
  }
}

export interface RouteOutcome {
  results: CheckResult[]
  /** the Date header of a response, when one came */
  date?: string
}

export async function checkRoute(target: RouteTarget): Promise<RouteOutcome> {
  if (target.dial.token === '') {
    return { results: [result(GROUP, 'agent-connect', 'skip', 'not tried: TOKEN is not set or not valid (see above)')] }
  }
  const deadline = Date.now() + target.timeoutMs
  const flavors: HubFlavor[] = target.flavor ? [target.flavor] : ['sonar', 'beszel']
  const tried: string[] = []
  let last: Dial | undefined
  let nonce: Buffer | undefined
  for (const flavor of flavors) {
    const url = agentConnectUrl(target.hubUrl, flavor)
    tried.push(redactUrl(url))
    // as the agent dials: a fresh nonce on SONAR's route only
    nonce = flavor === 'sonar' ? newHubNonce() : undefined
    try {
      last = await dial(url, { ...target, dial: { ...target.dial, ...(nonce ? { hubNonce: nonce } : {}) } }, deadline)
    } catch (error) {
      last = { kind: 'error', code: errorCode(error) }
    }
    if (!(last.kind === 'status' && last.status === 404)) break
  }
  const where = tried.at(-1) ?? ''
  const date = last && 'date' in last ? last.date : undefined
  const withDate = (results: CheckResult[]): RouteOutcome => (date ? { results, date } : { results })
  if (!last) return { results: [] }
  if (last.kind === 'upgraded') {
    const signature = signatureCheck(last.frame, target, nonce)
    return withDate([result(GROUP, 'agent-connect', signature.status, `${where} admitted TOKEN (101) ${signature.text}`, signature.fix)])
  }
  if (last.kind === 'status') {
    const body = last.body ? ` "${last.body}"` : ''
    if (last.status === 404) {
      return withDate([result(GROUP, 'agent-connect', 'fail', `no agent-connect route: ${tried.join(' and ')} answered 404`, 'set HUB_URL to the address the hub\'s web UI is served at (with its base path), e.g. HUB_URL=https://hub.example.com')])
    }
    if (last.status === 401 && /version/i.test(last.body)) {
      return withDate([result(GROUP, 'agent-connect', 'fail', `${where} refused this agent's version ${target.dial.protocolVersion} (401${body})`, 'upgrade the hub (or pin HUB_FLAVOR=beszel for a Beszel hub)')])
    }
    if (last.status === 401 || last.status === 403) {
      return withDate([result(GROUP, 'agent-connect', 'fail', `${where} rejected TOKEN (${last.status}${body})`, 'set TOKEN to the token from this hub\'s "Add system" dialog (or its universal token)')])
    }
    return withDate([result(GROUP, 'agent-connect', 'fail', `${where} answered HTTP ${last.status}${body}, not a WebSocket upgrade`, 'check HUB_URL points at the hub itself (not a proxy page), and that a reverse proxy passes WebSocket upgrades')])
  }
  const code = last.code
  if (isCertificateError(code)) {
    return { results: [result(GROUP, 'agent-connect', 'fail', `${where}: the certificate is refused (${code})`, 'set CA_CERT_FILE to the PEM of the CA that issued the hub\'s certificate (e.g. CA_CERT_FILE=/etc/sonar-agent/hub-ca.pem), or give the hub a publicly trusted certificate')] }
  }
  return {
    results: [result(GROUP, 'agent-connect', target.unreachable, code === 'ETIMEDOUT' ? `${where}: no upgrade within ${formatMs(target.timeoutMs)}` : `${where}: ${code}`, 'check the hub is up and HUB_URL is right; a proxy (HTTPS_PROXY) must allow WebSocket upgrades')],
  }
}

/** A plain GET of HUB_URL for its Date header (Go's net/http sends one on every response). */
export async function fetchDate(target: RouteTarget, timeoutMs: number): Promise<string | undefined> {
  const url = new URL(target.hubUrl.href)
  url.protocol = url.protocol === 'wss:' || url.protocol === 'https:' ? 'https:' : 'http:'
  const agent = await hubProxyAgent(url, target.dial)
  const tls = await hubTlsOptions(url, target.dial)
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest
  try {
    return await new Promise<string | undefined>((resolve) => {
      const req = send(url, { method: 'GET', ...tls, ...(agent ? { agent } : {}), headers: { 'User-Agent': target.dial.userAgent } }, (res) => {
        res.resume()
        resolve(res.headers.date)
        req.destroy()
      })
      const timer = setTimeout(() => {
        req.destroy()
        resolve(undefined)
      }, timeoutMs)
      req.on('close', () => clearTimeout(timer))
      req.on('error', () => resolve(undefined))
      req.end()
    })
  } finally {
    agent?.destroy()
  }
}

/** The clock line: local time vs the hub's Date header (second resolution, so ±1 s). */
export function clockResult(date: string | undefined, receivedAt: number): CheckResult {
  const hubTime = date ? Date.parse(date) : Number.NaN
  if (!Number.isFinite(hubTime)) return result(GROUP, 'clock', 'skip', 'the hub sent no Date header: skew not measured')
  // the header is truncated to the second: compare with the middle of that second
  const skew = receivedAt - (hubTime + 500)
  const seconds = Math.round(Math.abs(skew) / 1000)
  const direction = skew > 0 ? 'ahead of' : 'behind'
  if (Math.abs(skew) > MAX_CLOCK_SKEW_MS) {
    return result(GROUP, 'clock', 'warn', `this host's clock is ${seconds} s ${direction} the hub's (the signatures do not depend on it, but logs, charts and TLS validity do)`, 'sync the clock: timedatectl set-ntp true (or install chrony)')
  }
  return result(GROUP, 'clock', 'ok', seconds <= 1 ? 'in step with the hub (within 1 s)' : `${seconds} s ${direction} the hub's`)
}
