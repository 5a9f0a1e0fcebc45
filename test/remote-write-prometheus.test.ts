/**
 * `sonar-agent run` pushing to a real Prometheus 2.42 with its remote-write receiver
 * (--web.enable-remote-write-receiver), the receiver the protocol was written for: it answers 400
 * to a request it cannot decode, to duplicate label names and to out-of-order samples, so the
 * agent's failed and dropped counters staying at 0 while the series arrive checks the encoding
 * and the order. Needs npm run build:ts.
 */
import { hostname } from 'node:os'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startAgentProcess, type AgentProcess } from './helpers/agent-process.js'
import { freePort } from './helpers/net.js'
import { instantQuery, missing, PROMETHEUS, startPrometheus, type Tsdb } from './helpers/tsdb.js'
import { until } from './helpers/until.js'

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea other'

const skip = missing(PROMETHEUS, 'prometheus')
if (skip) console.warn(`[remote-write-prometheus] SKIPPED: ${skip}`)

describe.skipIf(skip !== '')('remote write to a real Prometheus 2.42 receiver', () => {
  let prometheus: Tsdb
  let agent: AgentProcess

  beforeAll(async () => {
    prometheus = await startPrometheus()
    agent = startAgentProcess({
      KEY,
      LISTEN: `127.0.0.1:${await freePort()}`,
      SMART_DEVICES: '',
      SKIP_SYSTEMD: 'true',
      REMOTE_WRITE_URL: prometheus.writeUrl,
      REMOTE_WRITE_INTERVAL: '500ms',
      REMOTE_WRITE_LABELS: 'instance=web-01',
    })
  }, 60_000)

  afterAll(async () => {
    await agent?.stop()
    await prometheus?.dispose()
  }, 60_000)

  it('Prometheus accepts every request and serves the series with job and instance', async () => {
    // a counter Prometheus has seen rise: several requests in a row were accepted
    const sent = await until(
      'sonar_remote_write_sent_samples_total rising in Prometheus',
      async () => {
        const [series] = await instantQuery(prometheus.base, 'sonar_remote_write_sent_samples_total')
        return series !== undefined && series.value > 0 ? series : undefined
      },
      20_000,
      250,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\nagent: ${agent.stderr().slice(-3000)}\nprometheus: ${prometheus.log().slice(-2000)}`)
    })
    expect(sent.metric).toEqual({ __name__: 'sonar_remote_write_sent_samples_total', job: 'sonar-agent', instance: 'web-01' })
    expect(hostname()).not.toBe('web-01')
    await until('a few more readings', async () => ((await instantQuery(prometheus.base, 'count_over_time(sonar_remote_write_pending_samples[1m])'))[0]?.value ?? 0) >= 4, 10_000, 250)
    // nothing refused, nothing failed: the requests were well-formed for the strictest receiver
    const [failed] = await instantQuery(prometheus.base, 'sonar_remote_write_failed_requests_total')
    const [dropped] = await instantQuery(prometheus.base, 'sonar_remote_write_dropped_samples_total')
    expect(failed?.value).toBe(0)
    expect(dropped?.value).toBe(0)
    expect(agent.stderr()).not.toMatch(/receiver refused|not reachable/)
    expect(prometheus.log()).not.toMatch(/level=(error|warn)/)
  })
})
