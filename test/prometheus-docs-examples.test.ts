/**
 * The Prometheus examples a reader copies from README.md and docs/prometheus.md work as written:
 * every Prometheus configuration passes the real `promtool check config`, every agent
 * configuration loads through loadConfig and the metrics settings' own checks (remote write's
 * URL, labels and credential files), and the web config loads as METRICS_WEB_CONFIG would, with
 * certificates made by the real openssl standing in for the example's paths.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../ts/config/config.js'
import { checkMetricsSettings } from '../ts/metrics/start.js'
import { loadWebConfig } from '../ts/metrics/web-config.js'
import { parseListen } from '../ts/metrics/server.js'
import { PROMTOOL } from './helpers/prometheus.js'
import { haveOpenssl, makeTestCerts, type TestCerts } from './helpers/tls-certs.js'

const DOCS = ['README.md', 'docs/prometheus.md']

interface Block {
  doc: string
  /** its place, for the failure message */
  line: number
  text: string
}

const blocks: Block[] = DOCS.flatMap((doc) => {
  const text = readFileSync(doc, 'utf8')
  return [...text.matchAll(/^```yaml\n([\s\S]*?)^```/gm)].map((m) => ({ doc, line: text.slice(0, m.index).split('\n').length, text: m[1] ?? '' }))
})
const prometheusConfigs = blocks.filter((b) => /^scrape_configs:|^remote_write:/m.test(b.text))
/** the agent's own settings: upper-case keys */
const agentConfigs = blocks.filter((b) => /^[A-Z][A-Z0-9_]*:/m.test(b.text))
const webConfigs = blocks.filter((b) => /^(tls_server_config|basic_auth_users|http_server_config):/m.test(b.text))

const tmp = mkdtempSync(join(tmpdir(), 'sonar-prometheus-docs-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/** Every key whose value is an absolute path gets a file of that name that exists here instead. */
function withFilesHere(text: string, contents: (path: string) => string = () => 'secret\n'): string {
  return text.replace(/^(\s*[\w-]+:\s*)(\/[\w./-]+)/gm, (_, key: string, path: string) => {
    const here = join(tmp, path.replaceAll('/', '_'))
    writeFileSync(here, contents(path))
    return `${key}${here}`
  })
}

describe('the Prometheus examples in the docs', () => {
  it('there are examples of each kind to check', () => {
    expect(prometheusConfigs.length).toBeGreaterThanOrEqual(2)
    expect(agentConfigs.length).toBeGreaterThanOrEqual(3)
    expect(webConfigs.length).toBeGreaterThanOrEqual(1)
  })

  for (const block of prometheusConfigs) it(`${block.doc}:${block.line} passes promtool check config`, async (ctx) => {
    if (!existsSync(PROMTOOL)) return ctx.skip(`${PROMTOOL} is not installed (apt-get install prometheus)`)
    const file = join(tmp, `prometheus-${block.line}.yml`)
    writeFileSync(file, withFilesHere(block.text))
    const { stdout, stderr } = await promisify(execFile)(PROMTOOL, ['check', 'config', file]).catch((error: { stdout?: string; stderr?: string }) => {
      throw new Error(`promtool refused ${block.doc}:${block.line}:\n${error.stdout ?? ''}${error.stderr ?? ''}`)
    })
    expect(`${stdout}${stderr}`).toContain('SUCCESS')
  })

  for (const block of agentConfigs) it(`${block.doc}:${block.line} loads as the agent configuration and passes the metrics settings checks`, async () => {
    const file = join(tmp, `agent-${block.line}.yml`)
    writeFileSync(file, withFilesHere(block.text))
    const config = loadConfig({ config: file }, { KEY: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHq2k6jsiQX6wLIUWo/C6Mt8bGqCqQDLvB3jbr0nM4Bs docs' }, { hubSettings: false })
    const listen = config.setting('METRICS_LISTEN')
    if (listen !== undefined) expect(() => parseListen(listen)).not.toThrow()
    // a web config path in the example is checked by the web config's own test below
    await expect(checkMetricsSettings(config)).resolves.toBeUndefined()
  })

  describe('the web config', () => {
    let certs: TestCerts | undefined
    beforeAll(async () => {
      if (haveOpenssl()) certs = await makeTestCerts()
    })
    afterAll(() => certs?.remove())

    for (const block of webConfigs) it(`${block.doc}:${block.line} loads as METRICS_WEB_CONFIG`, async (ctx) => {
      if (!certs) return ctx.skip('openssl is not installed: no certificates to stand in for the example paths')
      const made = certs
      const text = withFilesHere(block.text, (path) => readFileSync(path.endsWith('.key') ? made.serverKey : path.endsWith('.crt') ? made.serverCert : made.caCert, 'utf8'))
      const file = join(tmp, `web-${block.line}.yml`)
      writeFileSync(file, text)
      const web = await loadWebConfig(file)
      if (/^tls_server_config:/m.test(block.text)) expect(web.tls).toBeDefined()
      if (/^basic_auth_users:/m.test(block.text)) expect(web.basicAuth).toBeDefined()
    })
  })
})
