/**
 * Soak: realtime GetData (cacheTimeMs 1000, what the hub sends every second while a browser watches
 * the realtime chart) through the test hub into `sonar-agent run`, one after another as fast as the
 * agent answers, with the process's RSS, open file descriptors and threads read from /proc after a
 * warm-up and every 1,000 requests.
 *
 *   node --import tsx bench/soak.ts [--requests 32000] [--warmup 12000] [--interval-ms 0]
 *
 * The run starts 6 s after the agent connected, past its one-time drop of unused code pages (5 s
 * after start, ts/commands/run.ts). The warm-up is long because V8 shrinks its young generation
 * while the agent idles and grows it again under load: a one-time step of about 1.5 MiB of
 * anonymous memory near 10,000 requests, flat after it (the anon column shows it).
 *
 * Exits non-zero when RSS grew by 1 MiB or more after the warm-up, or the fd or thread count grew.
 * RSS is read as the lowest of several samples over half a second at each point, so a garbage
 * collection that is about to run does not count as growth. Linux only. Build first: npm run build:ts.
 */
import { parseArgs } from 'node:util'
import { sampleProcess, startAgentProcess, type ProcessSample } from '../test/helpers/agent-process.js'
import { freePort } from '../test/helpers/net.js'
import { TestHub } from '../test/hub/test-hub.js'

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '32000' },
    warmup: { type: 'string', default: '12000' },
    'interval-ms': { type: 'string', default: '0' },
  },
})
const requests = Number(values.requests)
const warmup = Number(values.warmup)
/** past the daemon's one-time drop of unused pages (TRIM_AFTER_MS in ts/commands/run.ts) */
const TRIM_SETTLE_MS = 6_000
const intervalMs = Number(values['interval-ms'])
const MAX_RSS_GROWTH_KIB = 1024
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** fds and threads as they are; RSS the lowest of five samples 100 ms apart. */
async function settledSample(pid: number): Promise<ProcessSample> {
  const samples: ProcessSample[] = []
  for (let i = 0; i < 5; i++) {
    samples.push(sampleProcess(pid))
    await sleep(100)
  }
  const last = samples.at(-1) as ProcessSample
  return { ...last, rssKiB: Math.min(...samples.map((s) => s.rssKiB)), anonKiB: Math.min(...samples.map((s) => s.anonKiB)) }
}

const mib = (kib: number) => (kib / 1024).toFixed(2)

async function main(): Promise<number> {
  const hub = await TestHub.start()
  // the default configuration (SSH fallback listening, every collector as it finds them), on a free port
  const agent = startAgentProcess({ HUB_URL: hub.url, TOKEN: hub.token, KEY: hub.publicKeyLine, LISTEN: `127.0.0.1:${await freePort()}` })
  try {
    const connection = await hub.nextAccepted(30_000)
    await sleep(TRIM_SETTLE_MS)
    console.log(`soak: ${requests} realtime GetData (cacheTimeMs 1000), warm-up ${warmup}, interval ${intervalMs} ms; agent pid ${agent.pid}, node ${process.version}`)
    console.log('requests      RSS MiB  anon MiB   fds  threads   req/s   p50 ms   p99 ms   max ms')
    let baseline: ProcessSample | undefined
    let latencies: number[] = []
    let windowStart = performance.now()
    const all: number[] = []
    const started = performance.now()
    for (let i = 1; i <= requests; i++) {
      const at = performance.now()
      const reply = await connection.getData(1000)
      const ms = performance.now() - at
      latencies.push(ms)
      all.push(ms)
      if (!(reply.response.fields.get(1) instanceof Map)) throw new Error(`request ${i}: no data (${reply.response.error ?? '?'})`)
      // the test hub keeps every frame it receives; a soak must not measure its own growth
      connection.received.length = 0
      if (i === warmup || i % 1000 === 0 || i === requests) {
        const sample = await settledSample(agent.pid)
        if (i === warmup) baseline = sample
        const sorted = [...latencies].sort((a, b) => a - b)
        const rate = latencies.length / ((performance.now() - windowStart) / 1000)
        const q = (p: number) => (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0).toFixed(2)
        console.log(
          `${String(i).padStart(8)}  ${mib(sample.rssKiB).padStart(8)}  ${mib(sample.anonKiB).padStart(8)}  ${String(sample.fds).padStart(4)}  ${String(sample.threads).padStart(7)}  ${rate.toFixed(0).padStart(6)}  ${q(0.5).padStart(7)}  ${q(0.99).padStart(7)}  ${(sorted.at(-1) ?? 0).toFixed(2).padStart(7)}${i === warmup ? '   ← after warm-up' : ''}`,
        )
        latencies = []
        windowStart = performance.now()
      }
      if (intervalMs > 0) await sleep(intervalMs)
    }
    const end = await settledSample(agent.pid)
    if (!baseline) throw new Error('the warm-up is longer than the run')
    const seconds = (performance.now() - started) / 1000
    const sorted = all.sort((a, b) => a - b)
    const growth = { rssKiB: end.rssKiB - baseline.rssKiB, fds: end.fds - baseline.fds, threads: end.threads - baseline.threads }
    console.log(`\n${requests} requests in ${seconds.toFixed(1)} s (${(requests / seconds).toFixed(0)}/s), latency p50 ${(sorted[Math.floor(sorted.length / 2)] ?? 0).toFixed(2)} ms, p99 ${(sorted[Math.floor(sorted.length * 0.99)] ?? 0).toFixed(2)} ms`)
    console.log(`after warm-up → end: RSS ${mib(baseline.rssKiB)} → ${mib(end.rssKiB)} MiB (${growth.rssKiB >= 0 ? '+' : ''}${growth.rssKiB} KiB), anonymous ${mib(baseline.anonKiB)} → ${mib(end.anonKiB)} MiB, fds ${baseline.fds} → ${end.fds}, threads ${baseline.threads} → ${end.threads}`)
    const problems = [
      ...(growth.rssKiB >= MAX_RSS_GROWTH_KIB ? [`RSS grew ${growth.rssKiB} KiB (limit < ${MAX_RSS_GROWTH_KIB})`] : []),
      ...(growth.fds > 0 ? [`fds grew by ${growth.fds}`] : []),
      ...(growth.threads > 0 ? [`threads grew by ${growth.threads}`] : []),
      ...(agent.exit !== undefined ? [`the agent exited: ${JSON.stringify(agent.exit)}`] : []),
    ]
    console.log(problems.length === 0 ? 'PASS: RSS growth < 1 MiB, fds and threads flat' : `FAIL: ${problems.join('; ')}`)
    return problems.length === 0 ? 0 : 1
  } finally {
    await agent.stop()
    await hub.stop()
  }
}

process.exitCode = await main()
