/**
 * Whether a host-action request may be believed: signed by a key of KEY over this agent's
 * fingerprint (wire.ts's message), signed within the last minute (or the next: clocks differ), and
 * not seen before. Replayed, stale, future, foreign-key and other-agent requests are all refused.
 */
import { verifyEd25519, type HubKey } from '../identity/keys.js'
import { signedMessage, type Envelope } from './wire.js'

/** How far the hub's timestamp may be from this clock, either way. */
export const FRESHNESS_MS = 60_000
/** Nonces remembered at once; a hub that signs more than this in two minutes is refused. */
export const MAX_REMEMBERED_NONCES = 100_000

/** The nonces of verified requests, each kept until its timestamp can no longer be fresh. */
export class ReplayGuard {
  /** nonce (hex) → when it may be forgotten (ms) */
  private readonly seen = new Map<string, number>()

  constructor(private readonly maxRemembered = MAX_REMEMBERED_NONCES) {}

  get size(): number {
    return this.seen.size
  }

  /** Takes `nonce` if it is new; false for a replay or when the window is full. */
  take(nonce: Uint8Array, timestampMs: number, now: number): 'new' | 'replayed' | 'full' {
    this.forgetExpired(now)
    const key = Buffer.from(nonce).toString('hex')
    if (this.seen.has(key)) return 'replayed'
    if (this.seen.size >= this.maxRemembered) return 'full'
    // a request with this timestamp is fresh until timestamp + window; keep its nonce that long
    this.seen.set(key, Math.max(timestampMs, now) + FRESHNESS_MS)
    return 'new'
  }

  private forgetExpired(now: number): void {
    for (const [key, until] of this.seen) {
      if (until < now) this.seen.delete(key)
    }
  }
}

export interface VerifyInput {
  action: number
  envelope: Envelope
  /** this agent's fingerprint: a request signed for another agent does not verify */
  fingerprint: string
  keys: readonly HubKey[]
  now: number
  replay: ReplayGuard
}

export type Verdict = { ok: true; key: HubKey } | { ok: false; message: string }

export function verifyActionRequest(input: VerifyInput): Verdict {
  const { envelope, now } = input
  const skew = envelope.timestampMs - now
  if (Math.abs(skew) > FRESHNESS_MS) {
    return { ok: false, message: `request signed ${Math.round(Math.abs(skew) / 1000)} s ${skew < 0 ? 'ago' : 'in the future'} (at most ${FRESHNESS_MS / 1000} s either way): check both clocks` }
  }
  const message = signedMessage({ action: input.action, nonce: envelope.nonce, timestampMs: envelope.timestampMs, fingerprint: input.fingerprint, params: envelope.params })
  const key = verifyEd25519(input.keys, message, envelope.signature)
  if (!key) return { ok: false, message: 'request signature does not verify with KEY for this agent (a foreign key, or signed for another agent)' }
  // only verified nonces are remembered: forged requests cannot fill the window
  switch (input.replay.take(envelope.nonce, envelope.timestampMs, now)) {
    case 'replayed':
      return { ok: false, message: 'request replayed (its nonce was already used)' }
    case 'full':
      return { ok: false, message: `too many host-action requests in the last ${(2 * FRESHNESS_MS) / 1000} s` }
    default:
      return { ok: true, key }
  }
}
