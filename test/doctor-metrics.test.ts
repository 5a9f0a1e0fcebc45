/**
 * The doctor's metrics group: off when neither METRICS_LISTEN nor REMOTE_WRITE_URL is set; the
 * settings read as the daemon reads them, each problem naming its setting; whether the agent's
 * real /metrics server answers at METRICS_LISTEN; whether the remote-write receiver (a real HTTP
 * server here, then a closed port) accepts connections.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { CheckResult } from '../ts/doctor/check.js'
import { runDoctor } from '../ts/doctor/doctor.js'
import { loadConfig } from '../ts/config/config.js'
import { createLogger } from '../ts/log.js'
import { startMetrics } from '../ts/metrics/start.js'
import { loadNative } from '../ts/native.js'
import { startConnectProxy } from './helpers/connect-proxy.js'
import { freePort } from './helpers/net.js'
import { generateSshKeyPair } from './helpers/ssh.js'

const KEY = generateSshKeyPair().public
const home = mkdtempSync(join(tmpdir(), 'sonar-doctor-metrics-'))
afterAll(() => rmSync(home, { recursive: true, force: true }))

function env(settings: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: home, KEY, ...settings }
}

async function metricsChecks(settings: Record<string, string>): Promise<CheckResult[]> {
  const report = await runDoctor({ flags: {}, env: env(settings), version: 'test', defaultConfigFile: join(home, 'absent.yml'), systemDataDir: join(home, 'lib'), groupTimeoutMs: 8_000 })
  return report.checks.filter((c) => c.group === 'metrics')
}

describe('doctor: metrics', () => {
  it('says Prometheus is off, and how to turn it on, when neither setting is set', async () => {
    const [off] = await metricsChecks({})
    expect(off).toMatchObject({ status: 'skip', message: expect.stringContaining('METRICS_LISTEN and REMOTE_WRITE_URL are unset') })
    expect(off?.fix).toContain('METRICS_LISTEN=127.0.0.1:9101')
  })

  it('a bad METRICS_LISTEN fails, naming the setting', async () => {
    const [bad] = await metricsChecks({ METRICS_LISTEN: 'localhost:99999' })
    expect(bad).toMatchObject({ status: 'fail', message: expect.stringContaining('METRICS_LISTEN') })
  })

  it("finds the agent's real /metrics server answering, and warns when nothing listens", async () => {
    const port = await freePort()
    const native = loadNative()
    const config = loadConfig({}, env({ METRICS_LISTEN: `127.0.0.1:${port}` }), { native })
    const server = await startMetrics({ config, native, logger: createLogger('error') })
    try {
      const [up] = await metricsChecks({ METRICS_LISTEN: `127.0.0.1:${port}` })
      expect(up).toMatchObject({ status: 'ok', message: expect.stringContaining(`http://127.0.0.1:${port}/metrics answers`) })
    } finally {
      await server.close()
    }
    const [down] = await metricsChecks({ METRICS_LISTEN: `127.0.0.1:${port}` })
    expect(down).toMatchObject({ status: 'warn', message: expect.stringContaining('ECONNREFUSED') })
  })

  it('a web config that does not parse fails, naming METRICS_WEB_CONFIG', async () => {
    const checks = await metricsChecks({ METRICS_LISTEN: '9', METRICS_WEB_CONFIG: join(home, 'missing-web.yml') })
    expect(checks[0]).toMatchObject({ name: 'web config', status: 'fail', message: expect.stringContaining('METRICS_WEB_CONFIG') })
  })

  it('reads the remote-write settings and reaches a real receiver; a closed port is a warning, bad labels a failure', async () => {
    const receiver: Server = createServer((req, res) => res.writeHead(204).end())
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
    const port = (receiver.address() as { port: number }).port
    try {
      const checks = await metricsChecks({ REMOTE_WRITE_URL: `http://127.0.0.1:${port}/api/v1/write`, REMOTE_WRITE_LABELS: 'env=prod' })
      expect(checks[0]).toMatchObject({ name: 'remote write', status: 'ok', message: expect.stringContaining('env=prod') })
      expect(checks[1]).toMatchObject({ name: 'receiver', status: 'ok' })
    } finally {
      await new Promise((resolve) => receiver.close(resolve))
    }
    const closed = await metricsChecks({ REMOTE_WRITE_URL: `http://127.0.0.1:${port}/api/v1/write` })
    expect(closed[1]).toMatchObject({ name: 'receiver', status: 'warn', message: expect.stringContaining('ECONNREFUSED') })
    const bad = await metricsChecks({ REMOTE_WRITE_URL: `http://127.0.0.1:${port}/api/v1/write`, REMOTE_WRITE_LABELS: '1bad=x' })
    expect(bad[0]).toMatchObject({ name: 'remote write', status: 'fail', message: expect.stringContaining('REMOTE_WRITE_LABELS') })
  })

  it('asks the receiver through HTTP_PROXY as the daemon will send to it (a real forwarding proxy); a dead proxy is a warning naming the proxy settings', async () => {
    const receiver: Server = createServer((req, res) => res.writeHead(req.method === 'POST' ? 204 : 405).end())
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/api/v1/write`
    const proxy = await startConnectProxy()
    try {
      const checks = await metricsChecks({ REMOTE_WRITE_URL: url, HTTP_PROXY: `http://user:pw@127.0.0.1:${proxy.port}` })
      expect(checks[1]).toMatchObject({ name: 'receiver', status: 'ok', message: expect.stringContaining(`through the proxy 127.0.0.1:${proxy.port} (HTTP 405`) })
      expect(checks[1]?.message).not.toContain('pw')
      expect(proxy.forwarded).toEqual([url])
      // NO_PROXY: asked directly
      const direct = await metricsChecks({ REMOTE_WRITE_URL: url, HTTP_PROXY: `http://127.0.0.1:${proxy.port}`, NO_PROXY: '127.0.0.1' })
      expect(direct[1]).toMatchObject({ name: 'receiver', status: 'ok', message: expect.stringContaining('accepts connections') })
      expect(proxy.forwarded).toHaveLength(1)
    } finally {
      proxy.close()
      await new Promise((resolve) => receiver.close(resolve))
    }
    const dead = await metricsChecks({ REMOTE_WRITE_URL: url, HTTP_PROXY: `http://127.0.0.1:${await freePort()}` })
    expect(dead[1]).toMatchObject({ name: 'receiver', status: 'warn', message: expect.stringContaining('ECONNREFUSED'), fix: expect.stringContaining('HTTP_PROXY') })
  })
})
