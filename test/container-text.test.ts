/**
 * Container text from the engines crosses into the core as JS strings, which may hold lone
 * surrogates (a JSON "\ud800" escape from an odd engine). The hub rejects a whole payload over one
 * invalid UTF-8 byte (beszel-v0.18.md §0): the N-API string conversion must turn each into U+FFFD,
 * keeping the container and the message.
 */
import { Decoder } from 'cbor-x'
import { describe, expect, it } from 'vitest'
import { openCollector } from '../ts/collector.js'
import type { ContainerSampleInput } from '../ts/containers/types.js'

/** Every CBOR text string in `bytes`, each checked with a strict UTF-8 decoder. */
function texts(bytes: Uint8Array): string[] {
  const strict = new TextDecoder('utf-8', { fatal: true })
  const out: string[] = []
  const item = (at: number): number => {
    const head = bytes[at] as number
    const major = head >> 5
    const info = head & 0x1f
    let i = at + 1
    let arg = info
    if (info >= 24 && info <= 27) {
      const n = 1 << (info - 24)
      arg = 0
      for (let k = 0; k < n; k++) arg = arg * 256 + (bytes[i + k] as number)
      i += n
    } else if (info > 27) throw new Error(`unexpected additional info ${info}`)
    switch (major) {
      case 0:
      case 1:
      case 7:
        return i
      case 2:
        return i + arg
      case 3:
        out.push(strict.decode(bytes.subarray(i, i + arg)))
        return i + arg
      case 4:
        for (let k = 0; k < arg; k++) i = item(i)
        return i
      case 5:
        for (let k = 0; k < arg * 2; k++) i = item(i)
        return i
      default:
        return item(i)
    }
  }
  expect(item(0)).toBe(bytes.length)
  return out
}

const container = (over: Partial<ContainerSampleInput>): ContainerSampleInput => ({
  id: 'ab'.repeat(32),
  name: 'web',
  image: 'nginx',
  status: 'Up 2 hours',
  ports: [],
  cpuTotal: 1000,
  cpuSystem: 5000,
  onlineCpus: 2,
  memUsage: 4096,
  memInactiveFile: 0,
  memCache: 0,
  netRx: 1,
  netTx: 2,
  ...over,
})

describe('container text with lone surrogates', () => {
  it('each becomes U+FFFD in the CBOR: name, image, status, ports, health; the container stays', async () => {
    const collector = openCollector({})
    const cbor = await collector.collect({
      cacheTimeMs: 0,
      containers: [
        container({ name: 'we\ud800b', image: 'img\udfff', status: 'Up \udc00 2 hours', ports: [{ ip: 'fd00::\ud83d', publicPort: 80 }], health: 'healthy\ud800' }),
        container({ id: 'cd'.repeat(32), name: 'clean' }),
      ],
    })
    const strings = texts(cbor)
    expect(strings).toContain('we\ufffdb')
    const decoded = new Decoder({ mapsAsObjects: false, useRecords: false } as never).decode(cbor) as Map<number, unknown>
    const items = decoded.get(2) as Map<number, unknown>[]
    expect(items.map((c) => c.get(0))).toEqual(['we\ufffdb', 'clean'])
    const odd = items[0] as Map<number, unknown>
    expect(odd.get(8)).toBe('img\ufffd')
    expect(odd.get(6)).toBe('Up \ufffd 2 hours')
    expect(odd.get(10)).toBe('fd00::\ufffd:80')
    // an unknown health word: the status text decides (no "(healthy)" there)
    expect(odd.get(5)).toBe(0)
  })
})
