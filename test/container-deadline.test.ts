/**
 * A container engine that accepts and never answers held GetData for the whole DOCKER_TIMEOUT
 * (6 s with DOCKER_TIMEOUT=6s, past the hub's 5 s: every poll failed). GetData now waits for the
 * engines at most CONTAINER_WAIT_MS, answers with the last sample read (its age told to the core)
 * or none, and lets the engine refresh finish in the background. With a real Podman engine behind
 * a slow proxy: see test/containers.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Decoder } from 'cbor-x'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openCollector, type Collector } from '../ts/collector.js'
import { ContainerMonitor } from '../ts/containers/monitor.js'
import { CONTAINER_WAIT_MS, RecentSamples, STALE_AFTER_MS, within } from '../ts/containers/recent.js'
import type { ContainerSample } from '../ts/containers/types.js'
import { collectWithContainers, handleGetData } from '../ts/handlers/data.js'
import { silentLogger } from '../ts/log.js'
import type { CollectOptions } from '../ts/native.js'

const decoder = new Decoder({ mapsAsObjects: false, useRecords: false } as never)
const sample = (name: string): ContainerSample => ({
  containers: [
    { id: name.repeat(12), name, image: 'x', status: 'Up 2 hours', ports: [], cpuTotal: 1, cpuSystem: 1, onlineCpus: 1, memUsage: 1 << 20, memInactiveFile: 0, memCache: 0, netRx: 0, netTx: 0 },
  ],
  podman: false,
})
const never = <T>() => new Promise<T>(() => undefined)

describe('the last container sample, and how old it is', () => {
  it('a sample that arrives in time is sent as is, age 0', async () => {
    const recent = new RecentSamples()
    expect(await recent.within(Promise.resolve(sample('a')), 1000)).toEqual({ ...sample('a'), ageMs: 0 })
  })

  it('a late sample: the last one recorded, with its age; none before the first', async () => {
    let now = 10_000
    const recent = new RecentSamples(() => now)
    expect(await recent.within(never(), 5)).toEqual({ containers: null, podman: false, ageMs: 0 })
    recent.record(sample('a'))
    now += 61_000
    expect(await recent.within(never(), 5)).toEqual({ ...sample('a'), ageMs: 61_000 })
  })

  it('a last sample older than STALE_AFTER_MS is not sent', async () => {
    let now = 0
    const recent = new RecentSamples(() => now)
    recent.record(sample('a'))
    now = STALE_AFTER_MS + 1
    expect(await recent.within(never(), 5)).toEqual({ containers: null, podman: false, ageMs: 0 })
  })

  it('a sample that fails is not the request\'s failure', async () => {
    const recent = new RecentSamples()
    expect(await recent.within(Promise.reject(new Error('engine gone')), 50)).toEqual({ containers: null, podman: false, ageMs: 0 })
  })

  it('within: the value in time, else undefined', async () => {
    expect(await within(Promise.resolve(3), 1000)).toBe(3)
    expect(await within(never<number>(), 10)).toBeUndefined()
  })

  it('GetData waits a fixed share of the hub\'s 5 s deadline', () => {
    expect(CONTAINER_WAIT_MS).toBeLessThanOrEqual(1000)
  })

  it('a source without a memory of its own: this sample in time, else none — never the whole wait', async () => {
    const seen: CollectOptions[] = []
    const collector = { collect: async (o?: CollectOptions) => (seen.push(o ?? {}), Buffer.alloc(0)), isFresh: () => false }
    const started = performance.now()
    await collectWithContainers(collector, 60_000, { sample: never }, 50)
    expect(performance.now() - started).toBeLessThan(1000)
    expect(seen).toEqual([{ cacheTimeMs: 60_000, containers: null, podman: false }])
  })
})

describe('a container engine that accepts and never answers', () => {
  let dir = ''
  let server: Server
  const held: Socket[] = []
  let collector: Collector

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sonar-mute-engine-'))
    server = createServer((socket) => held.push(socket))
    await new Promise<void>((resolve) => server.listen(join(dir, 'mute.sock'), resolve))
    collector = openCollector({ SKIP_GPU: 'true', SMART_DEVICES: '' })
  })

  afterAll(async () => {
    for (const socket of held) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
    rmSync(dir, { recursive: true, force: true })
  })

  it('does_not_hold_GetData_for_DOCKER_TIMEOUT: answered within the wait, key 2 null, the refresh goes on', async () => {
    const monitor = new ContainerMonitor({
      // DOCKER_TIMEOUT=6s: longer than the hub's 5 s deadline
      settings: { enabled: true, dockerHost: { kind: 'socket', socketPath: join(dir, 'mute.sock') }, timeoutMs: 6000, exclude: undefined },
      logger: silentLogger,
    })
    for (const cacheTimeMs of [0, 60_000]) {
      const started = performance.now()
      const answer = await handleGetData({ cacheTimeMs, includeDetails: undefined }, collector, monitor)
      const elapsed = performance.now() - started
      expect(elapsed, `cache time ${cacheTimeMs}`).toBeLessThan(CONTAINER_WAIT_MS + 1500)
      expect(elapsed).toBeGreaterThanOrEqual(CONTAINER_WAIT_MS - 50)
      expect(answer.body.kind).toBe('data')
      const decoded = decoder.decode((answer.body as { cbor: Uint8Array }).cbor) as Map<number, unknown>
      expect(decoded.get(2)).toBeNull()
    }
    // the engine was asked, and is still being waited for in the background
    expect(held.length).toBeGreaterThan(0)
  })
})
