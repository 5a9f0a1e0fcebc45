/**
 * The envelope codec against the spec's worked examples (protocol.md §2.14 a–d, §3.4) byte for byte,
 * and decodeRequest against hostile input: whatever arrives ends as a HubRequest or a ProtocolError.
 */
import { createPrivateKey, sign } from 'node:crypto'
import { Decoder } from 'cbor-x'
import { describe, expect, it } from 'vitest'
import {
  MAX_FRAME_BYTES,
  ProtocolError,
  RawCbor,
  decodeRequest,
  decodeResponse,
  encodeLegacyPayload,
  encodeRequest,
  encodeResponse,
  type HubRequest,
} from '../ts/protocol/envelope.js'

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const bin = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex')

// protocol.md §2.14: RFC 8032 test key 1 signs the token
const TOKEN = '6f1c2b0e-1d3a-4b5c-8d9e-0f1a2b3c4d5e'
const SEED = bin('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60')
const SIGNATURE_HEX =
  '82da8e128b7738e9b225a7081fccc51b1ddd33bab4b6b38f333ac0b8446b5586a52fc73cba0d6eda755139412c31673c009e77c9912c7a04233fd642dfb5c407'
const FINGERPRINT = 'a23d006bb020a81dfd1afa15968e07dcae8a9e0016934b97'

function signToken(token: string): Buffer {
  const pkcs8 = Buffer.concat([bin('302e020100300506032b657004220420'), SEED])
  return sign(null, Buffer.from(token, 'utf8'), createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }))
}

/** Go-style CBOR pieces for hand-building the example (d) payload. */
const f64 = (x: number): string => {
  const b = Buffer.alloc(9)
  b[0] = 0xfb
  b.writeDoubleBE(x, 1)
  return hex(b)
}
const txt = (s: string): string => {
  const bytes = Buffer.from(s, 'utf8')
  return (bytes.length < 24 ? (0x60 + bytes.length).toString(16) : `78${bytes.length.toString(16).padStart(2, '0')}`) + hex(bytes)
}

/** §2.14 (d) CombinedData: Stats (13 keys), Info (14 keys), containers null. */
function exampleDPayload(): Buffer {
  const la = `83${f64(0.1)}${f64(0.2)}${f64(0.3)}`
  const stats = [
    'ad',
    `00${f64(1.5)}`,
    `02${f64(15.5)}`,
    `03${f64(4.2)}`,
    `04${f64(27.1)}`,
    `05${f64(8.1)}`,
    `09${f64(100)}`,
    `0a${f64(40)}`,
    `0b${f64(40)}`,
    `0c${f64(0)}`,
    `0d${f64(0.1)}`,
    `10${f64(0.01)}`,
    `11${f64(0.02)}`,
    `181c${la}`,
  ].join('')
  const info = [
    'ae',
    `00${txt('web-01')}`,
    `01${txt('6.8.0-45-generic')}`,
    '0204',
    '0308',
    `04${txt('Intel(R) Xeon(R) CPU')}`,
    '051a00015180',
    `06${f64(1.5)}`,
    `07${f64(27.1)}`,
    `08${f64(40)}`,
    `09${f64(0.03)}`,
    `0a${txt('0.17.0')}`,
    '0e00',
    '1219' + (31457).toString(16).padStart(4, '0'),
    `13${la}`,
  ].join('')
  return bin(`a3 00${stats} 01${info} 02f6`)
}

describe('worked examples, protocol.md §2.14', () => {
  it('signature over the token is the spec example', () => {
    expect(hex(signToken(TOKEN))).toBe(SIGNATURE_HEX)
  })

  it('(a) CheckFingerprint request, id 1, 76 bytes', () => {
    const frame = encodeRequest({ action: 1, data: new Map<number, unknown>([[0, signToken(TOKEN)], [1, false]]), id: 1 })
    expect(frame.length).toBe(76)
    expect(hex(frame)).toBe(`a3 0001 01a2 005840${SIGNATURE_HEX} 01f4 0201`.replace(/\s+/g, ''))
    // a plain Uint8Array signature is a byte string too, not cbor-x's tag 64
    const fromUint8 = encodeRequest({ action: 1, data: new Map<number, unknown>([[0, new Uint8Array(signToken(TOKEN))], [1, true]]), id: 1 })
    expect(hex(fromUint8)).toBe(`a3 0001 01a2 005840${SIGNATURE_HEX} 01f5 0201`.replace(/\s+/g, ''))
  })

  it('(a) decodes back into action, data and id', () => {
    const request = decodeRequest(bin(`a3 0001 01a2 005840${SIGNATURE_HEX} 01f4 0201`))
    expect(request.action).toBe(1)
    expect(request.id).toBe(1)
    const data = request.data as Map<number, unknown>
    expect(hex(data.get(0) as Uint8Array)).toBe(SIGNATURE_HEX)
    expect(data.get(1)).toBe(false)
  })

  it('(b) fingerprint reply, 56 bytes', () => {
    const reply = encodeResponse(1, { kind: 'fingerprint', fingerprint: FINGERPRINT })
    expect(reply.length).toBe(56)
    expect(hex(reply)).toBe(`a2 0001 02a1 007830${Buffer.from(FINGERPRINT).toString('hex')}`.replace(/\s+/g, ''))
  })

  it('(b) fingerprint reply with sysinfo; empty fields omitted', () => {
    const full = encodeResponse(1, { kind: 'fingerprint', fingerprint: FINGERPRINT, hostname: 'web-01', port: '45876', name: 'Web 01' })
    expect(hex(full)).toBe(
      `a20001 02a4 00${txt(FINGERPRINT)} 01${txt('web-01')} 02${txt('45876')} 03${txt('Web 01')}`.replace(/\s+/g, ''),
    )
    const noPort = encodeResponse(1, { kind: 'fingerprint', fingerprint: FINGERPRINT, hostname: 'web-01', port: '', name: undefined })
    expect(hex(noPort)).toBe(`a20001 02a2 00${txt(FINGERPRINT)} 01${txt('web-01')}`.replace(/\s+/g, ''))
  })

  const getData: [string, HubRequest, string][] = [
    ['0.17.0 first poll (11 bytes)', { action: 0, data: new Map([[0, 60000]]), id: 2 }, 'a3 00 00 01 a1 00 19 ea 60 02 02'],
    ['0.18.x first poll (13 bytes)', { action: 0, data: new Map<number, unknown>([[0, 60000], [1, true]]), id: 2 }, 'a3 00 00 01 a2 00 19 ea 60 01 f5 02 02'],
    ['0.18.x later poll', { action: 0, data: new Map<number, unknown>([[0, 60000], [1, false]]), id: 3 }, 'a3 00 00 01 a2 00 19 ea 60 01 f4 02 03'],
    ['realtime, id 57', { action: 0, data: new Map([[0, 1000]]), id: 57 }, 'a3 00 00 01 a1 00 19 03 e8 02 18 39'],
    ['SSH GetData, no id', { action: 0, data: new Map([[0, 60000]]), id: undefined }, 'a2 00 00 01 a1 00 19 ea 60'],
    ['SMART, no data', { action: 4, data: undefined, id: 9 }, 'a2 00 04 02 09'],
    ['SSH SMART', { action: 4, data: undefined, id: undefined }, 'a1 00 04'],
    ['logs', { action: 2, data: new Map([[0, 'abc123def456']]), id: 5 }, `a3 0002 01a1 00${txt('abc123def456')} 0205`],
  ]
  for (const [name, request, bytes] of getData) {
    it(`(c) ${name}`, () => {
      const frame = encodeRequest(request)
      expect(hex(frame)).toBe(bytes.replace(/\s+/g, ''))
      const back = decodeRequest(frame)
      expect(back.action).toBe(request.action)
      expect(back.id).toBe(request.id)
      expect(back.data).toEqual(request.data)
    })
  }

  it('(c) raw Data is written as-is', () => {
    expect(hex(encodeRequest({ action: 0, data: new RawCbor(bin('a10019ea60')), id: 2 }))).toBe('a3000001a10019ea600202')
  })

  it('(d) GetData reply envelope around a CombinedData payload, 302 bytes', () => {
    const payload = exampleDPayload()
    const reply = encodeResponse(2, { kind: 'data', cbor: payload })
    expect(reply.length).toBe(302)
    expect(hex(reply).startsWith('a2000201a300ad00fb3ff8000000000000')).toBe(true)
    expect(reply.subarray(4).equals(payload)).toBe(true)
    expect(hex(reply.subarray(-2))).toBe('02f6')
    const decoded = new Decoder({ mapsAsObjects: false } as ConstructorParameters<typeof Decoder>[0]).decode(reply) as Map<number, Map<number, unknown>>
    expect(decoded.get(0)).toBe(2)
    expect((decoded.get(1)?.get(1) as Map<number, unknown>).get(0)).toBe('web-01')
  })

  it('§3.4 SSH error answer and other response keys', () => {
    expect(hex(encodeResponse(undefined, { kind: 'error', message: 'unsupported action' }))).toBe(`a1 03 72${Buffer.from('unsupported action').toString('hex')}`.replace(/\s+/g, ''))
    expect(hex(encodeResponse(7, { kind: 'string', text: '' }))).toBe('a2000704 60'.replace(/\s+/g, ''))
    expect(hex(encodeResponse(7, { kind: 'error', message: '' }))).toBe(`a2000703${txt('error')}`)
    expect(hex(encodeResponse(7, { kind: 'smart', devices: new Map([['S1', new Map([[0, 1]])]]), complete: true }))).toBe(
      `a30007 05a1${txt('S1')}a10001 08f5`.replace(/\s+/g, ''),
    )
    expect(hex(encodeResponse(70000, { kind: 'service', info: new Map([['Id', 'nginx.service']]) }))).toBe(
      `a2 00 1a00011170 06a1 ${txt('Id')}${txt('nginx.service')}`.replace(/\s+/g, ''),
    )
    expect(hex(encodeResponse(0xffffffff, { kind: 'error', message: 'x' }))).toBe(`a2 00 1affffffff 03 6178`.replace(/\s+/g, ''))
  })

  it('§4 (v0.18) SmartComplete: the core\'s map under key 5, then key 8 = true; never with an empty map', () => {
    const map = Buffer.from(`a1${txt('S1')}a10001`, 'hex')
    expect(hex(encodeResponse(7, { kind: 'smartRaw', cbor: map, complete: true }))).toBe(`a30007 05a1${txt('S1')}a10001 08f5`.replace(/\s+/g, ''))
    expect(hex(encodeResponse(7, { kind: 'smartRaw', cbor: map, complete: false }))).toBe(`a20007 05a1${txt('S1')}a10001`.replace(/\s+/g, ''))
    expect(hex(encodeResponse(undefined, { kind: 'smartRaw', cbor: map, complete: true }))).toBe(`a2 05a1${txt('S1')}a10001 08f5`.replace(/\s+/g, ''))
    // a hub does nothing with an empty answer, complete or not: Go's omitempty leaves the id alone
    expect(hex(encodeResponse(7, { kind: 'smartRaw', cbor: Buffer.from([0xa0]), complete: true }))).toBe('a10007')
  })

  it('rejects ids that are not uint32 when encoding', () => {
    expect(() => encodeResponse(-1, { kind: 'error', message: 'x' })).toThrow(RangeError)
    expect(() => encodeResponse(2 ** 32, { kind: 'error', message: 'x' })).toThrow(RangeError)
    expect(() => encodeRequest({ action: 0.5, data: undefined, id: 1 })).toThrow(RangeError)
  })

  it('legacy bare payloads for id-less WebSocket requests', () => {
    const payload = exampleDPayload()
    expect(encodeLegacyPayload({ kind: 'data', cbor: payload })?.equals(payload)).toBe(true)
    expect(hex(encodeLegacyPayload({ kind: 'fingerprint', fingerprint: 'ab' }) ?? Buffer.alloc(0))).toBe(`a100${txt('ab')}`)
    expect(encodeLegacyPayload({ kind: 'error', message: 'x' })).toBeUndefined()
  })

  it('decodeResponse reads what encodeResponse writes', () => {
    const reply = decodeResponse(encodeResponse(4, { kind: 'error', message: 'boom' }))
    expect(reply.id).toBe(4)
    expect(reply.error).toBe('boom')
    const fp = decodeResponse(encodeResponse(1, { kind: 'fingerprint', fingerprint: FINGERPRINT, name: 'n' }))
    expect((fp.fields.get(2) as Map<number, unknown>).get(3)).toBe('n')
  })
})

/** Every call must end in a HubRequest or a ProtocolError, nothing else. */
function outcome(frame: Uint8Array): HubRequest | ProtocolError {
  try {
    return decodeRequest(frame)
  } catch (error) {
    if (error instanceof ProtocolError) return error
    throw new Error(`decodeRequest threw ${String(error)} for ${hex(frame).slice(0, 200)}`)
  }
}

function rejected(frame: Uint8Array | string, pattern?: RegExp): ProtocolError {
  const result = outcome(typeof frame === 'string' ? bin(frame) : frame)
  expect(result).toBeInstanceOf(ProtocolError)
  if (pattern) expect((result as ProtocolError).message).toMatch(pattern)
  return result as ProtocolError
}

describe('decodeRequest rejects what is not a request', () => {
  it('empty, non-binary and oversized frames', () => {
    rejected(new Uint8Array(0), /empty/)
    expect(outcome('a100' as unknown as Uint8Array)).toBeInstanceOf(ProtocolError)
    rejected(Buffer.alloc(MAX_FRAME_BYTES + 1), /exceeds/)
  })

  it('trailing bytes after the item', () => {
    rejected('a10000 00', /trailing/)
    rejected('a10000a10000', /trailing/)
  })

  it('items that are not maps', () => {
    rejected('00', /not a CBOR map/)
    rejected('8100', /not a CBOR map/)
    rejected('6161', /not a CBOR map/)
    rejected('f6', /not a CBOR map/)
  })

  it('keys that are not unsigned integers', () => {
    rejected('a1616100', /unsigned integers/) // "a": 0
    rejected('a12000', /unsigned integers/) // -1: 0
    rejected('a1f90000 00', /unsigned integers/) // 0.0 (half float): 0
    rejected('a1f400', /unsigned integers/)
  })

  it('missing or mistyped action; the id still travels with the error', () => {
    expect(rejected('a10205', /no action/).id).toBe(5)
    expect(rejected('a200200205', /action/).id).toBe(5) // action -1
    expect(rejected('a200616102 05', /action/).id).toBe(5) // action "a"
    expect(rejected('a200f93e000205', /action/).id).toBe(5) // action 1.5
    expect(rejected('a100f5', /action/).id).toBeUndefined()
  })

  it('ids that are not uint32 leave no id to answer with', () => {
    expect(rejected('a20000021b0000000100000000', /uint32/).id).toBeUndefined()
    expect(rejected('a200000261 61', /uint32/).id).toBeUndefined()
    expect(rejected('a2000002 20', /uint32/).id).toBeUndefined()
  })

  it('indefinite-string-with-id: what cbor-x cannot decode (indefinite-length strings) keeps its id for the error answer', () => {
    // the well-formedness check accepts these; cbor-x refuses them, so the id is read by hand first
    const cases = [
      'a3 0000 01 7f 6161 6162 ff 0205', // data: (_ "a", "b")
      'a3 0002 01 a1 00 7f 6161 ff 0205', // GetContainerLogs {0: (_ "a")}
      'a3 0000 01 5f 4101 ff 0205', // data: (_ h'01')
      'a3 0000 01 a1 7f 6161 ff 00 0205', // an indefinite text as a nested key
      'bf 00 00 01 9f 7f 6161 ff ff 02 05 ff', // indefinite map and array around it
      'a3 0205 0000 01 7f 6161 ff', // the id before the rest
    ]
    for (const frame of cases) {
      const error = rejected(frame, /^malformed CBOR: /)
      expect(error.id, frame).toBe(5)
    }
  })

  it('float-id-refused: ids (and actions) must be CBOR unsigned integers, not floats that cbor-x turns into integers', () => {
    for (const id of ['f98000', 'f90000', 'f963d0', 'fa447a0000', 'fb408f400000000000', 'fb0000000000000000']) {
      // -0.0, 0.0, 1000.0 as half, single and double, 0.0 as double
      expect(rejected(`a2 0000 02 ${id}`, /request id \(key 2\) is not a uint32/).id, id).toBeUndefined()
    }
    expect(rejected('a2 00f93c00 0205', /action \(key 0\) is not an unsigned integer/).id).toBe(5) // action 1.0
    expect(rejected('a2 00fb0000000000000000 0205', /action/).id).toBe(5) // action 0.0
    // hub side alike
    expect(() => decodeResponse(bin('a2 00f963d0 0361 78'))).toThrow(/response id \(key 0\) is not a uint32/)
    expect(decodeResponse(bin('a2 001903e8 0361 78')).id).toBe(1000)
  })

  it('truncated frames, every prefix of a real request', () => {
    const frame = encodeRequest({ action: 1, data: new Map<number, unknown>([[0, signToken(TOKEN)], [1, false]]), id: 1 })
    for (let n = 1; n < frame.length; n++) rejected(frame.subarray(0, n))
  })

  it('huge declared lengths are refused before anything is allocated', () => {
    rejected('a100 5bffffffffffffffff', /longer than the frame/)
    rejected('a100 7b0000000100000000', /longer than the frame/)
    rejected('a100 9bffffffffffffffff', /longer than the frame/)
    rejected('bbffffffffffffffff', /longer than the frame/)
    rejected('a100 9a7fffffff 00', /longer than the frame/)
  })

  it('deep nesting', () => {
    rejected(Buffer.concat([bin('a20000 01'), Buffer.alloc(100_000, 0x81), bin('00')]), /deeper/)
    rejected(Buffer.concat([Buffer.alloc(50_000, 0xa1).map((_, i) => (i % 2 ? 0x00 : 0xa1)), bin('0000')]))
    rejected(Buffer.concat([bin('a20000 01'), Buffer.alloc(100_000, 0x9f)]))
  })

  it('tags, unassigned simple values, reserved and stray break bytes', () => {
    rejected('a20000 01 c11a00000000', /tags/) // epoch date
    rejected('a20000 01 d81c 00', /tags/) // shared reference
    rejected('a20000 01 d840 4100', /tags/) // typed array
    rejected('a20000 01 f0', /simple/)
    rejected('a20000 01 f820', /simple/)
    rejected('a20000 01 1c', /reserved/)
    rejected('a20000 01 ff', /break/)
    rejected('a20000 01 1f', /indefinite-length integer/)
  })

  it('duplicate keys and invalid UTF-8', () => {
    rejected('a2 0000 0001', /duplicate/)
    rejected('a20000 01a2 6161 00 6161 01', /duplicate/)
    rejected('a20000 01 62c328', /UTF-8/)
    rejected('a20000 01 7f 61 61 41 00 ff', /chunk/)
  })

  it('text frames handed over as bytes', () => {
    for (const text of ['hello', '{"action":0,"id":1}', 'GET / HTTP/1.1\r\n', '', '\u0000', '💥']) {
      expect(outcome(Buffer.from(text, 'utf8'))).toBeInstanceOf(ProtocolError)
    }
  })

  it('accepts what Go would send differently but validly', () => {
    // indefinite-length map and data, non-shortest integers, unknown key 3 ignored
    const indefinite = decodeRequest(bin('bf 00 00 01 bf 00 19ea60 ff 02 02 ff'))
    expect(indefinite).toEqual({ action: 0, data: new Map([[0, 60000]]), id: 2 })
    expect(decodeRequest(bin('a3 1800 00 1b0000000000000002 05 03 f5'))).toEqual({ action: 0, data: undefined, id: 5 })
    expect(decodeRequest(bin('a2 000d 021affffffff'))).toEqual({ action: 13, data: undefined, id: 0xffffffff })
    expect(decodeRequest(bin('a1 00 1b00000000ffffffff')).action).toBe(0xffffffff)
  })
})

describe('decodeRequest fuzz', () => {
  // xorshift32: deterministic so a failure reproduces
  function rng(seed: number): () => number {
    let s = seed >>> 0 || 1
    return () => {
      s ^= s << 13
      s >>>= 0
      s ^= s >>> 17
      s ^= s << 5
      s >>>= 0
      return s
    }
  }

  it('random bytes', () => {
    const next = rng(0x5eed)
    for (let i = 0; i < 20_000; i++) {
      const frame = Buffer.alloc(1 + (next() % 64))
      for (let j = 0; j < frame.length; j++) frame[j] = next() & 0xff
      outcome(frame)
    }
  })

  it('random bytes behind a plausible map head', () => {
    const next = rng(42)
    for (let i = 0; i < 20_000; i++) {
      const frame = Buffer.alloc(2 + (next() % 40))
      for (let j = 0; j < frame.length; j++) frame[j] = next() & 0xff
      frame[0] = 0xa0 | (next() % 4)
      frame[1] = next() % 3
      outcome(frame)
    }
  })

  it('bit flips and splices of valid requests', () => {
    const next = rng(7)
    const seeds = [
      encodeRequest({ action: 1, data: new Map<number, unknown>([[0, signToken(TOKEN)], [1, true]]), id: 1 }),
      encodeRequest({ action: 0, data: new Map<number, unknown>([[0, 60000], [1, false]]), id: 3 }),
      encodeRequest({ action: 5, data: new Map([[0, 'nginx.service']]), id: 9 }),
      bin('bf 00 00 01 bf 00 19ea60 ff 02 02 ff'),
    ]
    let accepted = 0
    for (let i = 0; i < 30_000; i++) {
      const base = seeds[i % seeds.length] as Buffer
      const frame = Buffer.from(base)
      for (let k = 0; k <= next() % 3; k++) {
        const at = next() % frame.length
        frame[at] = (frame[at] ?? 0) ^ (1 << next() % 8)
      }
      const cut = next() % 4 === 0 ? frame.subarray(0, next() % frame.length) : frame
      if (!(outcome(cut) instanceof ProtocolError)) accepted++
    }
    expect(accepted).toBeGreaterThan(0) // some flips land in payload bytes and stay valid
  })
})

// Found by the frame fuzzer: requests that are well-formed CBOR (RFC 8949) with a readable uint id,
// but outside what the agent accepts, were refused without an id, so the hub waited its full 5 s.
describe('readable-id-answered: a refusal keeps the id whenever the frame is one well-formed item', () => {
  const cases: [string, string, number | undefined][] = [
    ['a tag in Data', 'a3 00 00 01 a1 00 c1 19 03e8 02 19 0258', 600],
    ['a key repeated in Data', 'a3 00 00 01 a2 00 19 03e8 00 19 03e8 02 19 0259', 601],
    ['invalid UTF-8 in a text string', 'a3 00 00 01 a1 00 61 ff 02 19 025a', 602],
    ['an unassigned simple value', 'a3 00 00 01 a1 00 e0 02 19 025c', 604],
    ['a text key at the top level', 'a4 00 00 01 a1 00 19 03e8 02 19 025d 61 78 01', 605],
    ['a float action', 'a3 00 f9 8000 01 a1 00 19 03e8 02 19 01f4', 500],
    ['a float id: no id to answer under', 'a2 00 00 02 f9 3c00', undefined],
    ['not one complete item: no id', 'a3 00 00 01 a1 00', undefined],
    ['a badly encoded simple value (24 < 32) is not well-formed: no id', 'a3 00 00 01 f8 10 02 19 0258', undefined],
  ]
  it.each(cases)('%s', (_name, hex, id) => {
    const frame = Buffer.from(hex.replace(/ /g, ''), 'hex')
    let error: unknown
    try {
      decodeRequest(frame)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ProtocolError)
    expect((error as ProtocolError).id).toBe(id)
  })

  it('Data nested 40 deep (past the strict limit) is still answered under its id', () => {
    let data = Buffer.from([0x19, 0x03, 0xe8])
    for (let i = 0; i < 40; i++) data = Buffer.concat([Buffer.from([0xa1, 0x00]), data])
    const frame = Buffer.concat([Buffer.from([0xa3, 0x00, 0x00, 0x01]), data, Buffer.from([0x02, 0x19, 0x02, 0x5b])])
    expect(() => decodeRequest(frame)).toThrow(ProtocolError)
    try {
      decodeRequest(frame)
    } catch (error) {
      expect((error as ProtocolError).id).toBe(603)
    }
  })
})
