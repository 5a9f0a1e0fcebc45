/**
 * The real Prometheus 2.42 scraping `sonar-agent run` (dist/bin.cjs; build first with
 * npm run build:ts) at METRICS_LISTEN every second, with a real Podman container running: after
 * a few scrapes its HTTP API holds the host's MemTotal, a CPU rate for every CPU and the
 * container's CPU counter; promtool accepts the exposition; Prometheus negotiated OpenMetrics
 * (seen by a recording pass-through between the two) while curl gets the text format.
 */
import { execFile, spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { cpus } from 'node:os'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AGENT_BIN, startAgentProcess, type AgentProcess } from './helpers/agent-process.js'
import { freePort, waitForPort } from './helpers/net.js'
import { prometheusMissing, PROMTOOL, startPrometheus, type Prometheus } from './helpers/prometheus.js'
import { generateSshKeyPair } from './helpers/ssh.js'
import { until } from './helpers/until.js'
import { Podman } from './podman/podman.js'

const run = promisify(execFile)
const CONTAINER = 'sonar-prom-web'
const TEXT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'
const NODE_EXPORTER = '/usr/bin/prometheus-node-exporter'
const OPENMETRICS_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8'

const missing =
  prometheusMissing() ??
  (existsSync(NODE_EXPORTER) ? undefined : `${NODE_EXPORTER} is not installed (apt-get install prometheus-node-exporter)`) ?? (existsSync(AGENT_BIN) ? undefined : `${AGENT_BIN} is missing: run npm run build:ts first`)
if (missing) console.warn(`skipping the Prometheus end-to-end tests: ${missing}`)

/** What passed between Prometheus and the agent: the Accept header asked, the Content-Type answered. */
interface Exchange {
  accept: string | undefined
  contentType: string | undefined
  status: number
}

let podman: Podman | undefined
let podmanSkip: string | undefined
let agent: AgentProcess | undefined
let prometheus: Prometheus | undefined
let recorder: Server | undefined
let metricsPort = 0
const exchanges: Exchange[] = []

/** An HTTP pass-through to the agent's /metrics that records each exchange. */
async function recordingPassThrough(port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const upstream = request({ host: '127.0.0.1', port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      exchanges.push({ accept: req.headers.accept, contentType: answer.headers['content-type'], status: answer.statusCode ?? 0 })
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

const job = (name: string) => `job="${name}"`

beforeAll(async () => {
  if (missing) return
  const started = await Podman.start()
  if (started.ok) {
    podman = started.podman
    await podman.runContainer(CONTAINER, ['sleep', '3600'])
  } else {
    podmanSkip = started.reason
    console.warn(`the container check is skipped: ${started.reason}`)
  }
  metricsPort = await freePort()
  const keys = generateSshKeyPair()
  agent = startAgentProcess({
    LISTEN: `127.0.0.1:${await freePort()}`,
    KEY: keys.public,
    METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
    DOCKER_HOST: podman ? `unix://${podman.socketPath}` : '',
    SKIP_GPU: 'true',
    SMART_DEVICES: '',
    LOG_LEVEL: 'info',
  })
  await waitForPort(metricsPort, 20_000).catch((error: unknown) => {
    throw new Error(`${String(error)}; agent stderr: ${agent?.stderr()}`)
  })
  recorder = await recordingPassThrough(metricsPort)
  const via = (recorder.address() as AddressInfo).port
  prometheus = await startPrometheus(
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      'scrape_configs:',
      '  - job_name: sonar',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${via}']`,
      '',
    ].join('\n'),
  )
  // "after two scrapes": wait for at least three, so a 5 s rate has two points
  await until(
    'three scrapes by Prometheus',
    async () => {
      const [count] = await prometheus!.query(`count_over_time(up{${job('sonar')}}[1m])`)
      return count !== undefined && Number(count.value[1]) >= 3
    },
    30_000,
    250,
  )
}, 90_000)

afterAll(async () => {
  await prometheus?.stop()
  await new Promise((resolve) => (recorder ? recorder.close(resolve) : resolve(undefined)))
  await agent?.stop()
  await podman?.close()
}, 60_000)

describe.skipIf(missing !== undefined)('Prometheus 2.42 scraping sonar-agent run', () => {
  it('up is 1', async () => {
    const targets = await prometheus!.targets()
    expect(targets.map((t) => [t.health, t.lastError])).toEqual([['up', '']])
    const [up] = await prometheus!.query(`up{${job('sonar')}}`)
    expect(up?.value[1]).toBe('1')
  })

  it("node_memory_MemTotal_bytes equals /proc/meminfo's MemTotal × 1024", async () => {
    const memTotalKiB = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1])
    const [mem] = await prometheus!.query(`node_memory_MemTotal_bytes{${job('sonar')}}`)
    expect(mem, 'node_memory_MemTotal_bytes is in Prometheus').toBeDefined()
    expect(Number(mem?.value[1])).toBe(memTotalKiB * 1024)
  })

  it('rate(node_cpu_seconds_total[5s]) is there for every CPU', async () => {
    const rates = await prometheus!.query(`rate(node_cpu_seconds_total{${job('sonar')}}[5s])`)
    const perCpu = new Set(rates.map((r) => r.metric.cpu))
    expect([...perCpu].sort((a, b) => Number(a) - Number(b))).toEqual(cpus().map((_, i) => String(i)))
    for (const rate of rates) expect(Number(rate.value[1])).toBeGreaterThanOrEqual(0)
    // the modes node_exporter writes on Linux, each present per CPU
    const modes = new Set(rates.map((r) => r.metric.mode))
    for (const mode of ['user', 'system', 'idle', 'iowait']) expect(modes).toContain(mode)
  })

  it('a real Podman container has container_cpu_usage_seconds_total{name=...}', async (ctx) => {
    if (podmanSkip) return ctx.skip(podmanSkip)
    const series = await until(
      'the container series in Prometheus',
      async () => {
        const found = await prometheus!.query(`container_cpu_usage_seconds_total{${job('sonar')},name="${CONTAINER}"}`)
        return found.length > 0 && found
      },
      20_000,
      500,
    )
    expect(series[0]?.metric.image).toContain('sonar-test')
    expect(Number(series[0]?.value[1])).toBeGreaterThanOrEqual(0)
  })

  it('Prometheus negotiated OpenMetrics and got it; curl gets the text format', async () => {
    const scrapes = exchanges.filter((e) => e.status === 200)
    expect(scrapes.length).toBeGreaterThanOrEqual(3)
    for (const scrape of scrapes) {
      expect(scrape.accept).toMatch(/^application\/openmetrics-text;version=1\.0\.0/)
      expect(scrape.contentType).toBe(OPENMETRICS_TYPE)
    }
    const { stdout } = await run('curl', ['-sS', '-D', '-', '-o', '/dev/null', `http://127.0.0.1:${metricsPort}/metrics`])
    expect(stdout).toMatch(/^HTTP\/1\.1 200 OK\r$/m)
    expect(stdout.toLowerCase()).toContain(`content-type: ${TEXT_TYPE}`)
  })

  it("promtool check metrics finds nothing in the exposition that it does not find in node_exporter's own", async () => {
    const { stdout: exposition } = await run('curl', ['-sS', '--compressed', `http://127.0.0.1:${metricsPort}/metrics`], { maxBuffer: 64 * 1024 * 1024 })
    expect(exposition).toContain('node_memory_MemTotal_bytes')
    const ours = await promtool(exposition)
    // node_exporter's names come from the kernel's keys (node_memory_MemTotal_bytes,
    // node_netstat_Tcp_InSegs…) and dashboards use them, so promtool's camelCase and unit lints
    // fire on node_exporter's exposition of this host too: each line we get must be one of those
    const theirs = await promtool(await nodeExporterExposition())
    const ownLints = ours.lines.filter((line) => !theirs.lines.includes(line))
    expect(ownLints).toEqual([])
    if (ours.lines.length > 0) console.log(`promtool: ${ours.lines.length} lints, each also printed for node_exporter's own exposition`)
  })
})

/** promtool check metrics on `exposition`: the lines it printed (stdout and stderr) and its exit code. */
async function promtool(exposition: string): Promise<{ code: number | null; lines: string[] }> {
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(PROMTOOL, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.on('error', reject)
    child.on('close', (exit) => resolve({ code: exit, output }))
    child.stdin.end(exposition)
  })
  return { code, lines: output.split('\n').filter((line) => line.trim() !== '') }
}

/** Debian's node_exporter's exposition of this host, default collectors (started on a free port, then stopped). */
async function nodeExporterExposition(): Promise<string> {
  const port = await freePort()
  const child = spawn(NODE_EXPORTER, [`--web.listen-address=127.0.0.1:${port}`, '--collector.mdadm', '--web.disable-exporter-metrics'], { stdio: 'ignore' })
  try {
    await waitForPort(port)
    const { stdout } = await run('curl', ['-sS', `http://127.0.0.1:${port}/metrics`], { maxBuffer: 16 * 1024 * 1024 })
    return stdout
  } finally {
    child.kill('SIGTERM')
  }
}
