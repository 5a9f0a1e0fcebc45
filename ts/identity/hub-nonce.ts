/**
 * The hub nonce on SONAR's agent-connect route (docs/extensions.md): the agent sends 32 fresh random
 * bytes in `X-Sonar-Nonce` with the upgrade, and a hub that knows the extension signs
 * `"sonar-hub-nonce-v1\0" || token || nonce` instead of the bare token, so a captured
 * CheckFingerprint cannot be replayed on a later connection. The agent, the dev hub and the test
 * hub share these definitions, so the three cannot drift apart.
 */
import { randomBytes } from 'node:crypto'

/** The upgrade header (sent on the SONAR route only; the Beszel route is left byte for byte as Beszel's). */
export const HUB_NONCE_HEADER = 'X-Sonar-Nonce'
export const HUB_NONCE_BYTES = 32
/** Separates the nonce form from every other thing the hub's key signs (a bare token, SSH auth data). */
export const HUB_NONCE_DOMAIN = Buffer.from('sonar-hub-nonce-v1\0', 'latin1')

/** base64url without padding: 32 bytes are always 43 characters. */
const ENCODED = /^[A-Za-z0-9_-]{43}$/

export function newHubNonce(): Buffer {
  return randomBytes(HUB_NONCE_BYTES)
}

export function encodeHubNonce(nonce: Uint8Array): string {
  return Buffer.from(nonce).toString('base64url')
}

export type HubNonceHeader = { ok: true; nonce: Buffer | undefined } | { ok: false; reason: string }

/**
 * The hub's reading of the header: absent is fine (an agent without the extension), anything but one
 * canonical 43-character base64url value of 32 bytes is refused (repeated headers arrive joined by ", ").
 */
export function parseHubNonceHeader(value: string | string[] | undefined): HubNonceHeader {
  if (value === undefined) return { ok: true, nonce: undefined }
  const text = Array.isArray(value) ? value.join(', ') : value
  if (!ENCODED.test(text)) return { ok: false, reason: `${HUB_NONCE_HEADER} must be ${HUB_NONCE_BYTES} bytes in unpadded base64url (43 characters)` }
  const nonce = Buffer.from(text, 'base64url')
  // the 43rd character carries 2 unused bits: only the canonical spelling is one nonce
  if (nonce.length !== HUB_NONCE_BYTES || encodeHubNonce(nonce) !== text) {
    return { ok: false, reason: `${HUB_NONCE_HEADER} is not canonical base64url` }
  }
  return { ok: true, nonce }
}

/** The bytes the hub signs in the nonce form: domain tag, the token's UTF-8 bytes, the 32 nonce bytes. */
export function hubNonceMessage(token: string, nonce: Uint8Array): Buffer {
  if (nonce.length !== HUB_NONCE_BYTES) throw new RangeError(`a hub nonce has ${HUB_NONCE_BYTES} bytes, not ${nonce.length}`)
  return Buffer.concat([HUB_NONCE_DOMAIN, Buffer.from(token, 'utf8'), nonce])
}
