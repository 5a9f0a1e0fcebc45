/**
 * systemd units through the native core against a REAL systemd 252 (Podman, see
 * test/systemd/systemd.ts): test units running, busy, failing (UINT64_MAX memory), oneshot
 * (active/exited), restart-looping; a garbage-collected transient unit; no bus; SKIP_SYSTEMD.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Decoder } from 'cbor-x'
import { openCollector, type Collector } from '../ts/collector.js'
import { handleGetSystemdInfo } from '../ts/handlers/systemd.js'
import { decodeResponse, encodeResponse } from '../ts/protocol/envelope.js'
import { RealSystemd } from './systemd/systemd.js'

const started = await RealSystemd.start()
if (!started.ok) console.warn(`SKIPPED real-systemd tests: ${started.reason}`)
const systemd = started.ok ? started.systemd : undefined

const decoder = new Decoder({ mapsAsObjects: false, useRecords: false, int64AsNumber: true } as never)
const decode = (bytes: Uint8Array): unknown => decoder.decode(bytes)

async function settle(collector: Collector): Promise<void> {
  await collector.collect({ cacheTimeMs: 0 }) // creates the agent, which starts the refresher
  for (let i = 0; i < 100 && collector.systemd?.status().state === 'starting'; i++) await new Promise((r) => setTimeout(r, 50))
}

describe.skipIf(!systemd)('systemd units from a real systemd', () => {
  let collector: Collector
  beforeAll(async () => {
    collector = openCollector({ DBUS_SYSTEM_BUS_ADDRESS: systemd!.address, SERVICE_PATTERNS: 'sonar-*' })
    await settle(collector)
  })
  afterAll(async () => {
    openCollector({ SKIP_SYSTEMD: 'true' })
    await systemd?.close()
  })

  it('reports the test units with their states, memory and Info.sv', async () => {
    expect(collector.systemd?.status()).toMatchObject({ state: 'available' })
    const cbor = await collector.collect({ cacheTimeMs: 60000 })
    const top = decode(cbor) as Map<number, unknown>
    const list = top.get(3) as Map<number, unknown>[]
    expect(Array.isArray(list)).toBe(true)
    const byName = new Map(list.map((s) => [s.get(0) as string, s]))
    for (const item of list) expect([...item.keys()].sort()).toEqual([0, 1, 2, 3, 4, 5, 6])
    // running: active/running with real memory from the unit's cgroup
    expect(byName.get('sonar-running')?.get(1)).toBe(0)
    expect(byName.get('sonar-running')?.get(5)).toBe(1)
    expect(byName.get('sonar-running')?.get(3) as number).toBeGreaterThan(10_000)
    // failing: failed/failed, MemoryCurrent is UINT64_MAX there → 0
    expect(byName.get('sonar-failing')?.get(1)).toBe(2)
    expect(byName.get('sonar-failing')?.get(5)).toBe(3)
    expect(byName.get('sonar-failing')?.get(3)).toBe(0)
    // oneshot with RemainAfterExit: active/exited, no cgroup left
    expect(byName.get('sonar-oneshot')?.get(5)).toBe(2)
    expect(byName.get('sonar-oneshot')?.get(3)).toBe(0)
    // restart loop: whatever phase it is in, a known state and a CPU figure that is not negative
    expect([0, 3, 4]).toContain(byName.get('sonar-flapping')?.get(1))
    for (const item of list) expect(item.get(2) as number).toBeGreaterThanOrEqual(0)
    const info = top.get(1) as Map<number, unknown>
    const sv = info.get(22) as number[]
    expect(sv[0]).toBe(list.length)
    expect(sv[1]).toBe(list.filter((s) => s.get(1) === 2).length)
    expect(sv[1]).toBeGreaterThanOrEqual(1)
  })

  it('sends the list once per refresh on 60000 ms answers only, Info.sv every time', async () => {
    const realtime = decode(await collector.collect({ cacheTimeMs: 1000 })) as Map<number, unknown>
    expect(realtime.has(3)).toBe(false)
    expect((realtime.get(1) as Map<number, unknown>).has(22)).toBe(false)
    // A new configuration is a new agent with a new first refresh: the list goes out again once.
    collector = openCollector({ DBUS_SYSTEM_BUS_ADDRESS: systemd!.address, SERVICE_PATTERNS: 'sonar-running,sonar-failing' })
    await settle(collector)
    const first = await collector.snapshot({ cacheTimeMs: 60000 })
    expect(first.systemd?.map((s) => s.n).sort()).toEqual(['sonar-failing', 'sonar-running'])
    expect(first.info.sv).toEqual([2, 1])
  })

  it('GetSystemdInfo answers the unit properties under key 6', async () => {
    const result = await handleGetSystemdInfo({ serviceName: 'sonar-running.service' }, collector.systemd)
    const reply = decodeResponse(encodeResponse(9, result.body))
    expect(reply.id).toBe(9)
    const info = decode(encodeResponse(9, result.body)) as Map<number, unknown>
    const props = info.get(6) as Map<string, unknown>
    expect(props.get('Id')).toBe('sonar-running.service')
    expect(props.get('ActiveState')).toBe('active')
    expect(props.get('SubState')).toBe('running')
    expect(props.get('MemoryCurrent') as number).toBeGreaterThan(0)
    expect(typeof props.get('CPUUsageNSec')).toBe('number')
    expect(props.get('NRestarts')).toBe(0)
    expect(props.get('Description')).toBe('SONAR test unit sonar-running')
    expect(props.get('MemoryLimit')).toBe(null) // UINT64_MAX = unlimited → null
    expect(props.get('InvocationID')).toBeInstanceOf(Uint8Array) // `ay` → byte string, as Go sends []byte
    expect(props.size).toBeGreaterThan(80)
  })

  it('GetSystemdInfo of a failed unit: UINT64_MAX counters are null', async () => {
    const result = await handleGetSystemdInfo({ serviceName: 'sonar-failing.service' }, collector.systemd)
    const props = (decode(encodeResponse(1, result.body)) as Map<number, unknown>).get(6) as Map<string, unknown>
    expect(props.get('ActiveState')).toBe('failed')
    expect(props.get('Result')).toBe('exit-code')
    expect(props.get('MemoryCurrent')).toBe(null)
    expect(props.get('TasksCurrent')).toBe(null)
  })

  it('a unit garbage-collected after it ran, and one that never existed, answer LoadState "not-found" (as Go does)', async () => {
    await systemd!.exec('systemd-run', '--unit=sonar-transient', '--wait', '/bin/true')
    for (const name of ['sonar-transient.service', 'no-such-unit.service']) {
      const result = await handleGetSystemdInfo({ serviceName: name }, collector.systemd)
      const props = (decode(encodeResponse(1, result.body)) as Map<number, unknown>).get(6) as Map<string, unknown>
      expect(props.get('Id')).toBe(name)
      expect(props.get('LoadState')).toBe('not-found')
      expect(props.get('ActiveState')).toBe('inactive')
    }
    // an unloaded but existing unit is loaded on demand and answered
    const stopped = await handleGetSystemdInfo({ serviceName: 'sonar-running' }, collector.systemd)
    expect((decode(encodeResponse(1, stopped.body)) as Map<number, unknown>).get(6)).toBeInstanceOf(Map)
    // the collector lives on
    expect(collector.systemd?.status()).toMatchObject({ state: 'available' })
  })

  it('a bad unit name is refused by the core too', async () => {
    const result = await handleGetSystemdInfo({ serviceName: 'a b.service' }, collector.systemd)
    expect(result.body).toMatchObject({ kind: 'error', message: expect.stringContaining('invalid service name') })
  })
})

describe('systemd without a bus, and switched off', () => {
  afterAll(() => void openCollector({ SKIP_SYSTEMD: 'true' }))

  it('no bus: unavailable with the socket named; GetSystemdInfo says unsupported operation', async () => {
    const collector = openCollector({ DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/nonexistent/sonar-bus' })
    await settle(collector)
    const status = collector.systemd?.status()
    expect(status?.state).toBe('unavailable')
    expect(status?.reason).toContain('/nonexistent/sonar-bus')
    const data = await collector.snapshot({ cacheTimeMs: 60000 })
    expect(data.systemd).toBeUndefined()
    expect(data.info.sv).toBeUndefined()
    const result = await handleGetSystemdInfo({ serviceName: 'x.service' }, collector.systemd)
    expect(result.body).toMatchObject({ kind: 'error', message: expect.stringMatching(/^unsupported operation: .*\/nonexistent\/sonar-bus/) })
  })

  it('SKIP_SYSTEMD=true: no systemd source at all', async () => {
    const collector = openCollector({ SKIP_SYSTEMD: 'true' })
    expect(collector.systemd).toBeUndefined()
    await collector.collect({ cacheTimeMs: 0 })
    const result = await handleGetSystemdInfo({ serviceName: 'x.service' }, collector.systemd)
    expect(result.body).toEqual({ kind: 'error', message: 'unsupported operation: systemd monitoring is off (SKIP_SYSTEMD=true)' })
  })
})
