/**
 * The dev hub's key→name table (ts/hub/payload.ts) against the native core: the same cached sample
 * taken as CBOR (what goes on the wire) and as the core's own JSON must decode to the same object.
 */
import { Decoder, Encoder } from 'cbor-x'
import { describe, expect, it } from 'vitest'
import { openCollector } from '../ts/collector.js'
import { decodeCombinedData } from '../ts/hub/payload.js'

const decoder = new Decoder({ mapsAsObjects: false, int64AsNumber: true } as ConstructorParameters<typeof Decoder>[0])
const encoder = new Encoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false } as ConstructorParameters<typeof Encoder>[0])
/** What the hub sees: bytes through a CBOR decoder. */
const wire = (value: unknown): unknown => decoder.decode(encoder.encode(value))

describe('dev hub payload decoding', () => {
  it('decodes the core CBOR of a sample into exactly the core JSON of that sample', async () => {
    const collector = openCollector({ DOCKER_HOST: '', SMART_DEVICES: '', SKIP_GPU: 'true' })
    await collector.collect({ cacheTimeMs: 60_000 })
    await new Promise((resolve) => setTimeout(resolve, 300))
    // the second call within the cache window answers from the same snapshot in both forms
    const bytes = await collector.collect({ cacheTimeMs: 60_000 })
    const json = await collector.snapshot({ cacheTimeMs: 60_000 })
    const decoded = decodeCombinedData(decoder.decode(bytes))
    if (!decoded.ok) throw new Error(decoded.message)
    expect(decoded.data).toEqual(json)
    expect(decoded.data.stats.cpus?.length).toBeGreaterThan(0)
    expect(typeof decoded.data.info.h).toBe('string')
  })

  it('names every key of the data model: stats, fs, GPUs, containers, services, byte strings', () => {
    const fs = new Map<number, unknown>([[0, 100.5], [1, 20.25], [2, 1.5], [3, 0.5], [6, 1024], [7, 2048], [8, [1, 2, 3, 4, 5, 6]], [99, 'ignored']])
    const gpu = new Map<number, unknown>([[0, 'RTX'], [1, 512.5], [2, 8000], [3, 42], [4, 120.5], [5, new Map([['Render/3D', 12]])], [6, 3]])
    const stats = new Map<number, unknown>([
      [0, 12.5], [2, 31.2], [3, 8.1], [4, 26], [5, 3.3], [6, 1.1], [7, 2], [8, 0.5], [9, 500], [10, 100], [11, 20], [12, 1.25], [13, 2.5],
      [16, 0.1], [17, 0.2], [20, new Map([['cpu_thermal', 48.5]])], [21, new Map([['sdb1', fs]])], [22, new Map([['0', gpu]])],
      [26, [1000, 2000]], [28, [0.5, 0.25, 0.125]], [29, Buffer.from([87, 3])], [31, new Map([['eth0', [1, 2, 3, 4]]])], [32, [10, 20]],
      [33, [1, 2, 3, 4, 90]], [34, Buffer.from([10, 20, 30])], [35, [1, 2, 3, 4, 5, 6]], [36, new Map([['nct_fan1', 1200]])], [37, new Map([['BAT0', 87]])],
      [1, 99], [23, 1],
    ])
    const info = new Map<number, unknown>([
      [0, 'box'], [1, '6.1.0'], [2, 4], [3, 8], [4, 'CPU'], [5, 3600], [6, 12.5], [7, 26], [8, 20], [9, 0.3], [10, '0.17.0'], [11, true],
      [12, 42], [13, 48.5], [14, 0], [18, 3000], [19, [0.5, 0.25, 0.125]], [20, 2], [21, new Map([['sdb1', 20.16]])], [22, [40, 1]], [23, Buffer.from([87, 3])],
    ])
    const container = new Map<number, unknown>([[0, 'web'], [1, 1.5], [2, 64.25], [3, 0.01], [4, 0.02], [5, 2], [6, 'Up 2 minutes'], [7, 'abcdef012345'], [8, 'nginx'], [9, [10, 20]], [10, '80']])
    const service = new Map<number, unknown>([[0, 'nginx'], [1, 0], [2, 0.5], [3, 1048576], [4, 2097152], [5, 1], [6, 3.5]])
    const decoded = decodeCombinedData(wire(new Map<number, unknown>([[0, stats], [1, info], [2, [container]], [3, [service]]])))
    if (!decoded.ok) throw new Error(decoded.message)
    const { stats: s, info: i, container: c, services } = decoded.data
    expect(s).toEqual({
      cpu: 12.5, m: 31.2, mu: 8.1, mp: 26, mb: 3.3, mz: 1.1, s: 2, su: 0.5, d: 500, du: 100, dp: 20, dr: 1.25, dw: 2.5, ns: 0.1, nr: 0.2,
      t: { cpu_thermal: 48.5 },
      efs: { sdb1: { d: 100.5, du: 20.25, r: 1.5, w: 0.5, rb: 1024, wb: 2048, dios: [1, 2, 3, 4, 5, 6] } },
      g: { '0': { n: 'RTX', mu: 512.5, mt: 8000, u: 42, p: 120.5, e: { 'Render/3D': 12 }, pp: 3 } },
      b: [1000, 2000], la: [0.5, 0.25, 0.125], bat: [87, 3], ni: { eth0: [1, 2, 3, 4] }, dio: [10, 20], cpub: [1, 2, 3, 4, 90], cpus: [10, 20, 30],
      dios: [1, 2, 3, 4, 5, 6], f: { nct_fan1: 1200 }, bats: { BAT0: 87 },
    })
    expect(i).toEqual({
      h: 'box', k: '6.1.0', c: 4, t: 8, m: 'CPU', u: 3600, cpu: 12.5, mp: 26, dp: 20, b: 0.3, v: '0.17.0', p: true, g: 42, dt: 48.5, os: 0,
      bb: 3000, la: [0.5, 0.25, 0.125], ct: 2, efs: { sdb1: 20.16 }, sv: [40, 1], bat: [87, 3],
    })
    expect(c).toEqual([{ n: 'web', c: 1.5, m: 64.25, ns: 0.01, nr: 0.02, health: 2, status: 'Up 2 minutes', id: 'abcdef012345', image: 'nginx', b: [10, 20], ports: '80' }])
    expect(services).toEqual([{ n: 'nginx', s: 0, c: 0.5, m: 1048576, mp: 2097152, ss: 1, cp: 3.5 }])
  })

  it('fills Go zero values for what an agent left out, and host facts from Details (key 4)', () => {
    const details = new Map<number, unknown>([[0, 'newbox'], [1, '6.8'], [2, 8], [3, 16], [4, 'EPYC'], [5, 0], [6, 'Debian'], [9, 1234]])
    const decoded = decodeCombinedData(wire(new Map<number, unknown>([[0, new Map([[0, 5]])], [1, new Map([[10, '0.18.8']])], [4, details]])))
    if (!decoded.ok) throw new Error(decoded.message)
    expect(decoded.data.container).toBeNull()
    expect(decoded.data.stats).toMatchObject({ cpu: 5, m: 0, la: [0, 0, 0] })
    expect(decoded.data.info).toMatchObject({ h: 'newbox', k: '6.8', c: 8, t: 16, m: 'EPYC', v: '0.18.8', os: 0 })
    expect('details' in decoded.data).toBe(false)
  })

  it('checks the types the core declares: integer counters, fixed-size arrays', () => {
    const fraction = decodeCombinedData(wire(new Map<number, unknown>([[0, new Map([[31, new Map([['eth0', [1, 2.5, 3, 4]]])]])]])))
    expect(fraction).toEqual({ ok: false, message: expect.stringMatching(/key 0 \(stats\) → 31 \(ni\) → eth0 → 1 must be an unsigned integer/) })
    const short = decodeCombinedData(wire(new Map<number, unknown>([[0, new Map([[35, [1, 2, 3]]])]])))
    expect(short).toEqual({ ok: false, message: expect.stringMatching(/35 \(dios\) must hold 6 values/) })
  })

  it('refuses a wrongly typed value with a message naming the key, as a Go hub fails the whole message', () => {
    const bad = decodeCombinedData(wire(new Map<number, unknown>([[0, new Map([[0, 'high']])], [1, new Map()]])))
    expect(bad).toEqual({ ok: false, message: expect.stringMatching(/key 0 \(stats\) → 0 \(cpu\) must be a number/) })
    const badContainer = decodeCombinedData(wire(new Map<number, unknown>([[0, new Map()], [1, new Map()], [2, [new Map([[5, 2.5]])]]])))
    expect(badContainer.ok).toBe(false)
    if (!badContainer.ok) expect(badContainer.message).toMatch(/container.*health.*unsigned integer/)
    expect(decodeCombinedData('nope')).toEqual({ ok: false, message: expect.stringMatching(/must be a map/) })
  })
})
