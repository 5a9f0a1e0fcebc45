/**
 * `sonar-agent run` pushing to a real VictoriaMetrics (Debian's victoria-metrics): the series are
 * queryable through its API, and a receiver stopped for two minutes — the promise — and
 * restarted holds every interval's sample afterwards, with no gap. Needs npm run build:ts.
 */
import { readFileSync } from 'node:fs'
import { cpus, hostname } from 'node:os'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startAgentProcess, type AgentProcess } from './helpers/agent-process.js'
import { freePort } from './helpers/net.js'
import { exportRaw, instantQuery, missing, startVictoriaMetrics, VICTORIA_METRICS, type Tsdb } from './helpers/victoria-metrics.js'
import { until } from './helpers/until.js'

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea other'
const OUTAGE_MS = 120_000
const INTERVAL_MS = 1_000

const skip = missing(VICTORIA_METRICS, 'victoria-metrics')
if (skip) console.warn(`[remote-write-victoria] SKIPPED: ${skip}`)

describe.skipIf(skip !== '')('remote write to a real VictoriaMetrics', () => {
  let vm: Tsdb
  let agent: AgentProcess
  const started = Date.now()

  beforeAll(async () => {
    vm = await startVictoriaMetrics()
    agent = startAgentProcess({
      KEY,
      LISTEN: `127.0.0.1:${await freePort()}`,
      SMART_DEVICES: '',
      SKIP_SYSTEMD: 'true',
      REMOTE_WRITE_URL: vm.writeUrl,
      REMOTE_WRITE_INTERVAL: `${INTERVAL_MS}ms`,
      REMOTE_WRITE_LABELS: 'env=test',
    })
  }, 60_000)

  afterAll(async () => {
    await agent?.stop()
    await vm?.dispose()
  }, 60_000)

  it('the pushed series are queryable, with job, instance and the extra labels', async () => {
    const series = await until(
      'sonar_remote_write_sent_samples_total in VictoriaMetrics',
      async () => {
        const found = await instantQuery(vm.base, 'sonar_remote_write_sent_samples_total{job="sonar-agent"}')
        return found.length > 0 && found[0]?.value !== undefined && found[0].value > 0 ? found : undefined
      },
      20_000,
      250,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\nagent: ${agent.stderr().slice(-3000)}`)
    })
    expect(series).toHaveLength(1)
    expect(series[0]?.metric).toMatchObject({ __name__: 'sonar_remote_write_sent_samples_total', job: 'sonar-agent', instance: hostname(), env: 'test' })
    const names = await instantQuery(vm.base, 'count by (__name__) ({job="sonar-agent"})')
    expect(names.map((n) => n.metric.__name__)).toEqual(expect.arrayContaining(['sonar_remote_write_pending_samples', 'sonar_remote_write_dropped_samples_total', 'node_cpu_seconds_total', 'node_load1']))
    // node_exporter's names, as dashboards query them
    const memTotal = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]) * 1024
    const [mem] = await instantQuery(vm.base, 'node_memory_MemTotal_bytes{job="sonar-agent"}')
    expect(mem?.value).toBe(memTotal)
    const perCpu = await until('rate(node_cpu_seconds_total) per CPU', async () => {
      const found = await instantQuery(vm.base, 'sum by (cpu) (rate(node_cpu_seconds_total{job="sonar-agent"}[30s]))')
      return found.length === cpus().length ? found : undefined
    }, 20_000, 500)
    // every CPU spends about one second per second across its modes
    for (const cpu of perCpu) expect(cpu.value).toBeGreaterThan(0.5)
  })

  it(
    'a receiver stopped for two minutes and restarted has every interval\'s sample: nothing lost, nothing dropped',
    async () => {
      await until('a first sample stored', async () => (await exportRaw(vm.base, 'sonar_remote_write_pending_samples', started)).length > 0, 20_000, 250)
      const down = Date.now()
      await vm.stop()
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS))
      const up = Date.now()
      await vm.start()

      // Drained: a reading taken after the restart says nothing is pending any more.
      const match = 'sonar_remote_write_pending_samples{job="sonar-agent"}'
      await until(
        'the queue drained into VictoriaMetrics',
        async () => {
          const [series] = await exportRaw(vm.base, match, started)
          return series?.samples.some((s) => s.timestamp > up && s.value === 0)
        },
        90_000,
        500,
      ).catch((error: Error) => {
        throw new Error(`${error.message}\nagent: ${agent.stderr().slice(-3000)}\nvm: ${vm.log().slice(-2000)}`)
      })

      const [pending] = await exportRaw(vm.base, match, started)
      const samples = pending?.samples ?? []
      const stamps = samples.map((s) => s.timestamp)
      // no gap: consecutive readings at most a little over one interval apart, across the outage
      const gaps = stamps.slice(1).map((t, i) => t - (stamps[i] as number))
      const widest = Math.max(...gaps)
      expect(widest, `widest gap ${widest} ms`).toBeLessThan(INTERVAL_MS * 1.5)
      expect(stamps[0]).toBeLessThan(down)
      const during = samples.filter((s) => s.timestamp > down && s.timestamp < up)
      expect(during.length).toBeGreaterThanOrEqual(Math.floor(OUTAGE_MS / INTERVAL_MS) - 3)
      // the queue grew through the outage (those readings were held, then sent)
      expect(during.at(-1)?.value ?? 0).toBeGreaterThan(during[0]?.value ?? 0)
      // the largest family too: every reading of node_cpu_seconds_total is there
      const [cpuSeries] = await exportRaw(vm.base, 'node_cpu_seconds_total{job="sonar-agent",cpu="0",mode="idle"}', started)
      const cpuStamps = (cpuSeries?.samples ?? []).map((s) => s.timestamp)
      expect(cpuStamps).toEqual(stamps)
      const failed = await instantQuery(vm.base, 'sonar_remote_write_failed_requests_total{job="sonar-agent"}')
      expect(failed[0]?.value).toBeGreaterThan(0)
      const dropped = await instantQuery(vm.base, 'sonar_remote_write_dropped_samples_total{job="sonar-agent"}')
      expect(dropped[0]?.value).toBe(0)
      console.info(`[remote-write-victoria] outage ${Math.round((up - down) / 1000)} s: ${during.length} readings held and delivered, widest gap ${widest} ms, ${stamps.length} samples in all, failed requests ${failed[0]?.value}`)
    },
    OUTAGE_MS + 150_000,
  )
})
