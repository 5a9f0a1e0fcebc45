/**
 * CheckFingerprint: the hub proves it holds a key from KEY by signing this agent's token — over the
 * nonce this connection offered when the hub knows that extension (docs/extensions.md), else over the
 * bare token as Beszel does; only then does the agent give out its fingerprint and, on this
 * connection, anything else. REQUIRE_HUB_NONCE=true accepts the nonce form only.
 * Synchronous on purpose: the session is marked verified before the dispatcher's first await, so a
 * request the hub pipelines right behind the signature is already let through.
 */
import type { HubKey } from '../identity/keys.js'
import type { Logger } from '../log.js'
import type { FingerprintRequest } from '../protocol/actions.js'
import { errorResult, type HandlerResult } from './handler.js'

/** The Go agent's wording, so hub operators find the same hint in either agent's logs. */
export const INVALID_SIGNATURE = 'invalid signature - check KEY value'
/** Spec §3.4: over SSH the key exchange already authenticated the hub. */
export const UNSUPPORTED_OVER_SSH = 'unsupported action'

/** Without `nonce`: a signature over the bare token; with it: over the nonce form only. */
export type VerifySignature = (keys: readonly HubKey[], token: string, signature: Uint8Array, nonce?: Uint8Array) => HubKey | undefined

/** What the hub's signature covered: the nonce form, or (Beszel's) the token alone, which replays. */
export type HubProof = 'nonce' | 'token-only'

/** Short enough for a close reason (123 bytes). */
export const NONCE_REQUIRED = 'hub signed the token only (replayable); REQUIRE_HUB_NONCE=true accepts only a signature over the nonce'

/** The agent's side of CheckFingerprint; the dispatcher's deps include these (declared here so the handler does not import its caller). */
export interface FingerprintSources {
  keys: () => readonly HubKey[]
  token: () => string | undefined
  fingerprint: () => string
  hostname: () => string
  listenPort: () => string
  systemName: () => string | undefined
  /** each time a hub signature verifies on a WebSocket connection */
  onVerified?: () => void
  /** REQUIRE_HUB_NONCE: refuse a hub whose signature covers the token only */
  requireHubNonce?: () => boolean
}

export interface FingerprintDeps extends FingerprintSources {
  logger: Logger
  verify: VerifySignature
}

export interface VerifiableSession {
  readonly transport: 'websocket' | 'ssh'
  verified: boolean
  /** the nonce this connection sent in X-Sonar-Nonce (SONAR route only) */
  readonly hubNonce?: Uint8Array
}

/** The key that verified and the form it verified in (nonce form first), or undefined. */
function verifies(request: FingerprintRequest, session: VerifiableSession, deps: FingerprintDeps): { key: HubKey; proof: HubProof } | undefined {
  const token = deps.token()
  if (!token) {
    deps.logger.error('hub signature cannot be checked: no TOKEN configured')
    return undefined
  }
  try {
    const keys = deps.keys()
    const nonce = session.hubNonce
    const nonceKey = nonce ? deps.verify(keys, token, request.signature, nonce) : undefined
    if (nonceKey) return { key: nonceKey, proof: 'nonce' }
    const tokenKey = deps.verify(keys, token, request.signature)
    return tokenKey ? { key: tokenKey, proof: 'token-only' } : undefined
  } catch (error) {
    deps.logger.error('hub signature check failed', { error: error instanceof Error ? error.message : String(error) })
    return undefined
  }
}

export function handleCheckFingerprint(request: FingerprintRequest, session: VerifiableSession, deps: FingerprintDeps): HandlerResult {
  if (session.transport === 'ssh') return errorResult(UNSUPPORTED_OVER_SSH)
  const verdict = verifies(request, session, deps)
  if (!verdict) {
    session.verified = false
    deps.logger.warn('hub signature matches no key in KEY; closing. Check that KEY holds the public key shown in the hub', {
      keys: deps.keys().length,
    })
    return errorResult(INVALID_SIGNATURE, { reason: INVALID_SIGNATURE })
  }
  const { key, proof } = verdict
  if (proof === 'token-only' && deps.requireHubNonce?.() === true) {
    session.verified = false
    deps.logger.warn('hub refused: its signature covers the token only, which a recorded CheckFingerprint replays; REQUIRE_HUB_NONCE=true accepts only a hub that signs the nonce', {
      nonce: session.hubNonce ? 'sent, not signed (the hub does not know X-Sonar-Nonce)' : 'none on this route (the Beszel route carries none)',
    })
    return errorResult(NONCE_REQUIRED, { reason: NONCE_REQUIRED })
  }
  // the answer is built first: if the fingerprint cannot be read the hub gets an error, not a half-verified session
  const fingerprint = deps.fingerprint()
  const body: HandlerResult['body'] = request.needSysInfo
    ? // empty values are left out by the encoder, as Go's omitempty does
      { kind: 'fingerprint', fingerprint, hostname: deps.hostname(), port: deps.listenPort(), name: deps.systemName() }
    : { kind: 'fingerprint', fingerprint }
  // which form verified is logged once per connection (a hub may repeat CheckFingerprint)
  const fields = {
    comment: key.comment || undefined,
    hubProof: proof,
    hint: proof === 'token-only' && session.hubNonce ? 'the hub ignored X-Sonar-Nonce: a recorded signature would replay' : undefined,
  }
  if (session.verified) deps.logger.debug('hub verified again', fields)
  else deps.logger.info('hub verified', fields)
  session.verified = true
  try {
    deps.onVerified?.()
  } catch (error) {
    deps.logger.error('onVerified hook failed', { error: error instanceof Error ? error.message : String(error) })
  }
  return { body }
}
