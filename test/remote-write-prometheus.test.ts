/**
 * `sonar-agent run` pushing to a real Prometheus 2.42 with its remote-write receiver
 * (--web.enable-remote-write-receiver), the receiver the protocol was written for: it answers 400
 * to a request it cannot decode, to duplicate label names and to out-of-order samples, so the
 * agent's failed and dropped counters staying at 0 while the series arrive checks the encoding
 * and the order. Needs npm run build:ts.
 */
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startAgentProcess, type AgentProcess } from './helpers/agent-process.js'
import { freePort } from './helpers/net.js'
import { prometheusMissing, startPrometheus, type Prometheus } from './helpers/prometheus.js'
import { until } from './helpers/until.js'

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea other'

const skip = prometheusMissing()
if (skip) console.warn(`[remote-write-prometheus] SKIPPED: ${skip}`)

describe.skipIf(skip !== undefined)('remote write to a real Prometheus 2.42 receiver', () => {
  let prometheus: Prometheus
  let agent: AgentProcess

  beforeAll(async () => {
    prometheus = await startPrometheus('global:\n  scrape_interval: 15s\nscrape_configs: []\n', ['--web.enable-remote-write-receiver'])
    agent = startAgentProcess({
      KEY,
      LISTEN: `127.0.0.1:${await freePort()}`,
      SMART_DEVICES: '',
      SKIP_SYSTEMD: 'true',
      REMOTE_WRITE_URL: `${prometheus.url}/api/v1/write`,
      REMOTE_WRITE_INTERVAL: '500ms',
      REMOTE_WRITE_LABELS: 'instance=web-01',
    })
  }, 60_000)

  afterAll(async () => {
    await agent?.stop()
    await prometheus?.stop()
  }, 60_000)

  const value = async (promql: string): Promise<number | undefined> => {
    const [first] = await prometheus.query(promql)
    return first === undefined ? undefined : Number(first.value[1])
  }

  it('Prometheus accepts every request and serves the series with job and instance', async () => {
    // a counter Prometheus has seen rise: several requests in a row were accepted
    const [sent] = await until(
      'sonar_remote_write_sent_samples_total rising in Prometheus',
      async () => {
        const found = await prometheus.query('sonar_remote_write_sent_samples_total')
        return found.length > 0 && Number(found[0]?.value[1]) > 0 ? found : undefined
      },
      20_000,
      250,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\nagent: ${agent.stderr().slice(-3000)}\nprometheus: ${prometheus.stderr().slice(-2000)}`)
    })
    expect(sent?.metric).toEqual({ __name__: 'sonar_remote_write_sent_samples_total', job: 'sonar-agent', instance: 'web-01' })
    await until('a few more readings', async () => ((await value('count_over_time(sonar_remote_write_pending_samples[1m])')) ?? 0) >= 4, 10_000, 250)
    // node_exporter's names arrive as they would from a scrape
    const memTotal = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]) * 1024
    expect(await value('node_memory_MemTotal_bytes{job="sonar-agent",instance="web-01"}')).toBe(memTotal)
    // nothing refused, nothing failed: the requests were well-formed for the strictest receiver
    expect(await value('sonar_remote_write_failed_requests_total')).toBe(0)
    expect(await value('sonar_remote_write_dropped_samples_total')).toBe(0)
    expect(agent.stderr()).not.toMatch(/receiver refused|not reachable/)
    expect(prometheus.stderr()).not.toMatch(/level=(error|warn)/)
  })
})
