/**
 * The dev hub's web side. API: the real handler over a HubStore filled with real samples of the
 * native core (routes, validation, the event stream and its watch accounting). Page: the real dev
 * hub (startDevHub) with a real agent (`sonar-agent run` from the source) that sees a real Podman
 * container, opened in a real headless Chromium (Debian's, driven by playwright-core). Where
 * Chromium cannot start, the page test is skipped with the reason; where Podman cannot start, only
 * the containers-table check is.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { RealSystemd } from './systemd/systemd.js'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { hostname, release, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openCollector } from '../ts/collector.js'
import { startDevHub, type DevHub } from '../ts/hub/hub.js'
import { HubStore, type HubSample, type SystemSummary } from '../ts/hub/store.js'
import type { SmartDataJson } from '../ts/hub/smart-payload.js'
import { applySmartAnswer } from '../ts/hub/smart-records.js'
import type { HistoryResponse, SystemView } from '../ts/hub/web/api-types.js'
import { AssetsNotFoundError, bundleDirectories, loadAssets } from '../ts/hub/web/assets.js'
import { bundlePage } from '../ts/hub/web/bundle.js'
import { createWebHandler, startWebServer, type WebServer } from '../ts/hub/web/server.js'
import { bytes } from '../ts/hub/web/page/format.js'
import { Podman } from './podman/podman.js'
import { until as pollUntil } from './helpers/until.js'
import { launchBrowser } from './helpers/browser.js'

const ROOT = new URL('..', import.meta.url).pathname
const ARTIFACTS = join(ROOT, 'test', 'artifacts')
const dirs: string[] = []

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sonar-hub-web-'))
  dirs.push(dir)
  return dir
}

/** PRETTY_NAME of /etc/os-release as Beszel reads it: the first such line, every `"` at either end stripped. */
function prettyName(): string {
  const line = readFileSync('/etc/os-release', 'utf8').split('\n').find((l) => l.startsWith('PRETTY_NAME=')) ?? ''
  return line.slice('PRETTY_NAME='.length).replace(/^"+|"+$/g, '')
}

interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

function get(url: string, method = 'GET', headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

/** polls with the shared helper; this file's waits default to 20 s */
const until = <T,>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000) => pollUntil(what, probe, timeoutMs, 100)

/** An open /api/events stream: the raw events as they arrive. */
function openEvents(url: string): Promise<{ events: { event: string; data: string }[]; status: number; close(): void }> {
  return new Promise((resolve, reject) => {
    const events: { event: string; data: string }[] = []
    const req = httpRequest(url, (res) => {
      let buffer = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        buffer += chunk
        let end: number
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const event = /^event: (.*)$/m.exec(block)?.[1]
          const data = /^data: (.*)$/m.exec(block)?.[1]
          if (event !== undefined && data !== undefined) events.push({ event, data })
        }
      })
      resolve({ events, status: res.statusCode ?? 0, close: () => req.destroy() })
    })
    req.on('error', reject)
    req.end()
  })
}

describe('dev hub web API (real handler, real samples of the native core)', () => {
  const store = new HubStore()
  const collector = openCollector({ SKIP_GPU: 'true', SMART_DEVICES: '' })
  let server: WebServer
  const system: SystemSummary = {
    id: 'fp-test-1',
    name: '10.0.0.5',
    transport: 'websocket',
    address: '10.0.0.5',
    agentVersion: '0.17.0',
    connected: true,
    connectedAt: Date.now(),
    lastSampleAt: null,
  }

  async function addRealSample(cacheTimeMs: number, at: number): Promise<HubSample> {
    const sample: HubSample = { at, cacheTimeMs, data: await collector.snapshot({ cacheTimeMs: 0 }) }
    store.addSample(system.id, sample)
    return sample
  }

  beforeAll(async () => {
    store.upsertSystem(system)
    server = await startWebServer({ store })
  })
  afterAll(async () => {
    await server.close()
  })

  it('serves the page with the DEV HUB label and its bundled assets (no CDN)', async () => {
    const page = await get(server.url)
    expect(page.status).toBe(200)
    expect(page.headers['content-type']).toMatch(/^text\/html/)
    expect(page.body).toContain('DEV HUB — demo/testing only, in-memory')
    // every resource is local (the favicon is an empty data: URL, so the browser asks for none)
    const resources = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '')
    expect(resources).toEqual(['data:,', '/assets/app.css', '/assets/app.js'])
    const js = await get(new URL('/assets/app.js', server.url).href)
    expect(js.status).toBe(200)
    expect(js.headers['content-type']).toMatch(/^text\/javascript/)
    // uPlot is inside the bundle, and nothing is fetched from elsewhere
    expect(js.body).toContain('u-legend')
    expect(js.body).not.toMatch(/https?:\/\/(?!www\.w3\.org)[a-z]/i)
    const css = await get(new URL('/assets/app.css', server.url).href)
    expect(css.headers['content-type']).toMatch(/^text\/css/)
    expect(css.body).toContain('.uplot')
    const cached = await get(new URL('/assets/app.js', server.url).href, 'GET', { 'if-none-match': String(js.headers.etag) })
    expect(cached.status).toBe(304)
    expect((await get(new URL('/assets/nope.js', server.url).href)).status).toBe(404)
    const head = await get(server.url, 'HEAD')
    expect(head.status).toBe(200)
    expect(head.body).toBe('')
  })

  it('lists systems with their latest headline numbers and returns history since a time', async () => {
    const t0 = Date.now()
    const first = await addRealSample(60000, t0)
    const second = await addRealSample(1000, t0 + 1000)
    const list = JSON.parse((await get(new URL('/api/systems', server.url).href)).body) as SystemView[]
    expect(list).toHaveLength(1)
    expect(list[0]?.id).toBe(system.id)
    // the name becomes the agent's hostname (Info.h) with the first sample
    expect(list[0]?.name).toBe(second.data.info.h)
    expect(list[0]?.latest).toEqual({ at: second.at, cpu: second.data.stats.cpu, mp: second.data.stats.mp, dp: second.data.stats.dp })
    expect(list[0]?.watched).toBe(false)

    const all = JSON.parse((await get(new URL(`/api/systems/${system.id}/history`, server.url).href)).body) as HistoryResponse
    expect(all.samples.map((s) => s.at)).toEqual([first.at, second.at])
    expect(all.samples[0]?.data.stats.m).toBe(first.data.stats.m)
    const since = JSON.parse((await get(new URL(`/api/systems/${system.id}/history?since=${first.at}`, server.url).href)).body) as HistoryResponse
    expect(since.samples.map((s) => s.at)).toEqual([second.at])
  })

  it('answers bad input with 400/404/405 JSON and never throws; foreign paths are left to the caller', async () => {
    const bad = await get(new URL(`/api/systems/${system.id}/history?since=yesterday`, server.url).href)
    expect(bad.status).toBe(400)
    expect((JSON.parse(bad.body) as { error: string }).error).toMatch(/since/)
    const negative = await get(new URL(`/api/systems/${system.id}/history?since=-5`, server.url).href)
    expect(negative.status).toBe(400)
    const unknown = await get(new URL('/api/systems/nobody/history', server.url).href)
    expect(unknown.status).toBe(404)
    expect(JSON.parse(unknown.body)).toEqual({ error: 'unknown system "nobody"' })
    expect((await get(new URL('/api/systems/%E0%A4%A/history', server.url).href)).status).toBe(400)
    expect((await get(new URL('/api/events?system=nobody', server.url).href)).status).toBe(404)
    expect((await get(new URL('/api/systems', server.url).href, 'POST')).status).toBe(405)
    // HEAD on the stream answers at once and watches nothing
    expect((await get(new URL(`/api/events?system=${system.id}`, server.url).href, 'HEAD')).status).toBe(200)
    expect(store.isWatched(system.id)).toBe(false)

    const handler = createWebHandler(store)
    const seen: string[] = []
    for (const path of ['/api/beszel/agent-connect', '/api/sonar/agent-connect', '/favicon.ico', '/api/systemsx']) {
      const fake = { url: path, method: 'GET' } as Parameters<typeof handler>[0]
      const res = {} as Parameters<typeof handler>[1]
      if (!handler(fake, res)) seen.push(path)
    }
    expect(seen).toEqual(['/api/beszel/agent-connect', '/api/sonar/agent-connect', '/favicon.ico', '/api/systemsx'])
  })

  it('streams systems and the watched system’s samples; the stream counts as watching while open', async () => {
    const other: SystemSummary = { ...system, id: 'fp-test-2', name: 'other', address: '10.0.0.6' }
    store.upsertSystem(other)
    const stream = await openEvents(new URL(`/api/events?system=${system.id}`, server.url).href)
    expect(stream.status).toBe(200)
    await until('the watch', () => store.isWatched(system.id))
    expect(store.isWatched(other.id)).toBe(false)
    await until('the first systems event', () => stream.events.find((e) => e.event === 'systems'))

    const mine = await addRealSample(1000, Date.now() + 5000)
    store.addSample(other.id, { ...mine, at: mine.at + 1 })
    const samples = await until('a sample event', () => {
      const found = stream.events.filter((e) => e.event === 'sample')
      return found.length > 0 ? found : undefined
    })
    // only the watched system's samples are sent
    await new Promise((resolve) => setTimeout(resolve, 200))
    const sampleEvents = stream.events.filter((e) => e.event === 'sample').map((e) => JSON.parse(e.data) as { id: string; sample: HubSample })
    expect(sampleEvents.map((e) => e.id)).toEqual([system.id])
    expect(sampleEvents[0]?.sample.at).toBe(mine.at)
    expect(samples.length).toBe(1)
    // the list of systems follows (throttled to one per second)
    const views = await until('a systems event with both systems', () => {
      const last = stream.events.filter((e) => e.event === 'systems').at(-1)
      const parsed = last ? (JSON.parse(last.data) as SystemView[]) : []
      return parsed.length === 2 ? parsed : undefined
    })
    expect(views.find((v) => v.id === system.id)?.watched).toBe(true)

    stream.close()
    await until('the un-watch after the stream closed', () => (store.isWatched(system.id) ? undefined : true))
  })

  it('finds a built bundle from dist/bin.cjs, from tsc output and from the source tree', () => {
    const dist = join(ROOT, 'dist', 'hub-web/')
    expect(bundleDirectories(new URL('../dist/bin.cjs', import.meta.url).href)).toContain(dist)
    expect(bundleDirectories(new URL('../dist/hub/web/assets.js', import.meta.url).href)).toContain(dist)
    expect(bundleDirectories(new URL('../ts/hub/web/assets.ts', import.meta.url).href)).toContain(dist)
  })

  it('an installed package reads the bundle that the build wrote next to bin.cjs; without one the error names the fix', async () => {
    const pkg = tempDir()
    const moduleUrl = new URL(`file://${pkg}/dist/bin.cjs`).href
    await expect(loadAssets(moduleUrl)).rejects.toThrow(AssetsNotFoundError)
    await expect(loadAssets(moduleUrl)).rejects.toThrow(/npm run build:ts/)
    const built = await bundlePage(join(pkg, 'dist', 'hub-web'))
    const assets = await loadAssets(moduleUrl)
    expect([...assets.keys()].sort()).toEqual(['app.css', 'app.js'])
    expect(assets.get('app.js')?.body.equals(built.get('app.js') ?? Buffer.alloc(0))).toBe(true)
    expect(assets.get('app.css')?.contentType).toBe('text/css; charset=utf-8')
  })
})

// ---------------------------------------------------------------------------------------------
// The page in a real browser, fed by the real dev hub and a real agent.

const { browser } = await launchBrowser('hub-web.test')

afterAll(async () => {
  await browser?.close()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe.skipIf(!browser)('dev hub page in headless Chromium: what this VM cannot produce', () => {
  // This VM has no temperature sensors, GPUs, fans or systemd: a real sample of the native core is
  // given those parts by hand (shapes of index.d.ts / data-model §1.6, §1.8) to check the page draws them.
  it('draws temperatures, GPUs and fans, and lists services with failed ones first', async () => {
    const store = new HubStore()
    const collector = openCollector({ SKIP_GPU: 'true', SMART_DEVICES: '' })
    const id = 'fp-constructed'
    store.upsertSystem({ id, name: 'gpu-box', transport: 'ssh', address: '10.0.0.9:45876', agentVersion: '0.17.0', connected: true, connectedAt: Date.now(), lastSampleAt: null })
    const services = [
      { n: 'nginx', s: 0, c: 0.5, m: 12 * 1024 * 1024, mp: 20 * 1024 * 1024, ss: 1, cp: 3.2 },
      { n: 'backup', s: 2, c: 0, m: 0, mp: 0, ss: 3, cp: 0 },
    ]
    const start = Date.now() - 5000
    for (let i = 0; i < 5; i++) {
      const data = await collector.snapshot({ cacheTimeMs: 0 })
      data.stats.t = { coretemp_package_id_0: 50 + i, 'NVIDIA H100': 40 + i }
      data.stats.g = { '0': { n: 'NVIDIA H100', mu: 1000 + i, mt: 81559, u: 10 * i, p: 70 + i } }
      data.stats.f = { nct6775_fan1: 1200 + i }
      store.addSample(id, { at: start + i * 1000, cacheTimeMs: i === 0 ? 60000 : 1000, data: i === 0 ? { ...data, services } : data })
    }
    const server = await startWebServer({ store })
    const context = await browser!.newContext({ viewport: { width: 1280, height: 800 } })
    try {
      const page = await context.newPage()
      await page.goto(server.url)
      await page.waitForSelector(`#system[data-system="${id}"]`)
      for (const key of ['temperatures', 'gpu-usage', 'gpu-memory', 'gpu-power', 'fans']) {
        const chart = page.locator(`[data-chart="${key}"]`)
        await expect.poll(() => chart.getAttribute('data-points')).toBe('5')
        expect(await chart.isVisible(), key).toBe(true)
      }
      expect(await page.locator('[data-chart="temperatures"]').getAttribute('data-series')).toBe('2')
      // the legend shows the newest values when the pointer is elsewhere
      expect(await page.locator('[data-chart="gpu-usage"] .u-legend').textContent()).toContain('40.0 %')
      const rows = await page.locator('table[data-table="services"] tbody tr').allTextContents()
      expect(rows).toHaveLength(2)
      expect(rows[0]).toMatch(/^backupfailedfailed/)
      expect(rows[1]).toMatch(/^nginxactiverunning/)
      // services came with the 60 s sample only; the table keeps them while 1 s samples arrive
      store.addSample(id, { at: Date.now(), cacheTimeMs: 1000, data: await collector.snapshot({ cacheTimeMs: 0 }) })
      await expect.poll(() => page.locator('[data-chart="cpu"]').getAttribute('data-points')).toBe('6')
      expect(await page.locator('table[data-table="services"] tbody tr').count()).toBe(2)
    } finally {
      await context.close()
      await server.close()
    }
  })
})

describe.skipIf(!browser)('dev hub page in headless Chromium: host facts and the SMART table (stored as a 0.18.8 hub stores them)', () => {
  it('shows OS name, architecture, kernel, CPU model and memory from Details; the SMART table loses a pruned drive', async () => {
    const store = new HubStore()
    const collector = openCollector({ SKIP_GPU: 'true', SMART_DEVICES: '' })
    const id = 'fp-details'
    store.upsertSystem({ id, name: '10.0.0.7', transport: 'websocket', address: '10.0.0.7', agentVersion: '0.18.8', connected: true, connectedAt: Date.now(), lastSampleAt: null, hubVersion: '0.18.8' })
    store.addSample(id, { at: Date.now() - 1000, cacheTimeMs: 60000, data: await collector.snapshot({ cacheTimeMs: 0 }) })
    store.setDetails(id, { Hostname: 'db-02', Kernel: '6.8.0-45-generic', Cores: 4, Threads: 8, CpuModel: 'Intel(R) Xeon(R) E-2236 CPU @ 3.40GHz', Os: 0, OsName: 'Ubuntu 24.04.1 LTS', Arch: 'x86_64', MemoryTotal: 16633249792, SmartInterval: 3_600_000_000_000 }, 'agent')
    const device = (serial: string, disk: string): SmartDataJson => ({ mn: `Disk ${serial}`, sn: serial, fv: 'FW1', c: 512110190592, s: serial === 'S2' ? 'FAILED' : 'PASSED', dn: disk, dt: 'nvme', t: 41, a: [{ n: 'PowerOnHours', rv: 1234 }, { n: 'PowerCycles', rv: 77 }] })
    const answer = (serials: string[]) => ({ devices: new Map(serials.map((serial, i): [string, SmartDataJson] => [serial, device(serial, `/dev/nvme${i}`)])), complete: true })
    store.setSmartDevices(id, applySmartAnswer(store.smartDevices(id), id, answer(['S1', 'S2']), true))

    const other = 'fp-synthesized'
    store.upsertSystem({ id: other, name: 'old', transport: 'ssh', address: '10.0.0.8:45876', agentVersion: '0.17.0', connected: true, connectedAt: Date.now(), lastSampleAt: null, hubVersion: '0.18.8' })
    store.setDetails(other, { Hostname: 'old-box', Kernel: '5.10.0-30-amd64', Cores: 2, Threads: 4, CpuModel: 'AMD GX-412TC', Os: 0, OsName: '', Arch: '', MemoryTotal: 4294967296 }, 'synthesized')

    const server = await startWebServer({ store })
    const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } })
    try {
      const page = await context.newPage()
      await page.goto(`${server.url}#${id}`)
      await page.waitForSelector(`#system[data-system="${id}"]`)
      const fact = (key: string) => page.locator(`dd[data-fact="${key}"]`).textContent()
      expect(await page.locator('.summary h1').textContent()).toBe('db-02')
      expect(await fact('os')).toBe('Ubuntu 24.04.1 LTS')
      expect(await fact('arch')).toBe('x86_64')
      expect(await fact('kernel')).toBe('6.8.0-45-generic')
      expect(await fact('cpu')).toBe('Intel(R) Xeon(R) E-2236 CPU @ 3.40GHz · 4 cores / 8 threads')
      expect(await fact('memory')).toBe('15.5 GiB')
      expect(await fact('smart-interval')).toBe('1 h 0 min')
      expect(await fact('hub-version')).toBe('plays Beszel 0.18.8')
      expect(await fact('details-source')).toBe('sent by the agent')

      const rows = page.locator('table[data-table="smart"] tbody tr')
      await expect.poll(() => rows.count()).toBe(2)
      expect(await rows.nth(0).locator('td').allTextContents()).toEqual(['/dev/nvme0', 'Disk S1', 'PASSED', '477 GiB', '41 °C', 'FW1', 'S1', 'nvme', '1234', '77'])
      expect(await rows.nth(1).locator('td').nth(2).getAttribute('class')).toBe('bad')
      // a complete answer without S2: the 0.18.8 hub prunes it, the page follows
      store.setSmartDevices(id, applySmartAnswer(store.smartDevices(id), id, answer(['S1']), true))
      await expect.poll(() => rows.allTextContents()).toEqual([expect.stringContaining('Disk S1')])

      // details the hub synthesized from legacy Info: the OS from the enum, no architecture
      await page.goto(`${server.url}#${other}`)
      await page.waitForSelector(`#system[data-system="${other}"]`)
      await expect.poll(() => fact('details-source')).toMatch(/^synthesized by the hub from legacy Info/)
      expect(await fact('os')).toBe('Linux')
      expect(await fact('arch')).toBe('—')
      expect(await fact('memory')).toBe('4.00 GiB')
      expect(await page.locator('table[data-table="smart"]').isHidden()).toBe(true)
      expect(await page.locator('section.tables p.hint', { hasText: 'No S.M.A.R.T. data' }).count()).toBe(1)
    } finally {
      await context.close()
      await server.close()
    }
  })
})

describe.skipIf(!browser)('dev hub page in headless Chromium (real hub, real agent, real Podman container)', () => {
  let hub: DevHub
  let agent: ChildProcess | undefined
  let agentLog = ''
  let podman: Podman | undefined
  let systemd: RealSystemd | undefined
  const containerName = 'sonar-hub-web-sleeper'

  beforeAll(async () => {
    const started = await Podman.start()
    if (started.ok) {
      podman = started.podman
      await podman.runContainer(containerName, ['sleep', '100000'])
    } else {
      console.warn(`[hub-web.test] containers-table check SKIPPED: ${started.reason}`)
    }
    const realSystemd = await RealSystemd.start()
    if (realSystemd.ok) systemd = realSystemd.systemd
    else console.warn(`[hub-web.test] services-table check SKIPPED: ${realSystemd.reason}`)
    const store = new HubStore()
    hub = await startDevHub({ dataDir: tempDir(), port: 0, store, web: createWebHandler(store) })
    const home = tempDir()
    agent = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'ts', 'bin.ts'), 'run'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: home,
        TMPDIR: home,
        LOG_LEVEL: 'info',
        KEY: hub.key,
        TOKEN: hub.token,
        HUB_URL: hub.agentUrl,
        DATA_DIR: join(home, 'data'),
        DISABLE_SSH: 'true',
        SMART_DEVICES: '',
        ...(podman ? { DOCKER_HOST: `unix://${podman.socketPath}` } : {}),
        ...(systemd ? { DBUS_SYSTEM_BUS_ADDRESS: systemd.address, SERVICE_PATTERNS: 'sonar-*' } : { SKIP_SYSTEMD: 'true' }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    agent.stdout?.on('data', (chunk: Buffer) => (agentLog = (agentLog + chunk.toString()).slice(-4000)))
    agent.stderr?.on('data', (chunk: Buffer) => (agentLog = (agentLog + chunk.toString()).slice(-4000)))
  }, 60_000)

  afterAll(async () => {
    if (agent && agent.exitCode === null) {
      const exited = new Promise((resolve) => agent?.once('exit', resolve))
      agent.kill('SIGTERM')
      await exited
    }
    await hub?.close()
    await podman?.close()
    await systemd?.close()
  }, 60_000)

  it('loads, advances a chart as 1 s samples arrive, lists the Podman container, and saves a screenshot', async () => {
    const id = await until(`the agent to connect and send a sample (agent log: ${agentLog})`, () => hub.store.list().find((s) => s.lastSampleAt !== null)?.id, 30_000)
    const context = await browser!.newContext({ viewport: { width: 1440, height: 900 } })
    const page = await context.newPage()
    const errors: string[] = []
    page.on('pageerror', (error) => errors.push(error.message))
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text())
    })
    await page.goto(hub.url)
    await expect.poll(() => page.textContent('[data-testid="dev-label"]')).toBe('DEV HUB — demo/testing only, in-memory')
    await page.waitForSelector(`#system[data-system="${id}"]`)
    await page.waitForSelector(`nav a[data-system="${id}"]`)

    // opening the page makes the hub poll every second
    await until('the page to watch the system', () => hub.store.isWatched(id), 10_000)
    const cpu = page.locator('[data-chart="cpu"]')
    await expect.poll(async () => Number(await cpu.getAttribute('data-points')), { timeout: 15_000 }).toBeGreaterThan(0)
    const before = { points: Number(await cpu.getAttribute('data-points')), lastAt: Number(await cpu.getAttribute('data-last-at')) }
    await expect.poll(async () => Number(await cpu.getAttribute('data-points')), { timeout: 15_000 }).toBeGreaterThanOrEqual(before.points + 3)
    const after = { points: Number(await cpu.getAttribute('data-points')), lastAt: Number(await cpu.getAttribute('data-last-at')) }
    expect(after.lastAt).toBeGreaterThan(before.lastAt)
    // the chart's newest point is a 1 s sample the hub received
    const realtime = hub.store.history(id).filter((s) => s.cacheTimeMs === 1000)
    expect(realtime.map((s) => s.at)).toContain(after.lastAt)
    // uPlot drew it: a canvas and one legend row per series (x plus total/user/system/iowait/steal)
    expect(await cpu.locator('canvas').count()).toBe(1)
    expect(await cpu.locator('.u-legend .u-series').count()).toBeGreaterThanOrEqual(2)
    for (const key of ['memory', 'disk-usage', 'network', 'load', 'cpu-cores']) {
      expect(Number(await page.locator(`[data-chart="${key}"]`).getAttribute('data-points')), key).toBeGreaterThan(0)
    }

    if (podman) {
      const table = page.locator('table[data-table="containers"]')
      await expect.poll(() => table.textContent(), { timeout: 20_000 }).toContain(containerName)
      await page.locator('[data-chart="container-cpu"]').scrollIntoViewIfNeeded()
    }
    if (systemd) {
      // the real systemd's units, from the agent's first 60 s answer; the failed one listed first
      const rows = page.locator('table[data-table="services"] tbody tr')
      await expect.poll(() => rows.allTextContents(), { timeout: 20_000 }).toEqual(expect.arrayContaining([expect.stringContaining('sonar-running')]))
      expect((await rows.first().textContent()) ?? '').toContain('sonar-failing')
    }
    mkdirSync(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: join(ARTIFACTS, 'hub-page.png'), fullPage: true })
    expect(errors).toEqual([])

    await context.close()
    await until('the hub to stop polling every second once the page is gone', () => (hub.store.isWatched(id) ? undefined : true), 10_000)
  }, 90_000)

  // Needs the agent's v0.18 shape (Details on IncludeDetails, beszel-v0.18.md §3): until then the hub synthesizes them.
  it('shows the Details the agent sent to this 0.18.8 hub: OS name, architecture, kernel, CPU model, memory total', async () => {
    const id = await until(`details stored (agent log: ${agentLog})`, () => hub.store.list().find((s) => hub.store.details(s.id))?.id, 30_000)
    const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } })
    try {
      const page = await context.newPage()
      await page.goto(`${hub.url}#${encodeURIComponent(id)}`)
      await page.waitForSelector(`#system[data-system="${id}"]`)
      const fact = (key: string) => page.locator(`dd[data-fact="${key}"]`).textContent()
      await expect.poll(() => fact('details-source')).toBe('sent by the agent')
      // the host's own os-release, also with an engine (Go v0.18.8 prefers the engine's /info
      // OperatingSystem, "debian" under Podman here: a deliberate difference, README)
      expect(await fact('os')).toBe(prettyName())
      expect(await fact('arch')).toBe(execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim())
      expect(await fact('kernel')).toBe(release())
      const details = hub.store.details(id)?.details
      expect(details?.CpuModel).not.toBe('')
      expect(await fact('cpu')).toContain(details?.CpuModel ?? '?')
      expect(await fact('memory')).toBe(bytes(totalmem()))
      expect(await page.locator('.summary h1').textContent()).toBe(hostname())
    } finally {
      await context.close()
    }
  }, 60_000)
})
