/**
 * Hub public keys: `KEY` holds authorized_keys lines; the hub only ever generates Ed25519 keys, so
 * that is the only type accepted. The same keys authenticate the hub over SSH (blob compare) and over
 * WebSocket (Ed25519 signature over the token, spec §2.6, or over the nonce form of docs/extensions.md).
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto'
import { HUB_NONCE_BYTES, hubNonceMessage } from './hub-nonce.js'

export interface HubKey {
  type: 'ssh-ed25519'
  /** 32 raw bytes */
  publicKey: Buffer
  /** SSH wire blob: string "ssh-ed25519" + string key */
  blob: Buffer
  comment: string
}

/** A `KEY` line that is not a usable Ed25519 key. The message names the line, never key material. */
export class KeyParseError extends Error {
  override readonly name = 'KeyParseError'
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message)
  }
}

const ED25519 = 'ssh-ed25519'
const KNOWN_TYPES = /^(ssh-(rsa|dss|ed25519|ed448)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com|[a-z0-9-]+-cert-v01@openssh\.com)$/
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

/** Reads one SSH `string` (uint32 length + bytes) at `offset`; undefined when truncated. */
function readSshString(buf: Buffer, offset: number): { value: Buffer; next: number } | undefined {
  if (offset + 4 > buf.length) return undefined
  const length = buf.readUInt32BE(offset)
  const end = offset + 4 + length
  if (end > buf.length) return undefined
  return { value: buf.subarray(offset + 4, end), next: end }
}

function sshString(value: Buffer): Buffer {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(value.length)
  return Buffer.concat([length, value])
}

/** The SSH wire blob for a raw 32-byte Ed25519 public key. */
export function ed25519Blob(publicKey: Uint8Array): Buffer {
  return Buffer.concat([sshString(Buffer.from(ED25519)), sshString(Buffer.from(publicKey))])
}

/** The authorized_keys line for a key (for logs/tests; public material only). */
export function formatAuthorizedKey(key: HubKey): string {
  return `${key.type} ${key.blob.toString('base64')}${key.comment ? ` ${key.comment}` : ''}`
}

function parseLine(line: string, lineNo: number): HubKey {
  const fields = line.split(/\s+/)
  const type = fields[0] ?? ''
  if (type !== ED25519) {
    if (KNOWN_TYPES.test(type)) {
      throw new KeyParseError(`line ${lineNo}: key type ${type} is not supported (the hub uses ssh-ed25519 keys)`, lineNo)
    }
    // authorized_keys allows options (from=, command=…) before the type; the hub's KEY never has them.
    if (fields.slice(1).some((f) => f === ED25519 || KNOWN_TYPES.test(f))) {
      throw new KeyParseError(`line ${lineNo}: authorized_keys options before the key type are not supported; give "ssh-ed25519 <base64> [comment]"`, lineNo)
    }
    throw new KeyParseError(`line ${lineNo}: not an authorized_keys line; expected "ssh-ed25519 <base64> [comment]"`, lineNo)
  }
  const encoded = fields[1]
  if (encoded === undefined || encoded === '') throw new KeyParseError(`line ${lineNo}: ssh-ed25519 key has no base64 key data`, lineNo)
  if (!BASE64.test(encoded)) throw new KeyParseError(`line ${lineNo}: ssh-ed25519 key data is not valid base64`, lineNo)
  const blob = Buffer.from(encoded, 'base64')
  const name = readSshString(blob, 0)
  const key = name && readSshString(blob, name.next)
  if (!name || !key || key.next !== blob.length || name.value.toString('latin1') !== ED25519) {
    throw new KeyParseError(`line ${lineNo}: ssh-ed25519 key data is malformed (not an Ed25519 public key blob)`, lineNo)
  }
  if (key.value.length !== 32) {
    throw new KeyParseError(`line ${lineNo}: ssh-ed25519 key has ${key.value.length} bytes of key, expected 32`, lineNo)
  }
  return { type: ED25519, publicKey: Buffer.from(key.value), blob, comment: fields.slice(2).join(' ') }
}

/**
 * Parses authorized_keys text (one or more lines; blank and `#` lines skipped). Any bad line is an
 * error, like the Go agent: a silently dropped key would only show up later as a failed handshake.
 */
export function parseAuthorizedKeys(text: string): HubKey[] {
  const keys: HubKey[] = []
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    keys.push(parseLine(line, index + 1))
  })
  return keys
}

// Building a KeyObject costs more than the verify itself; the hub re-verifies on every reconnect.
const keyObjects = new WeakMap<HubKey, KeyObject>()

function keyObject(key: HubKey): KeyObject {
  let object = keyObjects.get(key)
  if (!object) {
    object = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: key.publicKey.toString('base64url') }, format: 'jwk' })
    keyObjects.set(key, object)
  }
  return object
}

/** The first key whose Ed25519 signature over `message` matches (64-byte blob only), or undefined. */
export function verifyEd25519(keys: readonly HubKey[], message: Uint8Array, signature: Uint8Array): HubKey | undefined {
  if (signature.length !== 64) return undefined
  for (const key of keys) {
    try {
      if (verify(null, message, keyObject(key), signature)) return key
    } catch {
      // A key node cannot load (e.g. a small-order point) simply does not match.
    }
  }
  return undefined
}

/**
 * The first key whose Ed25519 signature over utf8(token) matches (spec §2.6: the hub signs the raw
 * token bytes and sends the 64-byte signature blob only), or undefined.
 */
export function verifyTokenSignature(keys: readonly HubKey[], token: string, signature: Uint8Array): HubKey | undefined {
  return verifyEd25519(keys, Buffer.from(token, 'utf8'), signature)
}

/**
 * The hub's proof in either form: with `nonce`, only a signature over the nonce form
 * (identity/hub-nonce.ts) matches; without, only one over the bare token.
 */
export function verifyHubSignature(keys: readonly HubKey[], token: string, signature: Uint8Array, nonce?: Uint8Array): HubKey | undefined {
  if (nonce === undefined) return verifyTokenSignature(keys, token, signature)
  if (nonce.length !== HUB_NONCE_BYTES) return undefined
  return verifyEd25519(keys, hubNonceMessage(token, nonce), signature)
}
