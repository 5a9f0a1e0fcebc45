/**
 * Podman recognised by what the engine says (beszel-v0.18.md §3.3, v0.18.8): a `Server` header
 * starting with "Libpod" on /containers/json or /version, or a /version component named
 * "Podman…" — against a fake engine on a socket whose path does not name podman. Also the health
 * status the engine gives (Docker's list, Podman's inspect) and the stats' read stamp.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { NO_HEALTHCHECK_RECHECK_MS, readStampUs } from '../ts/containers/engine.js'
import { ContainerMonitor } from '../ts/containers/monitor.js'
import type { ContainerSettings } from '../ts/containers/settings.js'
import { silentLogger } from '../ts/log.js'

const ID = (c: string) => c.repeat(64)
const READ = '2026-12-02T15:21:03.082490181Z'

interface FakeContainer {
  id: string
  name: string
  /** /containers/json Health (Docker API ≥ 1.52) */
  listHealth?: string
  /** inspect State.Health.Status and whether Config.Healthcheck is set */
  inspectHealth?: string
}

/** A Docker API engine answering what each test sets; counts the requests per path. */
class FakeEngine {
  listServer: string | undefined = 'Docker/27.3.1 (linux)'
  versionServer: string | undefined = 'Docker/27.3.1 (linux)'
  versionStatus = 200
  listStatus = 200
  components: { Name: string }[] = [{ Name: 'Engine' }]
  containers: FakeContainer[] = []
  readonly requests = new Map<string, number>()
  readonly socketPath: string
  private readonly dir: string
  private server: Server | undefined

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'sonar-fake-engine-'))
    this.socketPath = join(this.dir, 'engine.sock')
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.answer(req, res))
    await new Promise<void>((resolve) => this.server?.listen(this.socketPath, resolve))
  }

  async close(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve))
    rmSync(this.dir, { recursive: true, force: true })
  }

  count(path: string): number {
    return this.requests.get(path) ?? 0
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0] ?? ''
    this.requests.set(path, this.count(path) + 1)
    const send = (status: number, body: unknown, server?: string) => {
      if (server !== undefined) res.setHeader('Server', server)
      res.writeHead(status, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    if (path === '/version') return send(this.versionStatus, { Version: '27.3.1', Components: this.components }, this.versionServer)
    if (path === '/containers/json') {
      const list = this.containers.map((c) => ({
        Id: c.id,
        Names: [`/${c.name}`],
        Image: 'img',
        Status: 'Up 2 hours',
        Ports: [],
        ...(c.listHealth ? { Health: { Status: c.listHealth, FailingStreak: 0 } } : {}),
      }))
      return send(this.listStatus, this.listStatus === 200 ? list : { message: 'down' }, this.listServer)
    }
    const match = /^\/containers\/([0-9a-f]+)\/(stats|json)$/.exec(path)
    const container = this.containers.find((c) => c.id === match?.[1])
    if (!match || !container) return send(404, { message: 'no such container' })
    if (match[2] === 'stats') {
      return send(200, {
        read: READ,
        cpu_stats: { cpu_usage: { total_usage: 1000 }, system_cpu_usage: 5000, online_cpus: 2 },
        memory_stats: { usage: 4096, stats: {} },
        networks: { eth0: { rx_bytes: 1, tx_bytes: 2 } },
      })
    }
    const checked = container.inspectHealth !== undefined
    return send(200, {
      Id: container.id,
      State: { Status: 'running', Health: { Status: container.inspectHealth ?? '', FailingStreak: 0, Log: null } },
      Config: checked ? { Healthcheck: { Test: ['CMD-SHELL', 'true'] } } : {},
    })
  }
}

let engine: FakeEngine
const monitorFor = (fake: FakeEngine) => {
  const settings: ContainerSettings = { enabled: true, dockerHost: { kind: 'socket', socketPath: fake.socketPath }, timeoutMs: 2000, exclude: undefined }
  return new ContainerMonitor({ settings, logger: silentLogger })
}

beforeEach(async () => {
  engine = new FakeEngine()
  engine.containers = [{ id: ID('a'), name: 'web' }]
  await engine.start()
})

afterEach(async () => {
  await engine.close()
})

describe('Podman detection by engine metadata (v0.18.8)', () => {
  it('a Docker engine (Server: Docker/…, no Podman component) is not Podman', async () => {
    const monitor = monitorFor(engine)
    const sample = await monitor.sample()
    expect(sample.containers?.map((c) => c.name)).toEqual(['web'])
    expect(sample.podman).toBe(false)
    expect(monitor.podman).toBe(false)
    expect(engine.count('/version')).toBe(1)
    await monitor.sample()
    expect(engine.count('/version'), '/version is asked once').toBe(1)
  })

  it('a Libpod Server header on /containers/json marks Podman, even when /version fails', async () => {
    engine.listServer = 'Libpod/5.2.0 (linux)'
    engine.versionStatus = 500
    engine.versionServer = undefined
    const monitor = monitorFor(engine)
    expect((await monitor.sample()).podman).toBe(true)
    expect(monitor.podman).toBe(true)
  })

  it('a Libpod Server header on /version marks Podman', async () => {
    engine.listServer = undefined
    engine.versionServer = 'Libpod/4.3.1 (linux)'
    expect((await monitorFor(engine).sample()).podman).toBe(true)
  })

  it('a /version component named "Podman Engine" marks Podman without any Libpod header', async () => {
    engine.listServer = undefined
    engine.versionServer = undefined
    engine.components = [{ Name: 'Podman Engine' }, { Name: 'Conmon' }]
    expect((await monitorFor(engine).sample()).podman).toBe(true)
  })

  it('Podman detected late: the flag turns true once, listeners hear it once, an outage does not clear it', async () => {
    // an engine that is not ready yet: /version fails, the list carries no Libpod header
    engine.listServer = undefined
    engine.versionServer = undefined
    engine.versionStatus = 500
    const monitor = monitorFor(engine)
    let heard = 0
    monitor.onPodmanDetected(() => heard++)
    expect((await monitor.sample()).podman).toBe(false)
    expect(heard).toBe(0)
    // /version is asked again after each list until it answers
    expect((await monitor.sample()).podman).toBe(false)
    expect(engine.count('/version')).toBe(2)
    engine.listServer = 'Libpod/5.2.0 (linux)'
    expect((await monitor.sample()).podman).toBe(true)
    expect(monitor.podman).toBe(true)
    expect(heard).toBe(1)
    await monitor.sample()
    expect(heard, 'told once').toBe(1)
    engine.listStatus = 500
    const down = await monitor.sample()
    expect(down.containers).toBeNull()
    expect(down.podman).toBe(true)
    expect(monitor.podman).toBe(true)
    expect(heard).toBe(1)
  })
})

describe('what the engine says about a container', () => {
  it("Docker's list Health.Status (API ≥ 1.52) and the stats' read stamp reach the core's input", async () => {
    engine.containers = [
      { id: ID('b'), name: 'checked', listHealth: 'unhealthy' },
      { id: ID('c'), name: 'plain' },
    ]
    const sample = await monitorFor(engine).sample()
    const byName = new Map(sample.containers?.map((c) => [c.name, c]))
    expect(byName.get('checked')?.health).toBe('unhealthy')
    expect(byName.get('plain')?.health).toBeUndefined()
    expect(byName.get('plain')?.readUs).toBe(readStampUs(READ))
    // Docker: no inspect per container
    expect(engine.count(`/containers/${ID('b')}/json`)).toBe(0)
  })

  it("Podman's health comes from inspect; a container without a healthcheck is not inspected every sample", async () => {
    engine.listServer = 'Libpod/4.3.1 (linux)'
    engine.containers = [
      { id: ID('b'), name: 'checked', inspectHealth: 'healthy' },
      { id: ID('c'), name: 'plain' },
    ]
    const monitor = monitorFor(engine)
    for (let i = 0; i < 3; i++) {
      const sample = await monitor.sample()
      const byName = new Map(sample.containers?.map((c) => [c.name, c]))
      expect(byName.get('checked')?.health).toBe('healthy')
      expect(byName.get('plain')?.health).toBeUndefined()
    }
    expect(engine.count(`/containers/${ID('b')}/json`)).toBe(3)
    expect(engine.count(`/containers/${ID('c')}/json`)).toBe(1)
    expect(NO_HEALTHCHECK_RECHECK_MS).toBeGreaterThan(60_000)
  })
})

describe('readStampUs', () => {
  it("Go's RFC 3339 stamps to µs; Go's zero time and garbage to undefined", () => {
    expect(readStampUs(READ)).toBe(Date.UTC(2026, 11, 2, 15, 21, 3) * 1000 + 82_490)
    expect(readStampUs('2026-12-02T16:21:03.5+01:00')).toBe(Date.UTC(2026, 11, 2, 15, 21, 3) * 1000 + 500_000)
    expect(readStampUs('2026-12-02T15:21:03Z')).toBe(Date.UTC(2026, 11, 2, 15, 21, 3) * 1000)
    expect(readStampUs('0001-01-01T00:00:00Z')).toBeUndefined()
    expect(readStampUs('yesterday')).toBeUndefined()
    expect(readStampUs(undefined)).toBeUndefined()
  })
})
