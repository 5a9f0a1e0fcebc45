/**
 * CheckFingerprint: the hub proves it holds a key from KEY by signing this agent's token; only then
 * does the agent give out its fingerprint and, on this connection, anything else.
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

export type VerifySignature = (keys: readonly HubKey[], token: string, signature: Uint8Array) => HubKey | undefined

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
}

export interface FingerprintDeps extends FingerprintSources {
  logger: Logger
  verify: VerifySignature
}

export interface VerifiableSession {
  readonly transport: 'websocket' | 'ssh'
  verified: boolean
}

function verifies(request: FingerprintRequest, deps: FingerprintDeps): HubKey | undefined {
  const token = deps.token()
  if (!token) {
    deps.logger.error('hub signature cannot be checked: no TOKEN configured')
    return undefined
  }
  try {
    return deps.verify(deps.keys(), token, request.signature)
  } catch (error) {
    deps.logger.error('hub signature check failed', { error: error instanceof Error ? error.message : String(error) })
    return undefined
  }
}

export function handleCheckFingerprint(request: FingerprintRequest, session: VerifiableSession, deps: FingerprintDeps): HandlerResult {
  if (session.transport === 'ssh') return errorResult(UNSUPPORTED_OVER_SSH)
  const key = verifies(request, deps)
  if (!key) {
    session.verified = false
    deps.logger.warn('hub signature matches no key in KEY; closing. Check that KEY holds the public key shown in the hub', {
      keys: deps.keys().length,
    })
    return errorResult(INVALID_SIGNATURE, { reason: INVALID_SIGNATURE })
  }
  // the answer is built first: if the fingerprint cannot be read the hub gets an error, not a half-verified session
  const fingerprint = deps.fingerprint()
  const body: HandlerResult['body'] = request.needSysInfo
    ? // empty values are left out by the encoder, as Go's omitempty does
      { kind: 'fingerprint', fingerprint, hostname: deps.hostname(), port: deps.listenPort(), name: deps.systemName() }
    : { kind: 'fingerprint', fingerprint }
  session.verified = true
  deps.logger.info('hub verified', { comment: key.comment || undefined })
  try {
    deps.onVerified?.()
  } catch (error) {
    deps.logger.error('onVerified hook failed', { error: error instanceof Error ? error.message : String(error) })
  }
  return { body }
}
