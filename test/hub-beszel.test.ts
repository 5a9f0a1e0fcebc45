/**
 * The hub side of Beszel 0.17 and 0.18.8 as the dev hub and the test hub play it (spec
 * beszel-v0.18.md): the GetData options (§2, §8 a), migrateDeprecatedFields (§3.4), SMART records,
 * ids and pruning (§4), the background SMART schedule (§5.2), and the poller that ties them
 * together, driven here by scripted agent answers (no network).
 */
import { describe, expect, it } from 'vitest'
import { dataRequestOptions, hubRules, parseHubVersion, type HubVersion } from '../ts/hub/hub-version.js'
import { detailsFromInfo, migrateDeprecatedFields } from '../ts/hub/migrate.js'
import { decodeAgentData, type HubPayload } from '../ts/hub/payload.js'
import { Poller } from '../ts/hub/poller.js'
import { decodeSmartAnswer, type SmartDataJson } from '../ts/hub/smart-payload.js'
import { applySmartAnswer, fnv1a32, smartRecordId, type SmartDeviceRecord } from '../ts/hub/smart-records.js'
import { SmartFetchLog, smartIntervalMs } from '../ts/hub/smart-schedule.js'
import { HubStore } from '../ts/hub/store.js'
import { silentLogger } from '../ts/log.js'
import type { AgentResponse } from '../ts/protocol/envelope.js'
import { encodeRequest } from '../ts/protocol/envelope.js'
import { Action } from '../ts/protocol/actions.js'

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

// --- scripted agent answers (integer-keyed Maps, as cbor-x decodes a frame) -----------------------

const LEGACY_INFO: [number, unknown][] = [[0, 'web-01'], [1, '6.8.0-45-generic'], [2, 4], [3, 8], [4, 'Intel(R) Xeon(R) E-2236 CPU @ 3.40GHz'], [11, true], [14, 0]]
const REAL_DETAILS: [number, unknown][] = [
  [0, 'web-01'], [1, '6.8.0-45-generic'], [2, 4], [3, 8], [4, 'Intel(R) Xeon(R) E-2236 CPU @ 3.40GHz'], [5, 0],
  [6, 'Ubuntu 24.04.1 LTS'], [7, 'x86_64'], [9, 16633249792], [10, 3_600_000_000_000],
]

interface AgentShape {
  /** Info 0/1/2/4/11/14 as a v0.17 agent fills them */
  legacyInfo: boolean
  /** attach key 4 when asked (false: a reply served from a Go agent's cache, or a v0.17 agent) */
  details: boolean | ((includeDetails: boolean | undefined) => boolean)
  detailsFields?: [number, unknown][]
}

function combinedData(shape: AgentShape, includeDetails: boolean | undefined): Map<number, unknown> {
  const stats = new Map<number, unknown>([[0, 1.5], [2, 15.49], [3, 4.2], [4, 27.1], [12, 0.5], [13, 0.25], [16, 0.1], [17, 0.2], [28, [0.1, 0.2, 0.3]]])
  const info = new Map<number, unknown>([[5, 86400], [6, 1.5], [7, 27.1], [8, 40], [9, 0.5], [10, '0.18.8'], [18, 0], [19, [0.1, 0.2, 0.3]]])
  if (shape.legacyInfo) for (const [key, value] of LEGACY_INFO) info.set(key, value)
  const data = new Map<number, unknown>([[0, stats], [1, info], [2, null]])
  const attach = typeof shape.details === 'function' ? shape.details(includeDetails) : shape.details && includeDetails === true
  if (attach) data.set(4, new Map(shape.detailsFields ?? REAL_DETAILS))
  return data
}

const response = (fields: [number, unknown][]): AgentResponse => ({ id: 2, fields: new Map(fields), error: undefined })

function smartDevice(serial: string, name: string): Map<number, unknown> {
  return new Map<number, unknown>([
    [1, `Model ${serial}`], [2, serial], [3, 'FW1'], [4, 512110190592], [5, 'PASSED'], [6, name], [7, 'nvme'], [8, 40],
    [9, [new Map<number, unknown>([[1, 'PowerOnHours'], [5, 1234]]), new Map<number, unknown>([[1, 'PowerCycles'], [5, 77]])]],
  ])
}

interface FakeAgent {
  requests: { action: number; options?: Map<number, unknown>; timeoutMs?: number }[]
  smart: () => AgentResponse
  failData?: boolean
}

function fakeTransport(shape: AgentShape, agent: FakeAgent) {
  return {
    getData: async (options: Map<number, unknown>) => {
      agent.requests.push({ action: Action.GetData, options })
      if (agent.failData) throw new Error('request 2 (action 0) timed out after 5000 ms')
      return response([[0, 2], [1, combinedData(shape, options.get(1) as boolean | undefined)]])
    },
    getSmartData: async (timeoutMs: number) => {
      agent.requests.push({ action: Action.GetSmartData, timeoutMs })
      return agent.smart()
    },
  }
}

function poller(version: HubVersion, shape: AgentShape, opts: { store?: HubStore; smartLog?: SmartFetchLog; agent?: Partial<FakeAgent>; failures?: string[] } = {}) {
  const agent: FakeAgent = { requests: [], smart: () => response([[0, 3], [5, new Map([['S1', smartDevice('S1', '/dev/nvme0')]])], [8, true]]), ...opts.agent }
  const store = opts.store ?? new HubStore()
  const p = new Poller({
    id: 'sys1',
    store,
    logger: silentLogger,
    version,
    ...(opts.smartLog ? { smartLog: opts.smartLog } : {}),
    transport: fakeTransport(shape, agent),
    onFailure: (reason) => opts.failures?.push(reason),
    intervalMs: 3_600_000,
  })
  return { poller: p, agent, store }
}

/** The IncludeDetails values a poller sent on its GetData requests (undefined: key 1 absent). */
const includeDetails = (agent: FakeAgent) => agent.requests.filter((r) => r.action === Action.GetData).map((r) => r.options?.get(1))
const smartRequests = (agent: FakeAgent) => agent.requests.filter((r) => r.action === Action.GetSmartData)

function payload(shape: AgentShape, ask = true): { data: HubPayload; details: ReturnType<typeof decodeAgentData> } {
  const decoded = decodeAgentData(combinedData(shape, ask))
  if (!decoded.ok) throw new Error(decoded.message)
  return { data: decoded.data, details: decoded }
}

describe('hub versions and their GetData options (§2, §8 a)', () => {
  it('0.18.8 always sends key 1: true until details are stored, false after and on realtime polls — byte for byte', () => {
    const rules = hubRules('0.18.8')
    expect(hex(encodeRequest({ action: 0, data: dataRequestOptions(rules, 60_000, false), id: 2 }))).toBe('a30000' + '01a20019ea6001f5' + '0202')
    expect(hex(encodeRequest({ action: 0, data: dataRequestOptions(rules, 60_000, false), id: undefined }))).toBe('a2000001a20019ea6001f5')
    expect(hex(encodeRequest({ action: 0, data: dataRequestOptions(rules, 60_000, true), id: 9 }))).toBe('a3000001a20019ea6001f40209')
    expect(hex(encodeRequest({ action: 0, data: dataRequestOptions(rules, 1_000, false), id: 57 }))).toBe('a3000001a2001903e801f4021839')
  })

  it('0.17 sends only key 0', () => {
    const rules = hubRules('0.17')
    expect(hex(encodeRequest({ action: 0, data: dataRequestOptions(rules, 60_000, false), id: 2 }))).toBe('a3000001a10019ea600202')
    expect([...dataRequestOptions(rules, 1_000, true).keys()]).toEqual([0])
  })

  it('the rules per version; parseHubVersion takes short and full forms and names the choices', () => {
    expect(hubRules('0.17')).toMatchObject({ includeDetails: false, details: false, smart: 'after-first-write', smartTimeoutMs: 5_000, pruneSmart: false, sshVersion: '0.17.0' })
    expect(hubRules('0.18.8')).toMatchObject({ includeDetails: true, details: true, smart: 'background', smartTimeoutMs: 60_000, pruneSmart: true, sshVersion: '0.18.8' })
    expect(['0.17', 'v0.17.0', '0.18', '0.18.8'].map(parseHubVersion)).toEqual(['0.17', '0.17', '0.18.8', '0.18.8'])
    expect(() => parseHubVersion('0.19')).toThrow(/expected one of 0\.17, 0\.18\.8/)
  })
})

describe('migrateDeprecatedFields (§3.4)', () => {
  it('a v0.18.8 agent: Details stored as sent, Info left as sent', () => {
    const { data, details } = payload({ legacyInfo: false, details: true })
    if (!details.ok) throw new Error('decode')
    const migrated = migrateDeprecatedFields(data, details.details, true)
    expect(migrated).toEqual({
      synthesized: false,
      details: { Hostname: 'web-01', Kernel: '6.8.0-45-generic', Cores: 4, Threads: 8, CpuModel: 'Intel(R) Xeon(R) E-2236 CPU @ 3.40GHz', Os: 0, OsName: 'Ubuntu 24.04.1 LTS', Arch: 'x86_64', MemoryTotal: 16633249792, SmartInterval: 3_600_000_000_000 },
    })
    expect(data.info).toMatchObject({ h: '', c: 0, m: '', os: 0 })
    expect(data.info.k).toBeUndefined()
  })

  it('a v0.17 agent: Details synthesized (no OsName/Arch/SmartInterval, memory from the GiB figure) while not fetched; legacy Info cleared every time', () => {
    const first = payload({ legacyInfo: true, details: false }).data
    const migrated = migrateDeprecatedFields(first, undefined, true)
    expect(migrated).toEqual({
      synthesized: true,
      details: { Hostname: 'web-01', Kernel: '6.8.0-45-generic', Cores: 4, Threads: 8, CpuModel: 'Intel(R) Xeon(R) E-2236 CPU @ 3.40GHz', Os: 0, OsName: '', Arch: '', Podman: true, MemoryTotal: Math.trunc(15.49 * 1024 ** 3) },
    })
    expect(first.info).toMatchObject({ h: '', c: 0, m: '', os: 0, t: 8 })
    expect(first.info.k).toBeUndefined()
    expect(first.info.p).toBeUndefined()

    const later = payload({ legacyInfo: true, details: false }).data
    expect(migrateDeprecatedFields(later, undefined, false)).toEqual({ details: undefined, synthesized: false })
    expect(later.info).toMatchObject({ h: '', c: 0, m: '', os: 0 })
  })

  it('key 4 and Info 0 together: details stored, Info not cleared', () => {
    const { data, details } = payload({ legacyInfo: true, details: true })
    if (!details.ok) throw new Error('decode')
    expect(migrateDeprecatedFields(data, details.details, true).synthesized).toBe(false)
    expect(data.info).toMatchObject({ h: 'web-01', m: 'Intel(R) Xeon(R) E-2236 CPU @ 3.40GHz', c: 4, k: '6.8.0-45-generic', p: true })
  })

  it('neither key 4 nor Info 0: nothing happens', () => {
    const { data } = payload({ legacyInfo: false, details: false })
    expect(migrateDeprecatedFields(data, undefined, true)).toEqual({ details: undefined, synthesized: false })
  })

  it('byte rates from the MiB/s fields when the byte fields are zero', () => {
    const { data } = payload({ legacyInfo: false, details: false })
    migrateDeprecatedFields(data, undefined, true)
    expect(data.stats.b).toEqual([Math.trunc(0.1 * 1024 * 1024), Math.trunc(0.2 * 1024 * 1024)])
    expect(data.info.bb).toBe(Math.trunc(0.5 * 1024 * 1024))
    expect(data.stats.dio).toEqual([Math.trunc(0.5 * 1024 * 1024), Math.trunc(0.25 * 1024 * 1024)])
    // sent byte figures are kept
    const kept = payload({ legacyInfo: false, details: false }).data
    kept.stats.b = [5, 6]
    kept.stats.dio = [7, 8]
    kept.info.bb = 9
    migrateDeprecatedFields(kept, undefined, true)
    expect([kept.stats.b, kept.stats.dio, kept.info.bb]).toEqual([[5, 6], [7, 8], 9])
  })

  it('detailsFromInfo treats a missing thread count as 0', () => {
    const { data } = payload({ legacyInfo: true, details: false })
    delete data.info.t
    expect(detailsFromInfo(data).Threads).toBe(0)
  })
})

describe('SMART records (§4, §5.2)', () => {
  it('record ids are FNV-1a-32 of system id + key in unpadded lower hex (Go %x)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5)
    expect(fnv1a32('a')).toBe(0xe40c292c)
    expect(fnv1a32('foobar')).toBe(0xbf9cf968)
    expect(fnv1a32('foo', 'bar')).toBe(fnv1a32('foobar'))
    expect(smartRecordId('foo', 'bar')).toBe('bf9cf968')
    // a hash below 0x10000000 prints fewer than 8 digits
    let key = 0
    while (fnv1a32('sys', String(key)) >= 0x10000000) key++
    expect(smartRecordId('sys', String(key))).toBe(fnv1a32('sys', String(key)).toString(16))
    expect(smartRecordId('sys', String(key)).length).toBeLessThan(8)
    // UTF-8 bytes, not UTF-16 units
    expect(fnv1a32('é')).toBe(0x1e9de8c1)
  })

  it('an answer decodes from key 5 and key 8; an error or a bad value is refused', () => {
    const ok = decodeSmartAnswer(response([[0, 3], [5, new Map([['S1', smartDevice('S1', '/dev/nvme0')]])], [8, true]]))
    expect(ok.ok && ok.answer.complete).toBe(true)
    expect(ok.ok && ok.answer.devices.get('S1')).toMatchObject({ mn: 'Model S1', sn: 'S1', c: 512110190592, s: 'PASSED', dn: '/dev/nvme0', dt: 'nvme', t: 40 })
    // no key 5: an empty map (the agent leaves an empty map out); key 8 absent: not complete
    expect(decodeSmartAnswer(response([[0, 3]]))).toEqual({ ok: true, answer: { devices: new Map(), complete: false } })
    expect(decodeSmartAnswer({ fields: new Map(), error: 'SMART monitoring is disabled' })).toEqual({ ok: false, message: 'SMART monitoring is disabled' })
    expect(decodeSmartAnswer(response([[5, new Map([['S1', new Map([[4, 'big']])]])]])).ok).toBe(false)
  })

  it('records take the hub fields: name from DiskName else the key, hours and cycles from attributes', () => {
    const devices = new Map<string, SmartDataJson>([
      ['S1', { mn: 'M', s: 'PASSED', dn: '/dev/sda', a: [{ n: 'Power_On_Hours', rv: 10 }, { n: 'Power_Cycle_Count', rv: 3 }] }],
      ['mdraid:md0', { mn: 'Linux MD RAID', s: 'PASSED', dt: 'mdraid' }],
      ['S3', { a: [{ n: 'Start_Stop_Count', rv: 1 }, { n: 'StartStopCycles', rv: 5 }] }],
    ])
    const records = applySmartAnswer(new Map(), 'sys', { devices, complete: false }, true, 1000)
    const byKey = new Map([...records.values()].map((r) => [r.key, r]))
    expect(byKey.get('S1')).toMatchObject({ id: smartRecordId('sys', 'S1'), name: '/dev/sda', model: 'M', state: 'PASSED', hours: 10, cycles: 3, updated: 1000 })
    expect(byKey.get('mdraid:md0')).toMatchObject({ name: 'mdraid:md0', type: 'mdraid', hours: undefined, cycles: undefined, serial: '', capacity: 0 })
    expect(byKey.get('S3')?.cycles).toBe(5)
  })

  it('pruning: only with key 8 on a hub that prunes; an empty answer changes nothing, even complete', () => {
    const answer = (keys: string[], complete: boolean) => ({ devices: new Map(keys.map((k): [string, SmartDataJson] => [k, { sn: k }])), complete })
    const both = applySmartAnswer(new Map(), 'sys', answer(['A', 'B'], false), true)
    expect([...both.values()].map((r) => r.key).sort()).toEqual(['A', 'B'])
    expect([...applySmartAnswer(both, 'sys', answer(['A'], false), true).values()].map((r) => r.key).sort()).toEqual(['A', 'B'])
    expect([...applySmartAnswer(both, 'sys', answer(['A'], true), false).values()].map((r) => r.key).sort()).toEqual(['A', 'B'])
    expect([...applySmartAnswer(both, 'sys', answer(['A'], true), true).values()].map((r) => r.key)).toEqual(['A'])
    expect(applySmartAnswer(both, 'sys', answer([], true), true)).toBe(both)
  })

  it('the fetch log: due after one interval; a new connection forgets failed attempts only', () => {
    const log = new SmartFetchLog()
    expect(log.due('s', 1000, 0)).toBe(true)
    log.record('s', true, 0)
    expect(log.due('s', 1000, 999)).toBe(false)
    expect(log.due('s', 1000, 1000)).toBe(true)
    log.connected('s')
    expect(log.due('s', 1000, 10)).toBe(false)
    log.record('s', false, 0)
    expect(log.due('s', 1000, 10)).toBe(false)
    log.connected('s')
    expect(log.due('s', 1000, 10)).toBe(true)
    expect([smartIntervalMs(3_600_000_000_000), smartIntervalMs(undefined), smartIntervalMs(0), smartIntervalMs(-5)]).toEqual([3_600_000, 0, 0, 0])
  })
})

describe('the poller playing 0.18.8', () => {
  it('a v0.18.8 agent: IncludeDetails until details are stored, then false; SMART in the background with a 60 s wait', async () => {
    const { poller: p, agent, store } = poller('0.18.8', { legacyInfo: false, details: true })
    await p.poll(60_000)
    await p.settled()
    expect(store.details('sys1')).toMatchObject({ source: 'agent', details: { OsName: 'Ubuntu 24.04.1 LTS', Arch: 'x86_64', MemoryTotal: 16633249792, SmartInterval: 3_600_000_000_000 } })
    expect(p.detailsFetched).toBe(true)
    expect(smartRequests(agent)).toEqual([{ action: Action.GetSmartData, timeoutMs: 60_000 }])
    expect([...store.smartDevices('sys1').keys()]).toEqual([smartRecordId('sys1', 'S1')])
    await p.poll(60_000)
    await p.poll(1_000)
    await p.settled()
    expect(includeDetails(agent)).toEqual([true, false, false])
    expect(p.counts).toEqual({ includeDetailsSent: 1, detailsReplies: 1, smartRequests: 1, smartCompleteReplies: 1 })
    // the SMART interval (1 h from Details) has not passed
    expect(smartRequests(agent)).toHaveLength(1)
    expect(store.detailsWrites('sys1')).toHaveLength(1)
  })

  it('a v0.17 agent: Details synthesized once, legacy Info cleared in every stored 60 s sample, realtime forwarded as is', async () => {
    const { poller: p, agent, store } = poller('0.18.8', { legacyInfo: true, details: false })
    store.upsertSystem({ id: 'sys1', name: '10.0.0.1', transport: 'websocket', address: '10.0.0.1', agentVersion: '0.17.0', connected: true, connectedAt: 0, lastSampleAt: null })
    await p.poll(60_000)
    await p.poll(60_000)
    await p.poll(1_000)
    await p.settled()
    expect(includeDetails(agent)).toEqual([true, false, false])
    expect(store.detailsWrites('sys1').map((w) => w.source)).toEqual(['synthesized'])
    expect(store.details('sys1')?.details).toMatchObject({ Hostname: 'web-01', OsName: '', Arch: '' })
    expect(store.get('sys1')?.name).toBe('web-01')
    const samples = store.history('sys1')
    for (const sample of samples.filter((s) => s.cacheTimeMs === 60_000)) expect(sample.data.info).toMatchObject({ h: '', m: '', c: 0 })
    expect(samples.find((s) => s.cacheTimeMs === 1_000)?.data.info.h).toBe('web-01')
    // details (synthesized) count as fetched: SMART runs
    expect(smartRequests(agent)).toHaveLength(1)
  })

  it('the cached first reply of a Go v0.18.8 agent that still sends Info 0: synthesized details, never asked again on that connection', async () => {
    const { poller: p, agent, store } = poller('0.18.8', { legacyInfo: true, details: () => false })
    await p.poll(60_000)
    await p.poll(60_000)
    expect(includeDetails(agent)).toEqual([true, false])
    expect(store.details('sys1')?.source).toBe('synthesized')
  })

  it('neither key 4 nor Info 0: asks on every poll and never fetches SMART', async () => {
    const { poller: p, agent } = poller('0.18.8', { legacyInfo: false, details: false })
    await p.poll(60_000)
    await p.poll(60_000)
    await p.poll(60_000)
    await p.settled()
    expect(includeDetails(agent)).toEqual([true, true, true])
    expect(p.counts.includeDetailsSent).toBe(3)
    expect(smartRequests(agent)).toHaveLength(0)
  })

  it('a new connection asks again; SMART waits for the interval since the last good attempt, a failed one is retried', async () => {
    const store = new HubStore()
    const smartLog = new SmartFetchLog()
    const shape: AgentShape = { legacyInfo: false, details: true }
    const first = poller('0.18.8', shape, { store, smartLog })
    await first.poller.poll(60_000)
    await first.poller.settled()
    first.poller.stop()
    const second = poller('0.18.8', shape, { store, smartLog })
    second.poller.start()
    await second.poller.settled()
    second.poller.stop()
    expect(includeDetails(second.agent)).toEqual([true])
    expect(store.detailsWrites('sys1')).toHaveLength(2)
    expect(smartRequests(second.agent)).toHaveLength(0)

    // a failed attempt is forgotten when the system connects again
    smartLog.record('sys1', false)
    const third = poller('0.18.8', shape, { store, smartLog, agent: { smart: () => ({ id: 3, fields: new Map(), error: 'boom' }) } })
    third.poller.start()
    await third.poller.settled()
    third.poller.stop()
    expect(smartRequests(third.agent)).toHaveLength(1)
    expect(smartLog.last('sys1')?.ok).toBe(false)
  })

  it('SmartInterval from Details sets the SMART interval; key 8 prunes a vanished drive', async () => {
    let devices = ['A', 'B']
    const smart = () => response([[0, 3], [5, new Map(devices.map((d) => [d, smartDevice(d, `/dev/${d}`)]))], [8, true]])
    const shape: AgentShape = { legacyInfo: false, details: true, detailsFields: [...REAL_DETAILS.filter(([k]) => k !== 10), [10, 50_000_000]] }
    const { poller: p, agent, store } = poller('0.18.8', shape, { agent: { smart } })
    await p.poll(60_000)
    await p.settled()
    expect([...store.smartDevices('sys1').values()].map((r) => r.key).sort()).toEqual(['A', 'B'])
    devices = ['A']
    await p.poll(60_000)
    await p.settled()
    // 50 ms have not passed yet
    expect(smartRequests(agent)).toHaveLength(1)
    await new Promise((resolve) => setTimeout(resolve, 60))
    await p.poll(60_000)
    await p.settled()
    expect(smartRequests(agent)).toHaveLength(2)
    expect([...store.smartDevices('sys1').values()].map((r: SmartDeviceRecord) => r.key)).toEqual(['A'])
  })

  it('a failed GetData costs the connection; a failed GetSmartData does not', async () => {
    const failures: string[] = []
    const broken = poller('0.18.8', { legacyInfo: false, details: true }, { failures, agent: { failData: true } })
    await broken.poller.poll(60_000)
    expect(failures).toEqual(['request 2 (action 0) timed out after 5000 ms'])
    const smartFails = poller('0.18.8', { legacyInfo: false, details: true }, { failures, agent: { smart: () => { throw new Error('SMART timed out') } } })
    await smartFails.poller.poll(60_000)
    await smartFails.poller.settled()
    expect(failures).toHaveLength(1)
  })
})

describe('the poller playing 0.17', () => {
  it('no key 1, Key 4 ignored, Info stored as sent; one GetSmartData after the first data write, 5 s wait, key 8 never prunes', async () => {
    let devices = ['A', 'B']
    const smart = () => response([[0, 3], [5, new Map(devices.map((d) => [d, smartDevice(d, `/dev/${d}`)]))], [8, true]])
    const store = new HubStore()
    const shape: AgentShape = { legacyInfo: true, details: () => true }
    const first = poller('0.17', shape, { store, agent: { smart } })
    await first.poller.poll(60_000)
    await first.poller.poll(60_000)
    await first.poller.poll(1_000)
    await first.poller.settled()
    expect(includeDetails(first.agent)).toEqual([undefined, undefined, undefined])
    expect(smartRequests(first.agent)).toEqual([{ action: Action.GetSmartData, timeoutMs: 5_000 }])
    expect(store.details('sys1')).toBeUndefined()
    expect(store.history('sys1').filter((s) => s.cacheTimeMs === 60_000).at(-1)?.data.info).toMatchObject({ h: 'web-01', k: '6.8.0-45-generic', c: 4, m: 'Intel(R) Xeon(R) E-2236 CPU @ 3.40GHz', p: true })
    // the next connection fetches SMART again after its first write; the vanished drive stays
    devices = ['A']
    first.poller.stop()
    const second = poller('0.17', shape, { store, agent: { smart } })
    await second.poller.poll(60_000)
    await second.poller.settled()
    expect(smartRequests(second.agent)).toHaveLength(1)
    expect([...store.smartDevices('sys1').values()].map((r) => r.key).sort()).toEqual(['A', 'B'])
  })
})
