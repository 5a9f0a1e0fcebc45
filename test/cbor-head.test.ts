/**
 * The one CBOR head reader (protocol/cbor.ts readHead) serves the envelope's well-formedness check
 * and the SSH stream scanner; a stream must tell "wait for more bytes" from "never valid".
 */
import { describe, expect, it } from 'vitest'
import { CborFormatError, checkItem, readHead } from '../ts/protocol/cbor.js'
import { CborItemScanner } from '../ts/transport/cbor-item.js'

function thrown(run: () => unknown): CborFormatError {
  try {
    run()
  } catch (error) {
    if (error instanceof CborFormatError) return error
    throw error
  }
  throw new Error('did not throw')
}

describe('readHead', () => {
  it('every argument width', () => {
    expect(readHead(Uint8Array.from([0x17]), 0)).toEqual({ major: 0, info: 23, value: 23, next: 1 })
    expect(readHead(Uint8Array.from([0x38, 0xff]), 0)).toEqual({ major: 1, info: 24, value: 255, next: 2 })
    expect(readHead(Uint8Array.from([0x59, 0x01, 0x00]), 0)).toEqual({ major: 2, info: 25, value: 256, next: 3 })
    expect(readHead(Uint8Array.from([0x7a, 0x00, 0x01, 0x00, 0x00]), 0)).toEqual({ major: 3, info: 26, value: 65536, next: 5 })
    expect(readHead(Uint8Array.from([0x9b, 0, 0, 0, 1, 0, 0, 0, 0]), 0)).toEqual({ major: 4, info: 27, value: 2 ** 32, next: 9 })
    expect(readHead(Uint8Array.from([0x00, 0xbf]), 1)).toEqual({ major: 5, info: 31, value: -1, next: 2 })
  })

  it('a head cut short is truncated, also short of `end` inside a larger buffer', () => {
    expect(thrown(() => readHead(Uint8Array.from([]), 0))).toMatchObject({ message: 'truncated CBOR item', truncated: true })
    expect(thrown(() => readHead(Uint8Array.from([0x19, 0x01]), 0))).toMatchObject({ truncated: true })
    const roomy = Uint8Array.from([0x19, 0x01, 0x02, 0x00])
    expect(readHead(roomy, 0, 3).value).toBe(0x0102)
    expect(thrown(() => readHead(roomy, 0, 2))).toMatchObject({ truncated: true })
  })

  it('reserved additional information is malformed, not truncated', () => {
    for (const info of [28, 29, 30]) {
      expect(thrown(() => readHead(Uint8Array.from([info]), 0))).toMatchObject({ message: `reserved CBOR additional information ${info}`, truncated: false })
    }
  })

  it('the stream scanner and the frame check agree where an item ends', () => {
    const items = [
      [0x00],
      [0x1b, 1, 2, 3, 4, 5, 6, 7, 8],
      [0x43, 1, 2, 3],
      [0x7f, 0x61, 0x61, 0x62, 0x62, 0x63, 0xff],
      [0x82, 0x01, 0x9f, 0x02, 0xff],
      [0xa2, 0x00, 0xa1, 0x01, 0xf5, 0x01, 0x59, 0x00, 0x02, 0xaa, 0xbb],
      [0xbf, 0x00, 0xfb, 0, 0, 0, 0, 0, 0, 0, 0, 0xff],
    ]
    for (const item of items) {
      const bytes = Uint8Array.from([...item, 0x00]) // a trailing byte the scanner must not take
      const end = checkItem(bytes, 0)
      const scanner = new CborItemScanner(1024)
      let result = scanner.push(bytes.subarray(0, 1))
      for (let i = 1; i < bytes.length && result.state === 'incomplete'; i++) result = scanner.push(bytes.subarray(i, i + 1))
      expect(result, Buffer.from(item).toString('hex')).toEqual({ state: 'complete', end })
      expect(end).toBe(item.length)
    }
  })
})
