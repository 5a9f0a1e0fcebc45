/**
 * The real Prometheus 2.42 scraping `sonar-agent run` over TLS with basic auth, the agent reading a
 * METRICS_WEB_CONFIG written as for node_exporter: certificates by the real openssl, the password
 * as a bcrypt hash by bcryptjs. The right password: up = 1; a wrong one: 401 and up = 0.
 * Build first: npm run build:ts.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import bcrypt from 'bcryptjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AGENT_BIN, startAgentProcess, type AgentProcess } from './helpers/agent-process.js'
import { rawRequest } from './helpers/http-get.js'
import { freePort, waitForPort } from './helpers/net.js'
import { prometheusMissing, startPrometheus, type Prometheus } from './helpers/prometheus.js'
import { generateSshKeyPair } from './helpers/ssh.js'
import { haveOpenssl, makeTestCerts, type TestCerts } from './helpers/tls-certs.js'
import { until } from './helpers/until.js'

const PASSWORD = 'scrape-me-7f3a'
const missing =
  prometheusMissing() ?? (haveOpenssl() ? undefined : 'openssl is not installed') ?? (existsSync(AGENT_BIN) ? undefined : `${AGENT_BIN} is missing: run npm run build:ts first`)
if (missing) console.warn(`skipping the Prometheus TLS tests: ${missing}`)

let certs: TestCerts | undefined
let dir: string | undefined
let agent: AgentProcess | undefined
let prometheus: Prometheus | undefined
let metricsPort = 0

beforeAll(async () => {
  if (missing) return
  certs = await makeTestCerts()
  dir = mkdtempSync(join(tmpdir(), 'sonar-prom-tls-'))
  const webConfig = join(dir, 'web-config.yml')
  writeFileSync(
    webConfig,
    [
      'tls_server_config:',
      `  cert_file: ${certs.serverCert}`,
      `  key_file: ${certs.serverKey}`,
      'basic_auth_users:',
      `  prometheus: '${await bcrypt.hash(PASSWORD, 10)}'`,
      '',
    ].join('\n'),
  )
  metricsPort = await freePort()
  agent = startAgentProcess({
    LISTEN: `127.0.0.1:${await freePort()}`,
    KEY: generateSshKeyPair().public,
    METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
    METRICS_WEB_CONFIG: webConfig,
    DOCKER_HOST: '',
    SKIP_GPU: 'true',
    SMART_DEVICES: '',
  })
  await waitForPort(metricsPort, 20_000).catch((error: unknown) => {
    throw new Error(`${String(error)}; agent stderr: ${agent?.stderr()}`)
  })
  const scrape = (name: string, password: string) => [
    `  - job_name: ${name}`,
    '    scheme: https',
    '    tls_config:',
    `      ca_file: ${certs!.caCert}`,
    '    basic_auth:',
    '      username: prometheus',
    `      password: ${password}`,
    '    static_configs:',
    `      - targets: ['127.0.0.1:${metricsPort}']`,
  ]
  prometheus = await startPrometheus(['global:', '  scrape_interval: 1s', '  scrape_timeout: 1s', 'scrape_configs:', ...scrape('right', PASSWORD), ...scrape('wrong', 'not-the-password'), ''].join('\n'))
  await until(
    'two scrapes of each job',
    async () => {
      const counts = await prometheus!.query('count_over_time(up[1m])')
      return counts.length === 2 && counts.every((c) => Number(c.value[1]) >= 2)
    },
    30_000,
    250,
  )
}, 90_000)

afterAll(async () => {
  await prometheus?.stop()
  await agent?.stop()
  certs?.remove()
  if (dir) rmSync(dir, { recursive: true, force: true })
}, 60_000)

describe.skipIf(missing !== undefined)('Prometheus 2.42 scraping over TLS with basic auth (METRICS_WEB_CONFIG)', () => {
  it('the right password: up = 1', async () => {
    const [up] = await prometheus!.query('up{job="right"}')
    const target = (await prometheus!.targets()).find((t) => t.labels.job === 'right')
    expect(up?.value[1], `the scrape's last error: ${target?.lastError}`).toBe('1')
    const [mem] = await prometheus!.query('node_memory_MemTotal_bytes{job="right"}')
    expect(Number(mem?.value[1])).toBeGreaterThan(0)
  })

  it('a wrong password: 401 and up = 0', async () => {
    const [up] = await prometheus!.query('up{job="wrong"}')
    expect(up?.value[1]).toBe('0')
    const target = (await prometheus!.targets()).find((t) => t.labels.job === 'wrong')
    expect(target?.lastError).toMatch(/401 Unauthorized/)
    const direct = await rawRequest(`https://127.0.0.1:${metricsPort}/metrics`, {
      ca: readFileSync(certs!.caCert),
      headers: { Authorization: `Basic ${Buffer.from('prometheus:not-the-password').toString('base64')}` },
    })
    expect(direct.status).toBe(401)
  })

  it('plain http is not served', async () => {
    await expect(rawRequest(`http://127.0.0.1:${metricsPort}/metrics`)).rejects.toThrow()
  })
})
