/**
 * Containers: the engine layer on its own (settings, globs, log decoding, inspect redaction, the
 * stats JSON → raw counters mapping) and against a REAL Podman engine serving the Docker API
 * (test/podman/podman.ts). If Podman cannot start here, the engine tests are skipped with the reason.
 */
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existingSockets } from '../ts/containers/discovery.js'
import { ContainerExcluder } from '../ts/containers/glob.js'
import { redactInspect } from '../ts/containers/inspect.js'
import { decodeLogs, isMultiplexed, stripAnsi } from '../ts/containers/logs.js'
import { ContainerMonitor, mapLimit, toSampleInput } from '../ts/containers/monitor.js'
import { openCollector } from '../ts/collector.js'
import { handleContainerInfo, handleContainerLogs } from '../ts/handlers/containers.js'
import { CONTAINER_WAIT_MS, handleGetData, snapshotWithContainers } from '../ts/handlers/data.js'
import { Decoder } from 'cbor-x'
import type { ContainerJson } from '../index.js'
import { ListedContainerSchema, StatsSchema } from '../ts/containers/schemas.js'
import { containerSettings, parseDockerHost, type ContainerSettings } from '../ts/containers/settings.js'
import { loadNative } from '../ts/native.js'
import type { ContainerSampleInput } from '../ts/containers/types.js'
import { silentLogger } from '../ts/log.js'
import { Podman } from './podman/podman.js'

const FIXTURES = '/work/shared/fixtures/beszel-v0.17'
const settings = (over: Partial<ContainerSettings> = {}): ContainerSettings => ({ enabled: true, dockerHost: undefined, timeoutMs: 2100, exclude: undefined, ...over })

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text)
  const header = Buffer.alloc(8)
  header[0] = stream
  header.writeUInt32BE(payload.length, 4)
  return Buffer.concat([header, payload])
}

describe('container settings', () => {
  it('EXCLUDE_CONTAINERS globs follow Go path.Match', () => {
    const cases: [string, string, boolean | 'bad'][] = [
      ['web-*', 'web-1', true],
      ['web-*', 'web/1', false],
      ['db?', 'db1', true],
      ['db?', 'db12', false],
      ['[a-c]x', 'bx', true],
      ['[^a-c]x', 'bx', false],
      ['[^a-c]x', 'dx', true],
      ['\\*', '*', true],
      ['*', '', true],
      ['[', 'x', 'bad'],
      ['x\\', 'x', 'bad'],
      ['[]a]', ']', 'bad'],
      ['[z-a]', 'b', false],
    ]
    // the native core's matcher: the same one NICS and SENSORS use
    const { globMatch } = loadNative()
    for (const [pattern, name, want] of cases) {
      expect(globMatch(pattern, name), `${pattern} vs ${name}`).toBe(want === 'bad' ? null : want)
    }
    const excluder = new ContainerExcluder(' skip-* , [ ,exact')
    expect(excluder.invalid).toEqual(['['])
    expect(excluder.excludes('skip-me')).toBe(true)
    expect(excluder.excludes('exact')).toBe(true)
    expect(excluder.excludes('keep')).toBe(false)
  })

  it('DOCKER_TIMEOUT is a Go duration', () => {
    // the native core's parser: the same one DISK_USAGE_CACHE uses
    const { parseDuration } = loadNative()
    expect(parseDuration('5s')).toBe(5000)
    expect(parseDuration('1m30s')).toBe(90_000)
    expect(parseDuration('1.5s')).toBe(1500)
    expect(parseDuration('250ms')).toBe(250)
    expect(parseDuration('0')).toBe(0)
    expect(parseDuration('5')).toBeNull()
    expect(parseDuration('s')).toBeNull()
    const warnings: string[] = []
    expect(containerSettings((n) => ({ DOCKER_TIMEOUT: 'soon' })[n], (m) => warnings.push(m)).timeoutMs).toBe(2100)
    expect(warnings[0]).toMatch(/DOCKER_TIMEOUT=soon/)
    expect(containerSettings((n) => ({ DOCKER_TIMEOUT: '10s' })[n]).timeoutMs).toBe(10_000)
  })

  it('DOCKER_HOST: unix, tcp, http(s); set-but-empty disables; other schemes are refused', () => {
    expect(parseDockerHost('unix:///var/run/docker.sock')).toEqual({ kind: 'socket', socketPath: '/var/run/docker.sock' })
    expect(parseDockerHost('tcp://10.0.0.2:2375')).toEqual({ kind: 'tcp', protocol: 'http', host: '10.0.0.2', port: 2375 })
    expect(parseDockerHost('tcp://[::1]')).toEqual({ kind: 'tcp', protocol: 'http', host: '::1', port: 2375 })
    expect(parseDockerHost('https://docker.example:2376')).toEqual({ kind: 'tcp', protocol: 'https', host: 'docker.example', port: 2376 })
    expect(() => parseDockerHost('ssh://host')).toThrow(/unsupported scheme/)
    expect(() => parseDockerHost('/var/run/docker.sock')).toThrow(/unsupported scheme/)
    expect(containerSettings((n) => ({ DOCKER_HOST: '' })[n]).enabled).toBe(false)
    expect(containerSettings(() => undefined)).toMatchObject({ enabled: true, dockerHost: undefined, timeoutMs: 2100 })
  })

  it('discovery: sockets only, two paths to one socket count once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sonar-sock-'))
    const server: Server = createServer()
    const sock = join(dir, 'podman.sock')
    await new Promise<void>((resolve) => server.listen(sock, resolve))
    try {
      symlinkSync(sock, join(dir, 'docker.sock'))
      const found = existingSockets([join(dir, 'docker.sock'), join(dir, 'missing.sock'), sock, dir])
      expect(found).toEqual([{ path: join(dir, 'docker.sock'), real: sock }])
    } finally {
      server.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('no engine socket: key 2 stays null and dockerode is never loaded', async () => {
    let loads = 0
    const monitor = new ContainerMonitor({
      settings: settings(),
      logger: silentLogger,
      candidates: ['/nonexistent/docker.sock'],
      loadDockerode: async () => {
        loads++
        return (await import('dockerode')).default
      },
    })
    expect(await monitor.sample()).toEqual({ containers: null, podman: false })
    const disabled = new ContainerMonitor({ settings: settings({ enabled: false }), logger: silentLogger })
    expect(await disabled.sample()).toEqual({ containers: null, podman: false })
    expect(loads).toBe(0)
  })

  it('mapLimit never runs more than the limit at once', async () => {
    let running = 0
    let peak = 0
    const out = await mapLimit([...Array(50).keys()], 8, async (n) => {
      running++
      peak = Math.max(peak, running)
      await new Promise((r) => setTimeout(r, 1))
      running--
      return n * 2
    })
    expect(peak).toBe(8)
    expect(out[49]).toBe(98)
  })
})

describe('engine JSON → raw counters', () => {
  it('the v0.17 stats fixtures map to the counters the core needs', () => {
    const listed = ListedContainerSchema.parse({
      Id: 'abcdef0123456789'.repeat(4),
      Names: ['/web'],
      Image: 'nginx',
      Status: 'Up About an hour (healthy)',
      Ports: [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }, { PrivatePort: 443, Type: 'tcp' }],
    })
    const stats = StatsSchema.parse(JSON.parse(readFileSync(join(FIXTURES, 'container.json'), 'utf8')))
    const input: ContainerSampleInput = toSampleInput(listed, stats)
    expect(input).toEqual({
      id: listed.Id,
      name: 'web',
      image: 'nginx',
      status: 'Up About an hour (healthy)',
      ports: [{ ip: '0.0.0.0', publicPort: 8080 }],
      cpuTotal: 312055276000,
      cpuSystem: 1366399830000000,
      onlineCpus: expect.any(Number) as number,
      memUsage: 507400192,
      memInactiveFile: 165130240,
      memCache: expect.any(Number) as number,
      netRx: 537029455 + 6241,
      netTx: 20376558 + 2003766,
    })
  })

  it('absent or odd counters read as 0, never throw', () => {
    const stats = StatsSchema.parse({ cpu_stats: { cpu_usage: { total_usage: 5 } }, memory_stats: 'weird', networks: null })
    const input = toSampleInput(ListedContainerSchema.parse({ Id: 'a'.repeat(64), Names: null }), stats)
    expect(input).toMatchObject({ name: 'aaaaaaaaaaaa', cpuTotal: 5, cpuSystem: 0, onlineCpus: 0, memUsage: 0, netRx: 0, ports: [] })
    expect(ListedContainerSchema.safeParse({ Id: '../etc', Names: ['/x'] }).success).toBe(false)
  })
})

describe('logs and inspect payloads', () => {
  it('multiplexed frames are decoded, stdout and stderr interleaved, ANSI stripped', () => {
    const data = Buffer.concat([frame(1, '\x1b[31mred\x1b[0m out\n'), frame(2, 'err \x1b]0;title\x07line\n'), frame(1, '\x1b(Bplain\n')])
    expect(isMultiplexed(data)).toBe(true)
    expect(decodeLogs(data)).toBe('red out\nerr line\nplain\n')
  })

  it('a TTY stream (no frame headers) is passed through with CRLF normalised', () => {
    const data = Buffer.from('\x1b[1mbold\x1b[0m tty\r\nsecond\r\n')
    expect(isMultiplexed(data)).toBe(false)
    expect(decodeLogs(data)).toBe('bold tty\nsecond\n')
  })

  it('output is capped', () => {
    const big = Buffer.concat([frame(1, 'x'.repeat(1000)), frame(1, 'y'.repeat(1000))])
    expect(decodeLogs(big, 1500)).toBe('x'.repeat(1000) + 'y'.repeat(500))
    expect(stripAnsi('\x1b[38;5;196mc\x1b[K')).toBe('c')
  })

  it('inspect loses Config.Env and nothing else', () => {
    const raw = { Id: 'abc', Config: { Env: ['SECRET=1'], Image: 'x' }, State: { Running: true } }
    expect(JSON.parse(redactInspect(raw))).toEqual({ Id: 'abc', Config: { Image: 'x' }, State: { Running: true } })
    expect(JSON.parse(redactInspect({ Id: 'abc', Config: null }))).toEqual({ Id: 'abc', Config: null })
  })
})

describe('an engine that hangs', () => {
  it('times out within DOCKER_TIMEOUT and the sample is null, not an error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sonar-hang-'))
    const sockets: import('node:net').Socket[] = []
    const server = createServer((socket) => void sockets.push(socket)) // accepts, never answers
    const sock = join(dir, 'docker.sock')
    await new Promise<void>((resolve) => server.listen(sock, resolve))
    try {
      const monitor = new ContainerMonitor({ settings: settings({ timeoutMs: 300 }), logger: silentLogger, candidates: [sock] })
      const started = Date.now()
      expect(await monitor.sample()).toEqual({ containers: null, podman: false })
      expect(Date.now() - started).toBeLessThan(2000)
      await expect(monitor.logs('a'.repeat(12))).rejects.toThrow(/timed out|socket hang up|aborted/i)
    } finally {
      for (const s of sockets) s.destroy()
      server.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

// ---- the real engine ----

const podmanStart = await Podman.start()
if (!podmanStart.ok) console.warn(`[containers.test] real Podman engine tests SKIPPED: ${podmanStart.reason}`)
const podman = podmanStart.ok ? podmanStart.podman : undefined

/** "258kB", "1.2MB", "3GiB" as podman stats prints them → bytes. */
function podmanBytes(text: string): number {
  const match = /^([\d.]+)\s*([kMGT]?i?B)$/.exec(text.trim())
  if (!match) return Number.NaN
  const unit = match[2] as string
  const power = { B: 0, k: 1, M: 2, G: 3, T: 4 }[unit[0] === 'B' ? 'B' : (unit[0] as 'k')] ?? 0
  return Number(match[1]) * (unit.includes('i') ? 1024 : 1000) ** power
}

const byName = (list: readonly ContainerSampleInput[] | null, name: string) => list?.find((c) => c.name === name)

/** A unix-socket proxy to `target` whose answers can be held back `delayMs` (a slow engine). */
async function slowProxy(target: string, path: string): Promise<{ delayMs: number; close: () => Promise<void> }> {
  const sockets: Socket[] = []
  const proxy = { delayMs: 0, close: async () => undefined as void }
  const server = createServer((client) => {
    const upstream = connect(target)
    sockets.push(client, upstream)
    client.on('data', (chunk) => upstream.write(chunk))
    upstream.on('data', (chunk) => {
      // one delay per phase keeps the chunks in order (timers of equal delay fire in order)
      if (proxy.delayMs > 0) setTimeout(() => client.writable && client.write(chunk), proxy.delayMs)
      else client.write(chunk)
    })
    const end = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('close', end).on('error', end)
    upstream.on('close', () => setTimeout(end, proxy.delayMs)).on('error', end)
  })
  await new Promise<void>((resolve) => server.listen(path, resolve))
  proxy.close = async () => {
    for (const s of sockets) s.destroy()
    await new Promise((resolve) => server.close(resolve))
  }
  return proxy
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.skipIf(!podman)('real Podman engine (Docker API)', () => {
  const p = podman as Podman
  const ids: Record<string, string> = {}
  let port = 0
  let monitor: ContainerMonitor

  beforeAll(async () => {
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    port = (probe.address() as import('node:net').AddressInfo).port
    await new Promise((resolve) => probe.close(resolve))
    const runs: [string, string[], string[]][] = [
      ['idle', ['sleep', '100000'], ['-e', 'SECRET=hunter2', '-p', `127.0.0.1:${port}:80`]],
      ['busy', ['sh', '-c', 'while :; do :; done'], ['--cpus', '0.5']],
      ['logger', ['sh', '-c', 'printf "\\033[31mred\\033[0m line\\n"; echo "to stderr" >&2; printf "\\033]0;title\\007plain\\n"; sleep 100000'], []],
      ['tty', ['sh', '-c', 'printf "\\033[1mbold\\033[0m tty\\n"; sleep 100000'], ['-t']],
      ['exits', ['sh', '-c', 'echo bye; exit 3'], []],
      ['skip-me', ['sleep', '100000'], []],
      ['stopper', ['sleep', '100000'], []],
    ]
    await Promise.all(runs.map(async ([name, command, flags]) => (ids[name] = await p.runContainer(name, command, flags))))
    await p.cli('wait', 'exits')
    monitor = new ContainerMonitor({
      settings: settings({ dockerHost: { kind: 'socket', socketPath: p.socketPath }, exclude: 'skip-*' }),
      logger: silentLogger,
    })
  })

  afterAll(async () => {
    await p.close()
  })

  it('lists the running containers once, excluded and exited ones absent, Podman flagged, ports kept', async () => {
    const { containers, podman: isPodman } = await monitor.sample()
    expect(isPodman).toBe(true)
    const names = (containers ?? []).map((c) => c.name).sort()
    expect(names).toEqual(['busy', 'idle', 'logger', 'stopper', 'tty'])
    const idle = byName(containers, 'idle')
    expect(idle).toMatchObject({ id: ids.idle, image: 'localhost/sonar-test:1', ports: [{ ip: '127.0.0.1', publicPort: port }] })
    expect(idle?.status).toMatch(/^Up /)
    expect(idle?.cpuSystem).toBeGreaterThan(0)
    expect(idle?.netRx).toBeGreaterThanOrEqual(0)
  })

  it('the busy container burns clearly more CPU than the idle one (share of the host)', async () => {
    const first = (await monitor.sample()).containers
    await sleep(1000)
    const second = (await monitor.sample()).containers
    const pct = (name: string) => {
      const a = byName(first, name)
      const b = byName(second, name)
      if (!a || !b) throw new Error(`${name} missing`)
      return ((b.cpuTotal - a.cpuTotal) / (b.cpuSystem - a.cpuSystem)) * 100
    }
    const busy = pct('busy')
    const idle = pct('idle')
    expect(busy).toBeGreaterThan(5)
    expect(idle).toBeLessThan(1)
    expect(busy).toBeGreaterThan(idle * 10)
  })

  it('memory usage is what podman stats reports', async () => {
    const sample = await monitor.sample()
    const rows = JSON.parse(await p.cli('stats', '--no-stream', '--format', 'json')) as { name: string; mem_usage: string }[]
    for (const name of ['idle', 'logger']) {
      const theirs = podmanBytes(rows.find((r) => r.name === name)?.mem_usage.split('/')[0] ?? '')
      const ours = byName(sample.containers, name)?.memUsage ?? Number.NaN
      expect(ours, name).toBeGreaterThan(0)
      expect(Math.abs(ours - theirs), `${name}: ours ${ours}, podman ${theirs}`).toBeLessThan(Math.max(512 * 1024, theirs * 0.25))
    }
  })

  it('logs: multiplexed stdout+stderr decoded, TTY stream handled, ANSI stripped, exited containers too', async () => {
    const logs = await monitor.logs((ids.logger as string).slice(0, 12))
    // stdout and stderr come from separate pipes: their relative order is the engine's
    expect(logs.split('\n').sort()).toEqual(['', 'plain', 'red line', 'to stderr'])
    expect(logs).not.toContain('\x1b')
    const tty = await monitor.logs(ids.tty as string)
    expect(tty).toBe('bold tty\n')
    expect(await monitor.logs(ids.exits as string)).toBe('bye\n')
  })

  it('inspect answers without Config.Env', async () => {
    const info = JSON.parse(await monitor.info((ids.idle as string).slice(0, 12))) as { Id: string; Config: Record<string, unknown>; State: { Running: boolean } }
    expect(info.Id).toBe(ids.idle)
    expect(info.State.Running).toBe(true)
    expect(info.Config).toBeTypeOf('object')
    expect(info.Config).not.toHaveProperty('Env')
    expect(JSON.stringify(info)).not.toContain('hunter2')
  })

  it('an unknown container id is an error, not a crash', async () => {
    await expect(monitor.info('0123456789ab')).rejects.toThrow(/no such container/)
    await expect(monitor.logs('0123456789ab')).rejects.toThrow(/no such container/)
  })

  it('a container that stops between list and stats is skipped; the rest still reported', async () => {
    const before = await monitor.sample()
    expect(byName(before.containers, 'stopper')).toBeDefined()
    await p.cli('stop', '-t', '0', 'stopper')
    const after = await monitor.sample()
    expect(byName(after.containers, 'stopper')).toBeUndefined()
    expect(byName(after.containers, 'idle')).toBeDefined()
  })

  it('GetData end to end: the core turns the raw counters into v0.17 container items (CPU, memory, status, ports, Info.p)', async () => {
    const collector = openCollector({})
    // cache time 0: never served from the snapshot cache; 1000: one window per real-time tick
    await snapshotWithContainers(collector, 1000, monitor)
    await sleep(1100)
    const data = await snapshotWithContainers(collector, 1000, monitor)
    const items = data.container ?? []
    const item = (name: string): ContainerJson => {
      const found = items.find((c) => c.n === name)
      if (!found) throw new Error(`${name} missing from ${JSON.stringify(items.map((c) => c.n))}`)
      return found
    }
    expect(items.map((c) => c.n).sort()).toEqual(['busy', 'idle', 'logger', 'tty'])
    expect(data.info.p).toBe(true)
    // --cpus 0.5 on a 2-CPU host: about 25 % of the whole host
    expect(item('busy').c).toBeGreaterThan(5)
    expect(item('busy').c).toBeLessThanOrEqual(100)
    expect(item('idle').c).toBeLessThan(1)
    expect(item('idle').m).toBeGreaterThan(0)
    expect(item('idle').m).toBeLessThan(64)
    expect(item('idle')).toMatchObject({ id: (ids.idle as string).slice(0, 12), image: 'localhost/sonar-test:1', ports: `127.0.0.1:${port}`, health: 0 })
    expect(item('idle').status).toMatch(/^Up /)
  })

  it('a slow engine does not hold GetData: the last sample is sent, its CPU figures repeated, not zeroed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sonar-slow-engine-'))
    const proxy = await slowProxy(p.socketPath, join(dir, 'slow.sock'))
    try {
      const slow = new ContainerMonitor({ settings: settings({ dockerHost: { kind: 'socket', socketPath: join(dir, 'slow.sock') }, timeoutMs: 10_000 }), logger: silentLogger })
      const collector = openCollector({})
      const decode = (answer: Awaited<ReturnType<typeof handleGetData>>) => {
        const cbor = (answer.body as { cbor: Uint8Array }).cbor
        const list = (new Decoder({ mapsAsObjects: false, useRecords: false } as never).decode(cbor) as Map<number, unknown>).get(2) as Map<number, unknown>[] | null
        return new Map((list ?? []).map((c) => [c.get(0) as string, c.get(1) as number]))
      }
      const getData = () => handleGetData({ cacheTimeMs: 1000, includeDetails: undefined }, collector, slow)
      await getData()
      await sleep(1100)
      const fresh = decode(await getData())
      expect(fresh.get('busy')).toBeGreaterThan(5)
      // now the engine takes 2 s per answer (DOCKER_TIMEOUT 10 s)
      proxy.delayMs = 2000
      await sleep(600)
      const started = performance.now()
      const late = decode(await getData())
      expect(performance.now() - started).toBeLessThan(CONTAINER_WAIT_MS + 1500)
      // the sample already measured for this cache time: the same figures, not a zero-length window
      expect(late.get('busy')).toBe(fresh.get('busy'))
      expect([...late.keys()].sort()).toEqual([...fresh.keys()].sort())
      // the refresh finishes in the background and is the next "last" sample
      const background = await slow.sample()
      expect(byName(background.containers, 'idle')).toBeDefined()
    } finally {
      await proxy.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('GetData answers key 2 as CBOR; a fresh cache answers without asking the engines', async () => {
    const collector = openCollector({})
    let asked = 0
    const counting = { sample: () => (asked++, monitor.sample()) }
    const first = await handleGetData({ cacheTimeMs: 60_000, includeDetails: undefined }, collector, counting)
    expect(first.body.kind).toBe('data')
    const cbor = (first.body as { cbor: Uint8Array }).cbor
    const decoded = new Decoder({ mapsAsObjects: false, useRecords: false } as never).decode(cbor) as Map<number, unknown>
    const list = decoded.get(2) as Map<number, unknown>[]
    expect(list.map((c) => c.get(0)).sort()).toContain('idle')
    expect(asked).toBe(1)
    await handleGetData({ cacheTimeMs: 60_000, includeDetails: undefined }, collector, counting)
    expect(asked).toBe(1)
  })

  it('GetContainerLogs / GetContainerInfo handlers answer under key 4, errors under key 3', async () => {
    const logs = await handleContainerLogs({ containerId: (ids.tty as string).slice(0, 12) }, monitor)
    expect(logs.body).toEqual({ kind: 'string', text: 'bold tty\n' })
    const info = await handleContainerInfo({ containerId: ids.idle as string }, monitor)
    expect(info.body.kind).toBe('string')
    expect((info.body as { text: string }).text).not.toContain('SECRET=')
    const missing = await handleContainerInfo({ containerId: 'fedcba987654' }, monitor)
    expect(missing.body).toEqual({ kind: 'error', message: 'no such container: fedcba987654' })
    expect(await handleContainerLogs({ containerId: 'fedcba987654' }, undefined)).toMatchObject({ body: { kind: 'error' } })
  })

  it('an engine found by socket discovery that stops and comes back is picked up again', async () => {
    const discovering = new ContainerMonitor({ settings: settings(), logger: silentLogger, candidates: ['/nonexistent/docker.sock', p.socketPath] })
    expect(byName((await discovering.sample()).containers, 'idle')).toBeDefined()
    await p.stopService()
    expect((await discovering.sample()).containers).toBeNull()
    await p.startService()
    const again = await discovering.sample()
    expect(byName(again.containers, 'idle')).toBeDefined()
    expect(again.podman).toBe(true)
  })

  it('Podman is recognised by its answers, not its socket path (v0.18.8); health comes from inspect', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sonar-engine-'))
    const link = join(dir, 'engine.sock')
    symlinkSync(p.socketPath, link)
    await p.runContainer('checked', ['sleep', '100000'], ['--health-cmd', 'true'])
    try {
      await p.cli('healthcheck', 'run', 'checked')
      const anonymous = new ContainerMonitor({ settings: settings({ dockerHost: { kind: 'socket', socketPath: link } }), logger: silentLogger })
      expect(link).not.toContain('podman')
      let heard = 0
      anonymous.onPodmanDetected(() => heard++)
      const sample = await anonymous.sample()
      expect(sample.podman).toBe(true)
      expect(anonymous.podman).toBe(true)
      expect(heard).toBe(1)
      // Podman's status text has no "(healthy)": the health is inspect's
      expect(byName(sample.containers, 'checked')?.status).not.toMatch(/healthy/)
      expect(byName(sample.containers, 'checked')?.health).toBe('healthy')
      expect(byName(sample.containers, 'idle')?.health).toBeUndefined()
      expect(byName(sample.containers, 'idle')?.readUs).toBeGreaterThan(Date.UTC(2020, 0) * 1000)
      const data = await snapshotWithContainers(openCollector({}), 1000, anonymous)
      expect(data.container?.find((c) => c.n === 'checked')?.health).toBe(2)
      expect(data.info.p).toBe(true)
    } finally {
      await p.cli('rm', '-f', '-t', '0', 'checked')
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
