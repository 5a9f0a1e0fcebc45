/**
 * The cost of one Prometheus scrape: `sonar-agent run`'s /metrics against Debian's node_exporter
 * with the collectors matching the agent's node families, both started here and scraped the same
 * number of times, alternately, in one run, as Prometheus 2.42 scrapes (its Accept header, gzip,
 * one kept-alive connection). Prints per exporter: CPU per scrape (deltas of its threads' run
 * time, /proc/PID/task/TID/schedstat), wall latency p50/p90, series and bytes per scrape; then the
 * CPU ratio against the target (≤ 1/5 of node_exporter's; a miss makes the exit status 1), and the agent's RSS with
 * METRICS_LISTEN on (after the scrapes) and off (a twin agent started alongside), reported only.
 *
 *   node --import tsx bench/metrics.ts [--scrapes 500] [--every-ms 50] [--env NAME=value,…]
 *
 * Linux only (/proc). Build first: npm run build:ts.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { parseArgs } from 'node:util'
import { gunzipSync } from 'node:zlib'
import { AGENT_BIN, rssKiB, startAgentProcess, type AgentProcess } from '../test/helpers/agent-process.js'
import { freePort, waitForPort } from '../test/helpers/net.js'
import { generateSshKeyPair } from '../test/helpers/ssh.js'

const { values } = parseArgs({
  options: {
    scrapes: { type: 'string', default: '500' },
    /** pause between two scrapes of one exporter (ms) */
    'every-ms': { type: 'string', default: '50' },
    /** extra environment for the agents (NAME=value,NAME=value) */
    env: { type: 'string', default: '' },
  },
})
const SCRAPES = Number(values.scrapes)
const EVERY_MS = Number(values['every-ms'])
const extraEnv = Object.fromEntries(
  values.env
    .split(',')
    .filter((pair) => pair.includes('='))
    .map((pair) => [pair.slice(0, pair.indexOf('=')).trim(), pair.slice(pair.indexOf('=') + 1)]),
)
const NODE_EXPORTER = '/usr/bin/prometheus-node-exporter'
/** node_exporter's collectors behind the agent's node_* families (crates/sonar-core/src/metrics/node) */
const COLLECTORS = [
  'cpu', 'cpufreq', 'stat', 'schedstat', 'loadavg', 'time', 'timex', 'uname', 'os', 'meminfo', 'vmstat', 'pressure',
  'filesystem', 'diskstats', 'mdadm', 'netdev', 'netclass', 'netstat', 'sockstat', 'softnet', 'arp', 'hwmon',
  'thermal_zone', 'filefd', 'entropy', 'conntrack',
]
/** Prometheus 2.42's scrape Accept header */
const PROMETHEUS_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'
const CPU_RATIO_TARGET = 1 / 5
const WARMUP = 10
/** the agent drops unused pages 5 s after start (TRIM_AFTER_MS); RSS is read after that */
const SETTLE_MS = 8_000
/** the server trims again 20 s after its first scrape; RSS after the scrapes is read past that */
const AFTER_SCRAPES_MS = 25_000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * The process's CPU time in seconds: the sum of its threads' scheduler run time
 * (/proc/PID/task/TID/schedstat, nanoseconds). utime + stime of /proc/PID/stat count in clock
 * ticks (10 ms), too coarse for a scrape of ~2 ms: over 300 scrapes its error was ±10% of the
 * ratio. Both exporters keep their threads for their whole life (libuv's pool and the core's
 * statfs worker; Go's runtime), so no thread's time leaves the sum during a run.
 */
function cpuSeconds(pid: number): number {
  let ns = 0
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0])
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ns / 1e9
}

interface Scrape {
  ms: number
  status: number
  contentType: string
  bytes: number
  body: Buffer
}

function scrape(port: number, agent: Agent, headers: Record<string, string>): Promise<Scrape> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', agent, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        const raw = Buffer.concat(chunks)
        const body = res.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw
        resolve({ ms: performance.now() - started, status: res.statusCode ?? 0, contentType: String(res.headers['content-type']), bytes: raw.length, body })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

interface Target {
  name: string
  pid: number
  port: number
  agent: Agent
  cpu: number
  latencies: number[]
  bytes: number
  contentType: string
  series: number
}

/** Sample lines of a text or OpenMetrics exposition (comments and # EOF left out). */
const seriesOf = (body: Buffer) => body.toString().split('\n').filter((line) => line !== '' && !line.startsWith('#')).length

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN

async function main(): Promise<number> {
  if (!existsSync(AGENT_BIN)) throw new Error(`${AGENT_BIN} is missing: run npm run build:ts first`)
  if (!existsSync(NODE_EXPORTER)) throw new Error(`${NODE_EXPORTER} is missing (apt-get install prometheus-node-exporter)`)
  const agentEnv = { KEY: generateSshKeyPair().public, DOCKER_HOST: '', SKIP_GPU: 'true', SMART_DEVICES: '', LOG_LEVEL: 'warn', ...extraEnv }
  const metricsPort = await freePort()
  const on: AgentProcess = startAgentProcess({ ...agentEnv, LISTEN: `127.0.0.1:${await freePort()}`, METRICS_LISTEN: `127.0.0.1:${metricsPort}` })
  const off: AgentProcess = startAgentProcess({ ...agentEnv, LISTEN: `127.0.0.1:${await freePort()}` })
  const exporterPort = await freePort()
  const exporter: ChildProcess = spawn(
    NODE_EXPORTER,
    [`--web.listen-address=127.0.0.1:${exporterPort}`, '--collector.disable-defaults', ...COLLECTORS.map((c) => `--collector.${c}`), '--web.disable-exporter-metrics', '--log.level=warn'],
    { stdio: 'ignore' },
  )
  try {
    await waitForPort(metricsPort, 20_000)
    await waitForPort(exporterPort, 20_000)
    await sleep(SETTLE_MS)
    const rssOffBefore = rssKiB(off.pid)
    const rssOnBefore = rssKiB(on.pid)
    const targets: Target[] = [
      { name: 'sonar-agent', pid: on.pid, port: metricsPort },
      { name: 'node_exporter', pid: exporter.pid ?? 0, port: exporterPort },
    ].map((t) => ({ ...t, agent: new Agent({ keepAlive: true, maxSockets: 1 }), cpu: 0, latencies: [], bytes: 0, contentType: '', series: 0 }))
    const headers = { Accept: PROMETHEUS_ACCEPT, 'Accept-Encoding': 'gzip' }
    for (const target of targets) {
      const text = await scrape(target.port, target.agent, {})
      target.series = seriesOf(text.body)
      for (let i = 0; i < WARMUP; i++) await scrape(target.port, target.agent, headers)
    }
    for (let i = 0; i < SCRAPES; i++) {
      for (const target of targets) {
        const before = cpuSeconds(target.pid)
        const result = await scrape(target.port, target.agent, headers)
        if (result.status !== 200) throw new Error(`${target.name} answered ${result.status}`)
        // the exporter's CPU is read once the body is in: its work for this scrape is done
        target.cpu += cpuSeconds(target.pid) - before
        target.latencies.push(result.ms)
        target.bytes = result.bytes
        target.contentType = result.contentType
      }
      await sleep(EVERY_MS)
    }
    const rssOnAfterScrapes = rssKiB(on.pid)
    // a scraper's pace (one scrape of each every 5 s) until the server's trim after its first scrapes has run
    for (let waited = 0; waited < AFTER_SCRAPES_MS; waited += 5_000) {
      await sleep(5_000)
      for (const target of targets) await scrape(target.port, target.agent, headers)
    }
    const rssOnAfter = rssKiB(on.pid)
    const rssOffAfter = rssKiB(off.pid)

    console.log(`${SCRAPES} scrapes each, alternating, ${EVERY_MS} ms apart; Prometheus 2.42's Accept header, gzip, one kept-alive connection`)
    console.log(`node_exporter collectors: ${COLLECTORS.join(' ')} (exporter self-metrics off)`)
    console.log('')
    console.log('exporter        CPU/scrape   p50 ms   p90 ms   series   gzip bytes   content type')
    for (const t of targets) {
      const sorted = [...t.latencies].sort((a, b) => a - b)
      console.log(
        `${t.name.padEnd(14)}  ${((t.cpu / SCRAPES) * 1000).toFixed(2).padStart(7)} ms  ${quantile(sorted, 0.5).toFixed(2).padStart(7)}  ${quantile(sorted, 0.9).toFixed(2).padStart(7)}  ${String(t.series).padStart(7)}  ${String(t.bytes).padStart(11)}   ${t.contentType}`,
      )
    }
    const [ours, theirs] = targets
    const ratio = ours && theirs && theirs.cpu > 0 ? ours.cpu / theirs.cpu : Number.NaN
    const met = ratio <= CPU_RATIO_TARGET
    console.log('')
    console.log(`CPU per scrape, sonar-agent / node_exporter: ${ratio.toFixed(3)} (target ≤ ${CPU_RATIO_TARGET.toFixed(2)}): ${met ? 'met' : 'MISSED'}`)
    console.log(`CPU per series: sonar-agent ${(((ours?.cpu ?? 0) / SCRAPES / (ours?.series || 1)) * 1e6).toFixed(1)} µs, node_exporter ${(((theirs?.cpu ?? 0) / SCRAPES / (theirs?.series || 1)) * 1e6).toFixed(1)} µs`)
    console.log('')
    const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`
    console.log(`agent RSS, METRICS_LISTEN on:  ${mib(rssOnBefore)} before the scrapes, ${mib(rssOnAfterScrapes)} right after, ${mib(rssOnAfter)} ${AFTER_SCRAPES_MS / 1000} s later (scraped every 5 s)`)
    console.log(`agent RSS, METRICS_LISTEN off: ${mib(rssOffBefore)} then ${mib(rssOffAfter)} (a twin started alongside)`)
    console.log(`difference after the scrapes: ${mib(rssOnAfter - rssOffAfter)} (reported, not gated)`)
    return met ? 0 : 1
  } finally {
    exporter.kill('SIGTERM')
    await Promise.all([on.stop(), off.stop()])
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error)
    process.exit(2)
  },
)
