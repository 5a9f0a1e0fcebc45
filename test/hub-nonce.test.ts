/**
 * The hub nonce's format (docs/extensions.md): the worked example is what the code computes, the
 * hub's reading of the header is strict, and a signature verifies in exactly one form.
 */
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { signHubChallenge } from '../ts/hub/keys.js'
import { encodeHubNonce, HUB_NONCE_DOMAIN, hubNonceMessage, newHubNonce, parseHubNonceHeader } from '../ts/identity/hub-nonce.js'
import { ed25519Blob, parseAuthorizedKeys, verifyHubSignature, verifyTokenSignature } from '../ts/identity/keys.js'
import { encodeRequest } from '../ts/protocol/envelope.js'
import { hubHeaders } from '../ts/transport/hub-dial.js'

const doc = readFileSync('docs/extensions.md', 'utf8')
/** The worked example's indented blocks of hex, each joined (a line's hex ends at its first other word). */
function hexBlocks(text: string): string[] {
  const section = text.slice(text.indexOf('### Worked example'), text.indexOf('### Where it lives'))
  const blocks: string[] = []
  let current = ''
  for (const line of section.split('\n')) {
    const words = line.startsWith('    ') ? line.trim().split(/\s+/) : []
    const stop = words.findIndex((w) => !/^[0-9a-f]+$/.test(w))
    const hex = (stop === -1 ? words : words.slice(0, stop)).join('')
    if (hex) current += hex
    else if (current) {
      blocks.push(current)
      current = ''
    }
  }
  if (current) blocks.push(current)
  return blocks
}

// RFC 8032 §7.1 test 1, as in the spec's §2.14 example
const SEED = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'
const KEY_LINE = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea'
const TOKEN = '6f1c2b0e-1d3a-4b5c-8d9e-0f1a2b3c4d5e'
const NONCE = Buffer.from(Array.from({ length: 32 }, (_, i) => i))
const rfcKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(SEED, 'hex')]), format: 'der', type: 'pkcs8' })
const keys = parseAuthorizedKeys(KEY_LINE)

describe('worked example of docs/extensions.md', () => {
  const message = hubNonceMessage(TOKEN, NONCE)
  const signature = signHubChallenge(rfcKey, TOKEN, NONCE)

  it('the doc names the header, the tag and the key this test uses', () => {
    expect(doc).toContain('## Hub nonce on /api/sonar/agent-connect')
    expect(doc).toContain(`X-Sonar-Nonce: ${encodeHubNonce(NONCE)}`)
    expect(doc).toContain(KEY_LINE)
    expect(doc).toContain(SEED)
    expect(HUB_NONCE_DOMAIN.toString('latin1')).toBe('sonar-hub-nonce-v1\0')
  })

  it('M, its signature and the CheckFingerprint frame are the doc\'s bytes', () => {
    expect(message.length).toBe(87)
    const frame = encodeRequest({ action: 1, data: new Map<number, unknown>([[0, signature], [1, false]]), id: 1 })
    expect(frame.length).toBe(76)
    expect(hexBlocks(doc)).toEqual([message.toString('hex'), signature.toString('hex'), frame.toString('hex')])
  })

  it('verifies in the nonce form only: not as a token signature, not for another nonce', () => {
    expect(verifyHubSignature(keys, TOKEN, signature, NONCE)).toBe(keys[0])
    expect(verifyTokenSignature(keys, TOKEN, signature)).toBeUndefined()
    expect(verifyHubSignature(keys, TOKEN, signature)).toBeUndefined()
    const other = Buffer.from(NONCE)
    other[31] = 0xff
    expect(verifyHubSignature(keys, TOKEN, signature, other)).toBeUndefined()
    expect(verifyHubSignature(keys, `${TOKEN}x`, signature, NONCE)).toBeUndefined()
    // and the token-only signature (spec §2.14 a) is not a nonce-form one
    const tokenOnly = signHubChallenge(rfcKey, TOKEN)
    expect(tokenOnly.toString('hex')).toMatch(/^82da8e12.*dfb5c407$/)
    expect(verifyHubSignature(keys, TOKEN, tokenOnly)).toBe(keys[0])
    expect(verifyHubSignature(keys, TOKEN, tokenOnly, NONCE)).toBeUndefined()
  })

  it('a nonce of the wrong size is no nonce form at all', () => {
    expect(verifyHubSignature(keys, TOKEN, signature, NONCE.subarray(0, 31))).toBeUndefined()
    expect(() => hubNonceMessage(TOKEN, Buffer.alloc(33))).toThrow(RangeError)
  })
})

describe('X-Sonar-Nonce', () => {
  it('is 32 fresh bytes, 43 base64url characters, on the dial that carries one', () => {
    const a = newHubNonce()
    const b = newHubNonce()
    expect(a.length).toBe(32)
    expect(a.equals(b)).toBe(false)
    const headers = hubHeaders({ token: TOKEN, protocolVersion: '0.17.0', userAgent: 'ua', hubNonce: a })
    expect(headers['X-Sonar-Nonce']).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(parseHubNonceHeader(headers['X-Sonar-Nonce'])).toEqual({ ok: true, nonce: a })
    expect(Object.keys(hubHeaders({ token: TOKEN, protocolVersion: '0.17.0', userAgent: 'ua' }))).toEqual(['X-Token', 'X-Beszel', 'X-Sonar', 'User-Agent'])
  })

  it('the hub accepts only one canonical value; absent means the token form', () => {
    expect(parseHubNonceHeader(undefined)).toEqual({ ok: true, nonce: undefined })
    const good = encodeHubNonce(NONCE)
    expect(good.endsWith('8')).toBe(true)
    expect(Buffer.from(`${good.slice(0, -1)}9`, 'base64url').equals(NONCE)).toBe(true)
    for (const bad of [
      '',
      good.slice(1),
      `${good}=`,
      `${good}A`,
      good.replace('A', '+'),
      // the last character's unused bits set: the same bytes, but not the canonical spelling
      `${good.slice(0, -1)}9`,
      `${good}, ${good}`,
      [good, good],
    ]) {
      expect(parseHubNonceHeader(bad).ok, JSON.stringify(bad)).toBe(false)
    }
    expect(parseHubNonceHeader([good])).toEqual({ ok: true, nonce: NONCE })
  })

  it('the dev hub signs with any Ed25519 key in the same two forms', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519')
    const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url')
    const own = parseAuthorizedKeys(`ssh-ed25519 ${ed25519Blob(raw).toString('base64')}`)
    const nonce = newHubNonce()
    expect(signHubChallenge(privateKey, 'tok', nonce)).toEqual(sign(null, Buffer.concat([HUB_NONCE_DOMAIN, Buffer.from('tok'), nonce]), privateKey))
    expect(verifyHubSignature(own, 'tok', signHubChallenge(privateKey, 'tok', nonce), nonce)).toBe(own[0])
    expect(verifyHubSignature(own, 'tok', signHubChallenge(privateKey, 'tok'))).toBe(own[0])
  })
})
