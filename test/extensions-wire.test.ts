/**
 * The wire of SONAR's host actions (docs/extensions.md "Host actions"): the worked example of every
 * action is what the code computes — params, the signed message, the request frame and the answer —
 * and the gate verifies those exact requests.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ReplayGuard, verifyActionRequest } from '../ts/extensions/verify.js'
import { decodeEnvelope, decodeParams } from '../ts/extensions/wire.js'
import { parseAuthorizedKeys } from '../ts/identity/keys.js'
import { EXAMPLE, EXAMPLES, HELLO_SHA, KEY_LINE, exampleFrames } from './helpers/extension-examples.js'

const doc = readFileSync('docs/extensions.md', 'utf8')
const section = doc.slice(doc.indexOf('## Host actions'))
const squeezed = section.replace(/\s+/g, '')

describe('worked examples of docs/extensions.md (host actions)', () => {
  it('the doc names the key, fingerprint, nonce and time the examples use', () => {
    expect(section).toContain(KEY_LINE)
    expect(section).toContain(EXAMPLE.fingerprint)
    expect(section).toContain(String(EXAMPLE.timestampMs))
    expect(section).toContain(EXAMPLE.nonce.toString('hex'))
    expect(Buffer.from(HELLO_SHA, 'hex').length).toBe(32)
  })

  for (const [action, name, params, answer] of EXAMPLES) {
    it(`${action} ${name}: params, signed message, request and answer are the doc's bytes, and the request verifies`, () => {
      const frames = exampleFrames(action, params, answer)
      for (const bytes of [frames.paramBytes, frames.request, frames.reply]) expect(squeezed).toContain(bytes.toString('hex'))
      const envelope = decodeEnvelope(new Map<number, unknown>([[0, frames.paramBytes], [1, EXAMPLE.nonce], [2, EXAMPLE.timestampMs], [3, frames.signature]]))
      expect(envelope.ok).toBe(true)
      if (!envelope.ok) return
      const verdict = verifyActionRequest({ action, envelope: envelope.envelope, fingerprint: EXAMPLE.fingerprint, keys: parseAuthorizedKeys(KEY_LINE), now: EXAMPLE.timestampMs + 1_000, replay: new ReplayGuard() })
      expect(verdict.ok).toBe(true)
      expect(decodeParams(action, frames.paramBytes).ok).toBe(true)
    })
  }

  it('the signed message of the first example is laid out as the doc says', () => {
    const [action, , params, answer] = EXAMPLES[0] ?? [6, '', new Map(), new Map()]
    const { message, paramBytes } = exampleFrames(action, params, answer)
    expect(message.subarray(0, 16).toString('latin1')).toBe('sonar-action-v1\0')
    expect(message[16]).toBe(6)
    expect(message.subarray(17, 33)).toEqual(EXAMPLE.nonce)
    expect(message.readBigUInt64BE(33)).toBe(BigInt(EXAMPLE.timestampMs))
    expect(message[41]).toBe(64)
    expect(message.subarray(42, 106).toString('utf8')).toBe(EXAMPLE.fingerprint)
    expect(message.subarray(106)).toEqual(paramBytes)
    expect(squeezed).toContain(message.toString('hex'))
  })
})
