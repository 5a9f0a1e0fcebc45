/**
 * The real addon against the real machine: decodes collect() with cbor-x and checks every
 * always-present key, the wire types, and agreement with the kernel's own numbers.
 */
import { readFileSync, statfsSync } from 'node:fs'
import { cpus, hostname, release } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { Decoder } from 'cbor-x'
import { beforeAll, describe, expect, it } from 'vitest'
import { openCollector, type Collector } from '../ts/collector.js'

const GIB = 1024 ** 3
const decoder = new Decoder({ mapsAsObjects: false, int64AsNumber: true } as ConstructorParameters<typeof Decoder>[0])

type CborMap = Map<number | string, unknown>

function decode(bytes: Buffer): CborMap {
  const value: unknown = decoder.decode(bytes)
  expect(value).toBeInstanceOf(Map)
  return value as CborMap
}

function map(value: unknown): CborMap {
  expect(value).toBeInstanceOf(Map)
  return value as CborMap
}

function num(m: CborMap, key: number): number {
  const v = m.get(key)
  expect(typeof v, `key ${key}`).toBe('number')
  return v as number
}

function meminfo(): Record<string, number> {
  const out: Record<string, number> = {}
  for (const line of readFileSync('/proc/meminfo', 'utf8').split('\n')) {
    const match = /^(\w+):\s+(\d+)/.exec(line)
    if (match?.[1] && match[2]) out[match[1]] = Number(match[2]) * 1024
  }
  return out
}

let collector: Collector

beforeAll(async () => {
  collector = openCollector({})
  // Two samples a second apart so rates and CPU have a baseline.
  await collector.collect({ cacheTimeMs: 1000 })
  await sleep(1000)
})

describe('collect() on this machine', () => {
  it('is CBOR CombinedData: stats, info, null containers', async () => {
    const bytes = await collector.collect({ cacheTimeMs: 1000 })
    expect(Buffer.isBuffer(bytes)).toBe(true)
    // map(3) {0: map, …}; the first Stats field is cpu as an 8-byte float (fb)
    expect(bytes[0]).toBe(0xa3)
    expect(bytes[1]).toBe(0x00)
    expect(bytes[3]).toBe(0x00)
    expect(bytes[4]).toBe(0xfb)
    const data = decode(bytes)
    expect([...data.keys()].sort()).toEqual([0, 1, 2])
    expect(data.get(2)).toBeNull()
  })

  it('sets every always-present Stats key with the right types', async () => {
    const stats = map(decode(await collector.collect({ cacheTimeMs: 1000 })).get(0))
    for (const key of [0, 2, 3, 4, 5, 9, 10, 11, 12, 13, 16, 17]) num(stats, key)
    const la = stats.get(28)
    expect(Array.isArray(la) && la.length === 3).toBe(true)
    const cpus34 = stats.get(34)
    expect(cpus34, 'per-core usage is a CBOR byte string').toBeInstanceOf(Uint8Array)
    expect((cpus34 as Uint8Array).length).toBe(cpus().length)
    const breakdown = stats.get(33) as number[]
    expect(breakdown).toHaveLength(5)
    for (const pct of [num(stats, 0), ...breakdown]) {
      expect(pct).toBeGreaterThanOrEqual(0)
      expect(pct).toBeLessThanOrEqual(100)
    }
    if (stats.has(29)) expect(stats.get(29)).toBeInstanceOf(Uint8Array)
  })

  it('sets every always-present Info key', async () => {
    const info = map(decode(await collector.collect({ cacheTimeMs: 1000 })).get(1))
    expect(info.get(0)).toBe(hostname())
    expect(info.get(1)).toBe(release())
    expect(info.get(10)).toBe('0.17.0')
    expect(info.get(14)).toBe(0)
    expect(typeof info.get(4)).toBe('string')
    for (const key of [2, 5, 6, 7, 8, 9, 18]) num(info, key)
    const logical = cpus().length
    const cores = num(info, 2)
    expect(cores).toBeGreaterThan(0)
    expect(cores).toBeLessThanOrEqual(logical)
    if (info.has(3)) expect(info.get(3)).toBe(logical)
  })

  it('agrees with /proc/meminfo', async () => {
    const stats = map(decode(await collector.collect({ cacheTimeMs: 1000 })).get(0))
    const mem = meminfo()
    const total = mem.MemTotal ?? 0
    const available = mem.MemAvailable ?? 0
    expect(num(stats, 2)).toBeCloseTo(total / GIB, 2)
    expect(Math.abs(num(stats, 3) - (total - available) / GIB)).toBeLessThan(0.05)
    expect(Math.abs(num(stats, 4) - ((total - available) / total) * 100)).toBeLessThan(1)
    const swap = (mem.SwapTotal ?? 0) / GIB
    expect((stats.get(7) as number | undefined) ?? 0).toBeCloseTo(Math.round(swap * 100) / 100, 2)
  })

  it("agrees with statvfs('/')", async () => {
    const stats = map(decode(await collector.collect({ cacheTimeMs: 1000 })).get(0))
    const fs = statfsSync('/')
    const total = fs.blocks * fs.bsize
    const used = (fs.blocks - fs.bfree) * fs.bsize
    expect(num(stats, 9)).toBeCloseTo(total / GIB, 1)
    expect(Math.abs(num(stats, 10) - used / GIB)).toBeLessThan(0.05)
    const pct = (used / (used + fs.bavail * fs.bsize)) * 100
    expect(Math.abs(num(stats, 11) - pct)).toBeLessThan(0.1)
  })

  it('agrees with /proc/loadavg and /proc/uptime', async () => {
    const data = decode(await collector.collect({ cacheTimeMs: 0 }))
    const la = map(data.get(0)).get(28) as number[]
    const expected = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number)
    la.forEach((value, i) => expect(Math.abs(value - (expected[i] ?? 0))).toBeLessThan(0.05))
    const uptime = Number.parseFloat(readFileSync('/proc/uptime', 'utf8'))
    expect(Math.abs(num(map(data.get(1)), 5) - uptime)).toBeLessThanOrEqual(2)
  })

  it('serves an identical payload within half the cache time, a new one after', async () => {
    const a = await collector.collect({ cacheTimeMs: 60000 })
    const b = await collector.collect({ cacheTimeMs: 60000 })
    expect(b.equals(a)).toBe(true)
    expect(collector.isFresh(60000)).toBe(true)
    expect(collector.isFresh(0)).toBe(false)
    const c = await collector.collect({ cacheTimeMs: 1000 })
    await sleep(100)
    expect((await collector.collect({ cacheTimeMs: 1000 })).equals(c)).toBe(true)
    // past half the cache time the payload is collected again (uptime alone has moved on)
    await sleep(1100)
    expect(collector.isFresh(1000)).toBe(false)
    expect((await collector.collect({ cacheTimeMs: 1000 })).equals(c)).toBe(false)
  })

  it('snapshot() is the same data with JSON names', async () => {
    const snap = await collector.snapshot({ cacheTimeMs: 60000 })
    const cbor = decode(await collector.collect({ cacheTimeMs: 60000 }))
    const stats = map(cbor.get(0))
    expect(snap.stats.cpu).toBe(stats.get(0))
    expect(snap.stats.m).toBe(stats.get(2))
    expect(snap.info.v).toBe('0.17.0')
    expect(snap.container).toBeNull()
    expect(Array.isArray(snap.stats.cpus)).toBe(true)
  })

  it('rejects a bad cache time without touching the agent', async () => {
    await expect(collector.collect({ cacheTimeMs: 70000 })).rejects.toThrow(/cacheTimeMs/)
    await expect(collector.collect({ cacheTimeMs: 1.5 })).rejects.toThrow(/cacheTimeMs/)
    await expect(collector.collect({ cacheTimeMs: 1000 })).resolves.toBeInstanceOf(Buffer)
  })

  it('keeps the event loop free while collecting', async () => {
    let ticks = 0
    const timer = setInterval(() => ticks++, 1)
    await Promise.all(Array.from({ length: 20 }, () => collector.collect({ cacheTimeMs: 0 })))
    await sleep(20)
    clearInterval(timer)
    expect(ticks).toBeGreaterThan(0)
  })
})

describe('settings reach the core', () => {
  it('a bad value stops with a message naming the setting and an example', () => {
    expect(() => openCollector({ DISK_USAGE_CACHE: 'soon' })).toThrow(/DISK_USAGE_CACHE="soon".*DISK_USAGE_CACHE=15m/)
  })

  it('SENSORS="" and a NICS allow list are honoured', async () => {
    const c = openCollector({ SONAR_AGENT_NICS: 'nonexistent0', SENSORS: '' })
    const snap = await c.snapshot({ cacheTimeMs: 0 })
    expect(snap.stats.ni).toBeUndefined()
    expect(snap.stats.t).toBeUndefined()
    openCollector({})
  })
})
