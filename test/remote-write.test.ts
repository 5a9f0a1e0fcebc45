/**
 * Remote write against a real HTTP peer (node:http) that decodes what it gets — snappy and the
 * protobuf read back by test/helpers/remote-write-decode.ts, independently of the Rust encoder —
 * and answers as a receiver would: accept, fail (5xx, 429), refuse (4xx) or hang. The real addon
 * encodes every reading.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../ts/config/config.js'
import { createLogger } from '../ts/log.js'
import { loadNative } from '../ts/native.js'
import { startMetrics, type MetricsPart } from '../ts/metrics/start.js'
import { startRemoteWrite, type RemoteWritePart } from '../ts/metrics/remote-write.js'
import { loadQueue, queueFilePath, saveQueue } from '../ts/metrics/queue-file.js'
import type { MetricsOptions } from '../index.js'
import { decodeWriteRequest, seriesName, type DecodedSeries } from './helpers/remote-write-decode.js'
import { until } from './helpers/until.js'
import { startAgentProcess } from './helpers/agent-process.js'
import { freePort } from './helpers/net.js'
import { haveOpenssl, makeTestCerts } from './helpers/tls-certs.js'
import { startConnectProxy } from './helpers/connect-proxy.js'

interface Received {
  headers: IncomingHttpHeaders
  series: DecodedSeries[]
  /** the one timestamp every series of a request carries */
  timestamp: number
  status: number
}

type Answer = (n: number, res: ServerResponse) => number | 'hang'

/**
 * A receiver whose answer to request n (from 0) is `answer`'s; it records what it accepted and
 * what it answered. With `tls`, it speaks HTTPS with that certificate.
 */
async function receiver(answer: Answer = () => 204, tls?: { cert: string; key: string }) {
  const requests: Received[] = []
  const hanging: ServerResponse[] = []
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const series = decodeWriteRequest(Buffer.concat(chunks))
      const stamps = new Set(series.flatMap((s) => s.samples.map((x) => x.timestamp)))
      expect(stamps.size).toBe(1)
      const status = answer(requests.length, res)
      requests.push({ headers: req.headers, series, timestamp: [...stamps][0] as number, status: status === 'hang' ? 0 : status })
      if (status === 'hang') {
        hanging.push(res)
        return
      }
      res.writeHead(status).end(status >= 400 ? `answer ${status}` : '')
    })
  }
  const server: Server = tls ? createTlsServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, handler) : createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`
  return {
    url,
    requests,
    accepted: () => requests.filter((r) => r.status >= 200 && r.status < 300),
    close: async () => {
      for (const res of hanging) res.destroy()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

const dir = mkdtempSync(join(tmpdir(), 'rw-test-'))
const NO_FILE = join(dir, 'none.yml')
const native = loadNative()

function logSink() {
  const lines: string[] = []
  return { lines, logger: createLogger('debug', { write: (line: string) => lines.push(line) }) }
}

/** startRemoteWrite with the daemon's wiring: each reading carries the writer's own counters. */
async function writer(env: Record<string, string>, options: { reading?: () => Promise<MetricsOptions>; dataDir?: string } = {}) {
  const config = loadConfig({}, env, { hubSettings: false, defaultConfigFile: NO_FILE })
  const { lines, logger } = logSink()
  let part: RemoteWritePart | undefined
  const reading = options.reading ?? (async () => ({ counters: part?.counters() ?? {} }))
  part = await startRemoteWrite({ config, native, logger, ...(options.dataDir ? { dataDir: options.dataDir } : {}) }, reading, { random: () => 0.05 })
  cleanups.push(() => (part as RemoteWritePart).close())
  return { part, lines }
}

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const isIncreasing = (list: number[]) => list.every((t, i) => i === 0 || t > (list[i - 1] as number))

describe('metricsRemoteWrite (the binding)', () => {
  const container = { id: '0123456789abcdef0123', name: 'web', image: 'nginx:1.25', status: 'Up 2 hours', ports: [], cpuTotal: 2_500_000_000, cpuSystem: 0, onlineCpus: 2, memUsage: 100 << 20, memInactiveFile: 30 << 20, memCache: 0, netRx: 1234, netTx: 99 }

  it('a reading with containers carries their cAdvisor series, with the extra labels replacing same-named ones', async () => {
    const { body, samples } = await native.metricsRemoteWrite({ timestampMs: 1_764_700_000_000, labels: [['job', 'sonar-agent'], ['name', 'replaced'], ['instance', 'h']], containers: [container] })
    const series = decodeWriteRequest(body)
    expect(series).toHaveLength(samples)
    const cpu = series.find((s) => seriesName(s) === 'container_cpu_usage_seconds_total')
    expect(cpu).toEqual({
      labels: [
        ['__name__', 'container_cpu_usage_seconds_total'],
        ['image', 'nginx:1.25'],
        ['instance', 'h'],
        ['job', 'sonar-agent'],
        ['name', 'replaced'],
      ],
      samples: [{ value: 2.5, timestamp: 1_764_700_000_000 }],
    })
  })

  it('a label name Prometheus would refuse is refused, naming it', async () => {
    await expect(native.metricsRemoteWrite({ timestampMs: 0, labels: [['bad-name', 'x']] })).rejects.toThrow(/labels: label name "bad-name" is not valid/)
    await expect(native.metricsRemoteWrite({ timestampMs: 0, labels: [['__name__', 'x']] })).rejects.toThrow(/label name "__name__"/)
  })
})

describe('remote write to a real HTTP receiver', () => {
  it('sends the protocol headers, basic auth, and every series sorted with job and instance (through the daemon entry, start.ts)', async () => {
    const rx = await receiver()
    cleanups.push(rx.close)
    const password = join(dir, 'password')
    writeFileSync(password, 's3cret\n')
    const config = loadConfig(
      {},
      { REMOTE_WRITE_URL: rx.url, REMOTE_WRITE_INTERVAL: '200ms', REMOTE_WRITE_LABELS: 'instance=web-01,env=test', REMOTE_WRITE_USERNAME: 'sonar', REMOTE_WRITE_PASSWORD_FILE: password },
      { hubSettings: false, defaultConfigFile: NO_FILE },
    )
    const part: MetricsPart = await startMetrics({ config, native, logger: logSink().logger })
    cleanups.push(() => part.close())
    await until('two accepted requests', () => rx.accepted().length >= 2, 10_000)
    const first = rx.requests[0] as Received
    expect(first.headers['content-encoding']).toBe('snappy')
    expect(first.headers['content-type']).toBe('application/x-protobuf')
    expect(first.headers['x-prometheus-remote-write-version']).toBe('0.1.0')
    expect(first.headers['user-agent']).toMatch(/^sonar-agent\/\d+\.\d+\.\d+/)
    expect(first.headers.authorization).toBe(`Basic ${Buffer.from('sonar:s3cret').toString('base64')}`)
    expect(Math.abs(first.timestamp - Date.now())).toBeLessThan(10_000)
    for (const series of first.series) {
      const names = series.labels.map(([n]) => n)
      expect(names).toEqual([...names].sort())
      expect(Object.fromEntries(series.labels)).toMatchObject({ job: 'sonar-agent', instance: 'web-01', env: 'test' })
    }
    // the writer's own counters arrive with the reading (start.ts wires counters() into it)
    const second = rx.requests[1] as Received
    const sent = second.series.find((s) => seriesName(s) === 'sonar_remote_write_sent_samples_total')
    expect(sent?.samples[0]?.value).toBe(first.series.length)
    expect(second.series.map(seriesName)).toEqual(expect.arrayContaining(['sonar_remote_write_pending_samples', 'sonar_remote_write_dropped_samples_total', 'sonar_remote_write_failed_requests_total', 'sonar_remote_write_pending_bytes', 'sonar_remote_write_oldest_pending_age_seconds']))
  })

  it('a receiver that fails (503, 429, connection reset) for a while gets every reading, in order, once it is back', async () => {
    const rx = await receiver((n, res) => {
      if (n < 4) return 503
      if (n === 4) {
        res.setHeader('Retry-After', '1')
        return 429
      }
      if (n === 5) {
        res.socket?.destroy()
        return 'hang'
      }
      return 204
    })
    cleanups.push(rx.close)
    const { part, lines } = await writer({ REMOTE_WRITE_URL: rx.url, REMOTE_WRITE_INTERVAL: '100ms' })
    await until('accepted requests after the failures', () => rx.accepted().length >= 30, 20_000)
    // the receiver records a request before its answer reaches the writer: wait for a quiet moment
    const acceptedSamples = () => rx.accepted().reduce((n, r) => n + r.series.length, 0)
    const c = await until(
      'the writer counted every accepted request',
      () => {
        const counters = part.counters()
        return counters.remoteWriteSentSamples === acceptedSamples() && counters
      },
      5_000,
      5,
    )
    await part.close()
    const stamps = rx.accepted().map((r) => r.timestamp)
    expect(isIncreasing(stamps)).toBe(true)
    // every reading taken arrived: no gap larger than a couple of intervals
    const gaps = stamps.slice(1).map((t, i) => t - (stamps[i] as number))
    expect(Math.max(...gaps)).toBeLessThan(300)
    // the first reading is the one the failures were about: it was retried, not lost
    expect(stamps[0]).toBe(rx.requests[0]?.timestamp)
    // four 503, one 429, one reset (a keep-alive socket the server closed meanwhile may add one)
    expect(c.remoteWriteFailedRequests).toBeGreaterThanOrEqual(6)
    expect(c.remoteWriteDroppedSamples).toBe(0)
    // one line when it broke and one when it came back, not one per failure
    expect(lines.filter((l) => l.includes('WARN') && l.includes('receiver not reachable'))).toHaveLength(1)
    expect(lines.filter((l) => l.includes('receiver is back'))).toHaveLength(1)
  }, 30_000)

  it('a 4xx other than 429 drops that request (counted, logged) and the next ones go on', async () => {
    const rx = await receiver((n) => (n === 0 ? 400 : 204))
    cleanups.push(rx.close)
    const { part, lines } = await writer({ REMOTE_WRITE_URL: rx.url, REMOTE_WRITE_INTERVAL: '100ms' })
    await until('three accepted requests', () => rx.accepted().length >= 3, 10_000)
    const refused = rx.requests[0] as Received
    const c = part.counters()
    expect(c.remoteWriteDroppedSamples).toBe(refused.series.length)
    expect(c.remoteWriteFailedRequests).toBe(1)
    // never sent again
    expect(rx.requests.filter((r) => r.timestamp === refused.timestamp)).toHaveLength(1)
    expect(lines.find((l) => l.includes('receiver refused requests'))).toMatch(/status=400 answer="answer 400" requests=1 /)
  })

  it('a receiver that refuses everything (a wrong token: 401) is one log line, not one per request', async () => {
    const rx = await receiver(() => 401)
    cleanups.push(rx.close)
    const { part, lines } = await writer({ REMOTE_WRITE_URL: rx.url, REMOTE_WRITE_INTERVAL: '50ms' })
    await until('twenty refusals', () => rx.requests.length >= 20, 10_000)
    const samples = rx.requests.slice(0, 20).reduce((n, r) => n + r.series.length, 0)
    // the receiver records a request before its answer reaches the writer
    await until('the twenty counted as dropped', () => (part.counters().remoteWriteDroppedSamples ?? 0) >= samples, 5_000)
    expect(lines.filter((l) => l.includes('receiver refused'))).toHaveLength(1)
    await part.close()
    // close says what was refused since that line
    expect(lines.filter((l) => l.includes('receiver refused'))).toHaveLength(2)
  })

  it('the queue bound drops the oldest readings, counts them, logs once, and sends the newest in order when the receiver is back', async () => {
    let down = true
    const rx = await receiver(() => (down ? 503 : 204))
    cleanups.push(rx.close)
    const { part, lines } = await writer({ REMOTE_WRITE_URL: rx.url, REMOTE_WRITE_INTERVAL: '50ms', REMOTE_WRITE_QUEUE_MAX_BYTES: '20KiB' })
    await until('drops', () => (part.counters().remoteWriteDroppedSamples ?? 0) > 50, 20_000)
    const during = part.counters()
    expect(during.remoteWritePendingBytes).toBeLessThanOrEqual(20 * 1024)
    expect(during.remoteWritePendingSamples).toBeGreaterThan(0)
    expect(during.remoteWriteSentSamples).toBe(0)
    const firstTry = (rx.requests[0] as Received).timestamp
    down = false
    await until('the queue drained', () => part.counters().remoteWritePendingSamples === 0 && rx.accepted().length > 0, 40_000)
    const stamps = rx.accepted().map((r) => r.timestamp)
    expect(isIncreasing(stamps)).toBe(true)
    // the oldest were the ones dropped
    expect(stamps[0]).toBeGreaterThan(firstTry)
    const after = part.counters()
    expect(after.remoteWriteDroppedSamples).toBeGreaterThanOrEqual(during.remoteWriteDroppedSamples ?? 0)
    const drops = lines.filter((l) => l.includes('queue bound hit'))
    expect(drops.length).toBeGreaterThanOrEqual(1)
    expect(drops.length).toBeLessThanOrEqual(3)
    expect(drops[0]).toMatch(/max_bytes=20480/)
  }, 60_000)

  it('the age bound keeps no reading older than REMOTE_WRITE_QUEUE_MAX_AGE', async () => {
    const rx = await receiver(() => 503)
    cleanups.push(rx.close)
    const { part } = await writer({ REMOTE_WRITE_URL: rx.url, REMOTE_WRITE_INTERVAL: '50ms', REMOTE_WRITE_QUEUE_MAX_AGE: '500ms' })
    await until('age drops', () => (part.counters().remoteWriteDroppedSamples ?? 0) > 0, 10_000)
    const started = Date.now()
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    // unbounded, the oldest would be older than these 1.5 s; bounded, it is 0.5 s and a tick or two
    // (a timer may fire a millisecond early by Date.now's clock, which rounds differently)
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_490)
    expect(part.counters().remoteWriteOldestPendingSeconds).toBeLessThanOrEqual(1)
  })

  it('close() returns at once while a request hangs and while the sender waits out a backoff', async () => {
    const hang = await receiver(() => 'hang')
    cleanups.push(hang.close)
    const a = await writer({ REMOTE_WRITE_URL: hang.url, REMOTE_WRITE_INTERVAL: '100ms' })
    await until('a hanging request', () => hang.requests.length >= 1, 5_000)
    let started = Date.now()
    await a.part.close()
    expect(Date.now() - started).toBeLessThan(500)

    const failing = await receiver(() => 503)
    cleanups.push(failing.close)
    const b = await writer({ REMOTE_WRITE_URL: failing.url, REMOTE_WRITE_INTERVAL: '100ms' })
    await until('a few failures', () => failing.requests.length >= 4, 10_000)
    started = Date.now()
    await b.part.close()
    expect(Date.now() - started).toBeLessThan(500)
  })

  it('a reading slower than the interval makes ticks wait, not pile up', async () => {
    const rx = await receiver()
    cleanups.push(rx.close)
    let running = 0
    let most = 0
    let readings = 0
    const { part } = await writer(
      { REMOTE_WRITE_URL: rx.url, REMOTE_WRITE_INTERVAL: '50ms' },
      {
        reading: async () => {
          running += 1
          readings += 1
          most = Math.max(most, running)
          await new Promise((resolve) => setTimeout(resolve, 400))
          running -= 1
          return {}
        },
      },
    )
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    await part.close()
    expect(most).toBe(1)
    expect(readings).toBeLessThanOrEqual(5)
  })

  it('a bearer token file is read for every request, so a rotated token is used', async () => {
    const rx = await receiver()
    cleanups.push(rx.close)
    const token = join(dir, 'token')
    writeFileSync(token, 'first\n')
    await writer({ REMOTE_WRITE_URL: rx.url, REMOTE_WRITE_INTERVAL: '100ms', REMOTE_WRITE_BEARER_TOKEN_FILE: token })
    await until('a request', () => rx.accepted().length >= 1, 5_000)
    expect(rx.requests[0]?.headers.authorization).toBe('Bearer first')
    writeFileSync(token, 'second\n')
    await until('the rotated token', () => rx.requests.some((r) => r.headers.authorization === 'Bearer second'), 5_000)
  })

  it('goes through HTTP_PROXY (the hub dial\'s proxy settings) unless NO_PROXY exempts the receiver; the log names the proxy without its password', async () => {
    const proxy = await startConnectProxy()
    cleanups.push(async () => proxy.close())
    const rx = await receiver()
    cleanups.push(rx.close)
    const proxyUrl = `http://sonar:proxy-pass@127.0.0.1:${proxy.port}`
    const { lines } = await writer({ REMOTE_WRITE_URL: rx.url, REMOTE_WRITE_INTERVAL: '100ms', HTTP_PROXY: proxyUrl })
    await until('two readings through the proxy', () => rx.accepted().length >= 2, 10_000)
    expect(proxy.forwarded.length).toBeGreaterThanOrEqual(2)
    expect(new Set(proxy.forwarded)).toEqual(new Set([rx.url]))
    const started = lines.find((l) => l.includes('pushing samples'))
    expect(started).toContain(`http://127.0.0.1:${proxy.port}`)
    expect(lines.join('\n')).not.toContain('proxy-pass')

    const direct = await receiver()
    cleanups.push(direct.close)
    const before = proxy.forwarded.length
    await writer({ REMOTE_WRITE_URL: direct.url, REMOTE_WRITE_INTERVAL: '100ms', HTTP_PROXY: proxyUrl, NO_PROXY: '127.0.0.1' })
    await until('two readings sent directly', () => direct.accepted().length >= 2, 10_000)
    expect(proxy.forwarded.slice(before).filter((u) => u === direct.url)).toEqual([])
  })
})

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea other'

describe('remote write across a restart of the agent', () => {
  const sum = (batches: Received[]) => batches.reduce((n, r) => n + r.series.length, 0)

  it('what is still queued at a stop is saved in DATA_DIR and sent first, in order, by the next start', async () => {
    const dataDir = mkdtempSync(join(dir, 'data-'))
    let down = true
    const rx = await receiver(() => (down ? 503 : 204))
    cleanups.push(rx.close)
    const env = { REMOTE_WRITE_URL: rx.url, REMOTE_WRITE_INTERVAL: '100ms' }
    const first = await writer(env, { dataDir })
    await until('readings queued behind a 503', () => (first.part.counters().remoteWritePendingSamples ?? 0) > 0 && rx.requests.length >= 2, 10_000)
    await new Promise((r) => setTimeout(r, 400))
    await first.part.close()
    const saved = first.part.counters().remoteWritePendingSamples ?? 0
    expect(saved).toBeGreaterThan(0)
    expect(existsSync(queueFilePath(dataDir))).toBe(true)
    expect(first.lines.join('\n')).toContain('saved for the next start')

    down = false
    const restartedAt = Date.now()
    const second = await writer(env, { dataDir })
    await until('the saved readings and new ones accepted', () => rx.accepted().some((r) => r.timestamp >= restartedAt), 10_000)
    const stamps = rx.accepted().map((r) => r.timestamp)
    expect(isIncreasing(stamps)).toBe(true)
    // every sample queued at the stop arrived (the samples counted pending include the writer's own series)
    expect(sum(rx.accepted().filter((r) => r.timestamp < restartedAt))).toBe(saved)
    expect(existsSync(queueFilePath(dataDir))).toBe(false)
    expect(second.lines.join('\n')).toContain('resuming samples saved at the last stop')
  })

  it('sonar-agent run stopped by SIGTERM during an outage saves its queue, and the restarted agent sends it first', async () => {
    const dataDir = mkdtempSync(join(dir, 'data-'))
    let down = true
    const rx = await receiver(() => (down ? 503 : 204))
    cleanups.push(rx.close)
    const env = { KEY, SMART_DEVICES: '', SKIP_SYSTEMD: 'true', DATA_DIR: dataDir, REMOTE_WRITE_URL: rx.url, REMOTE_WRITE_INTERVAL: '300ms' }
    const first = startAgentProcess({ ...env, LISTEN: `127.0.0.1:${await freePort()}` })
    cleanups.push(() => first.stop())
    await until('readings queued behind a 503', () => rx.requests.length >= 3, 20_000)
    const stderr = first.stderr()
    await first.stop()
    expect(stderr + first.stderr()).toMatch(/saved for the next start/)
    expect(existsSync(queueFilePath(dataDir))).toBe(true)

    down = false
    const restartedAt = Date.now()
    const second = startAgentProcess({ ...env, LISTEN: `127.0.0.1:${await freePort()}` })
    cleanups.push(() => second.stop())
    await until('saved and new readings accepted', () => rx.accepted().some((r) => r.timestamp >= restartedAt), 20_000).catch((error: Error) => {
      throw new Error(`${error.message}\nagent: ${second.stderr().slice(-3000)}`)
    })
    const stamps = rx.accepted().map((r) => r.timestamp)
    expect(isIncreasing(stamps)).toBe(true)
    expect(stamps.filter((t) => t < restartedAt).length).toBeGreaterThanOrEqual(2)
    expect(second.stderr()).toMatch(/resuming samples saved at the last stop/)
  })

  it('a queue saved for another REMOTE_WRITE_URL is dropped with a warning, never sent to this one', async () => {
    const dataDir = mkdtempSync(join(dir, 'data-'))
    const old = await receiver(() => 503)
    cleanups.push(old.close)
    const first = await writer({ REMOTE_WRITE_URL: old.url, REMOTE_WRITE_INTERVAL: '100ms' }, { dataDir })
    await until('a reading queued', () => (first.part.counters().remoteWritePendingSamples ?? 0) > 0, 10_000)
    await first.part.close()
    expect(existsSync(queueFilePath(dataDir))).toBe(true)
    const rx = await receiver()
    cleanups.push(rx.close)
    const restartedAt = Date.now()
    const second = await writer({ REMOTE_WRITE_URL: rx.url, REMOTE_WRITE_INTERVAL: '100ms' }, { dataDir })
    await until('new readings accepted', () => rx.accepted().length >= 2, 10_000)
    expect(rx.accepted().every((r) => r.timestamp >= restartedAt)).toBe(true)
    expect(second.lines.join('\n')).toMatch(/the queue saved at the last stop is dropped.*another REMOTE_WRITE_URL/)
    expect(existsSync(queueFilePath(dataDir))).toBe(false)
  })

  it('a queue file that is not one, is cut short or is too large is dropped with its reason; a good one reads back exactly', () => {
    const dataDir = mkdtempSync(join(dir, 'data-'))
    const path = queueFilePath(dataDir)
    const url = new URL('https://vm.example.com/api/v1/write?tenant=secret')
    const batches = [
      { timestamp: 1_700_000_000_000, samples: 3, body: Buffer.from('first body') },
      { timestamp: 1_700_000_015_000, samples: 1, body: Buffer.alloc(0) },
      { timestamp: 1_700_000_030_000, samples: 7, body: Buffer.from([0, 1, 2, 255]) },
    ]
    saveQueue(path, url, batches)
    expect(readFileSync(path).toString('latin1')).not.toContain('secret') // the URL only as its hash
    expect(loadQueue(path, url, 1 << 20)).toEqual({ batches })
    expect(existsSync(path)).toBe(false)
    expect(loadQueue(path, url, 1 << 20)).toBeUndefined() // nothing saved

    writeFileSync(path, 'GET / HTTP/1.1\r\n\r\n')
    expect(loadQueue(path, url, 1 << 20)).toMatchObject({ batches: [], discarded: expect.stringContaining('not a queue file') })
    saveQueue(path, url, batches)
    writeFileSync(path, readFileSync(path).subarray(0, -2))
    expect(loadQueue(path, url, 1 << 20)).toMatchObject({ batches: [], discarded: 'it is cut short' })
    saveQueue(path, url, batches)
    expect(loadQueue(path, new URL('https://vm.example.com/api/v1/write?tenant=other'), 1 << 20)).toMatchObject({ discarded: expect.stringContaining('another REMOTE_WRITE_URL') })
    writeFileSync(path, Buffer.alloc(3 << 20))
    expect(loadQueue(path, url, 1_000)).toMatchObject({ discarded: expect.stringContaining('REMOTE_WRITE_QUEUE_MAX_BYTES') })
    expect(existsSync(path)).toBe(false)
  })
})

describe.skipIf(!haveOpenssl())('remote write from sonar-agent run over HTTPS', () => {
  it('a receiver with a private CA (NODE_EXTRA_CA_CERTS) gets the readings with the bearer token; node_exporter series included', async () => {
    const certs = await makeTestCerts()
    cleanups.push(async () => certs.remove())
    const rx = await receiver(() => 204, { cert: certs.serverCert, key: certs.serverKey })
    cleanups.push(rx.close)
    const token = join(dir, 'https-token')
    writeFileSync(token, 'tls-token\n')
    const agent = startAgentProcess({
      KEY,
      LISTEN: `127.0.0.1:${await freePort()}`,
      SMART_DEVICES: '',
      SKIP_SYSTEMD: 'true',
      NODE_EXTRA_CA_CERTS: certs.caCert,
      REMOTE_WRITE_URL: rx.url,
      REMOTE_WRITE_INTERVAL: '500ms',
      REMOTE_WRITE_BEARER_TOKEN_FILE: token,
    })
    cleanups.push(() => agent.stop())
    await until('two readings over HTTPS', () => rx.accepted().length >= 2, 20_000).catch((error: Error) => {
      throw new Error(`${error.message}\nagent: ${agent.stderr().slice(-3000)}`)
    })
    expect(rx.requests[0]?.headers.authorization).toBe('Bearer tls-token')
    const names = new Set(rx.requests[1]?.series.map(seriesName))
    for (const name of ['node_cpu_seconds_total', 'node_memory_MemTotal_bytes', 'node_load1', 'sonar_remote_write_sent_samples_total']) expect(names).toContain(name)
    expect(agent.stderr()).not.toMatch(/not reachable|refused/)
  })

  it('through HTTPS_PROXY the receiver is reached by a CONNECT tunnel, its certificate still verified', async () => {
    const certs = await makeTestCerts()
    cleanups.push(async () => certs.remove())
    const proxy = await startConnectProxy()
    cleanups.push(async () => proxy.close())
    const rx = await receiver(() => 204, { cert: certs.serverCert, key: certs.serverKey })
    cleanups.push(rx.close)
    const base = { KEY, LISTEN: `127.0.0.1:${await freePort()}`, SMART_DEVICES: '', SKIP_SYSTEMD: 'true', REMOTE_WRITE_URL: rx.url, REMOTE_WRITE_INTERVAL: '500ms', HTTPS_PROXY: `http://127.0.0.1:${proxy.port}` }
    const agent = startAgentProcess({ ...base, NODE_EXTRA_CA_CERTS: certs.caCert })
    cleanups.push(() => agent.stop())
    await until('two readings through the tunnel', () => rx.accepted().length >= 2, 20_000).catch((error: Error) => {
      throw new Error(`${error.message}\nagent: ${agent.stderr().slice(-3000)}`)
    })
    expect(proxy.tunnels).toContain(new URL(rx.url).host)
    // without the private CA the tunnel is no way around verification: nothing is accepted
    await agent.stop()
    const accepted = rx.accepted().length
    const tunnels = proxy.tunnels.length
    const untrusting = startAgentProcess({ ...base, LISTEN: `127.0.0.1:${await freePort()}` })
    cleanups.push(() => untrusting.stop())
    await until('the untrusting agent\'s failure logged', () => /error=(UNABLE_TO_VERIFY|SELF_SIGNED|DEPTH_ZERO_SELF_SIGNED|CERT_)/.test(untrusting.stderr()), 20_000).catch((error: Error) => {
      throw new Error(`${error.message}\nagent: ${untrusting.stderr().slice(-3000)}`)
    })
    expect(proxy.tunnels.length).toBeGreaterThan(tunnels) // it did go through the proxy
    await new Promise((r) => setTimeout(r, 1_000))
    expect(rx.accepted().length).toBe(accepted)
  })
})
