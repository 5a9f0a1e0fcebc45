/**
 * METRICS_WEB_CONFIG (ts/metrics/web-config.ts) with the /metrics server: TLS from certificates the
 * real openssl made, client certificates, bcrypt basic auth (hashes by bcryptjs), the headers, and
 * the refusals, each naming the setting, the file and the key.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import bcrypt from 'bcryptjs'
import hashWasmBcrypt from 'hash-wasm/dist/bcrypt.umd.min.js'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { DAEMON_V8_FLAGS } from '../ts/commands/run.js'
import { silentLogger } from '../ts/log.js'
import { startMetricsServer, type MetricsServer } from '../ts/metrics/server.js'
import { loadWebConfig, parseBasic } from '../ts/metrics/web-config.js'
import { AGENT_BIN, startAgentProcess } from './helpers/agent-process.js'
import { rawRequest } from './helpers/http-get.js'
import { freePort } from './helpers/net.js'
import { generateSshKeyPair } from './helpers/ssh.js'
import { haveOpenssl, makeTestCerts, type TestCerts } from './helpers/tls-certs.js'

// a pass-through spy: how many bcrypt checks the server really runs
vi.mock('hash-wasm/dist/bcrypt.umd.min.js', async (original) => {
  const actual = (await original<typeof import('hash-wasm/dist/bcrypt.umd.min.js')>()).default
  return { default: { ...actual, bcryptVerify: vi.fn(actual.bcryptVerify) } }
})
const bcryptVerify = vi.mocked(hashWasmBcrypt.bcryptVerify)

const BODY = '# TYPE up_like gauge\nup_like 1\n'
const native = {
  metricsContentTypes: { text: 'text/plain; version=0.0.4; charset=utf-8', openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8' },
  metricsExposition: async () => Buffer.from(BODY),
}

let certs: TestCerts | undefined
const dirs: string[] = []
const servers: MetricsServer[] = []
beforeAll(async () => {
  if (haveOpenssl()) certs = await makeTestCerts()
})
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})
afterAll(() => {
  certs?.remove()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function webConfig(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sonar-web-config-'))
  dirs.push(dir)
  const path = join(dir, 'web-config.yml')
  writeFileSync(path, text)
  return path
}

async function serve(path: string): Promise<MetricsServer> {
  const settings: Record<string, string> = { METRICS_LISTEN: '127.0.0.1:0', METRICS_WEB_CONFIG: path }
  const server = await startMetricsServer({ native, logger: silentLogger, config: { setting: (n) => settings[n] } }, async () => ({}))
  servers.push(server)
  return server
}

const basic = (user: string, password: string) => ({ Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` })
const tlsYaml = (c: TestCerts, extra = '') => `tls_server_config:\n  cert_file: ${c.serverCert}\n  key_file: ${c.serverKey}\n${extra}`

describe('TLS', () => {
  it.skipIf(!haveOpenssl())('serves https with the file\'s certificate; plain http gets no answer', async () => {
    const c = certs!
    const server = await serve(webConfig(tlsYaml(c)))
    expect(server.tls).toBe(true)
    const res = await rawRequest(`https://127.0.0.1:${server.address.port}/metrics`, { ca: readFileSync(c.caCert) })
    expect(res.status).toBe(200)
    expect(res.body.toString()).toBe(BODY)
    await expect(rawRequest(`http://127.0.0.1:${server.address.port}/metrics`)).rejects.toThrow()
  })

  it.skipIf(!haveOpenssl())('paths relative to the file are read from its folder, as exporter-toolkit does', async () => {
    const c = certs!
    const path = join(c.dir, 'web.yml')
    writeFileSync(path, 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n')
    const server = await serve(path)
    expect((await rawRequest(`https://127.0.0.1:${server.address.port}/metrics`, { ca: readFileSync(c.caCert) })).status).toBe(200)
  })

  it.skipIf(!haveOpenssl())('RequireAndVerifyClientCert: a client certificate from client_ca_file gets in, none is refused', async () => {
    const c = certs!
    const server = await serve(webConfig(tlsYaml(c, `  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${c.caCert}\n`)))
    const at = `https://127.0.0.1:${server.address.port}/metrics`
    const ca = readFileSync(c.caCert)
    expect((await rawRequest(at, { ca, cert: readFileSync(c.clientCert), key: readFileSync(c.clientKey) })).status).toBe(200)
    await expect(rawRequest(at, { ca })).rejects.toThrow()
  })

  it.skipIf(!haveOpenssl())('RequireAnyClientCert refuses a client without one; VerifyClientCertIfGiven admits it', async () => {
    const c = certs!
    const ca = readFileSync(c.caCert)
    const any = await serve(webConfig(tlsYaml(c, '  client_auth_type: RequireAnyClientCert\n')))
    await expect(rawRequest(`https://127.0.0.1:${any.address.port}/metrics`, { ca })).rejects.toThrow()
    expect((await rawRequest(`https://127.0.0.1:${any.address.port}/metrics`, { ca, cert: readFileSync(c.clientCert), key: readFileSync(c.clientKey) })).status).toBe(200)
    const ifGiven = await serve(webConfig(tlsYaml(c, `  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ${c.caCert}\n`)))
    expect((await rawRequest(`https://127.0.0.1:${ifGiven.address.port}/metrics`, { ca })).status).toBe(200)
  })

  it.skipIf(!haveOpenssl())('min_version TLS13 refuses a TLS 1.2 client', async () => {
    const c = certs!
    const server = await serve(webConfig(tlsYaml(c, '  min_version: TLS13\n')))
    const { connect } = await import('node:tls')
    const outcome = await new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: server.address.port, ca: readFileSync(c.caCert), maxVersion: 'TLSv1.2' }, () => resolve(`connected ${socket.getProtocol()}`))
      socket.on('error', (error) => resolve(error.message))
    })
    expect(outcome).not.toMatch(/^connected/)
  })
})

describe('basic_auth_users', () => {
  const hash = bcrypt.hashSync('s3cret', 10)

  it('the right password gets in, a wrong one or an unknown user gets 401 with a Basic challenge', async () => {
    const server = await serve(webConfig(`basic_auth_users:\n  prometheus: '${hash}'\n`))
    const at = `http://127.0.0.1:${server.address.port}/metrics`
    const ok = await rawRequest(at, { headers: basic('prometheus', 's3cret') })
    expect(ok.status).toBe(200)
    expect(ok.body.toString()).toBe(BODY)
    for (const headers of [basic('prometheus', 'wrong'), basic('nobody', 's3cret'), {}, { Authorization: 'Bearer s3cret' }]) {
      const res = await rawRequest(at, { headers })
      expect(res.status).toBe(401)
      expect(res.headers['www-authenticate']).toBe('Basic realm="sonar-agent"')
    }
    // the route is not told to the unauthenticated
    expect((await rawRequest(`http://127.0.0.1:${server.address.port}/`)).status).toBe(401)
  })

  it('a verified password is cached (one bcrypt per user and password), unknown users pay bcrypt as known ones do', async () => {
    bcryptVerify.mockClear()
    const server = await serve(webConfig(`basic_auth_users:\n  prometheus: '${hash}'\n`))
    const at = `http://127.0.0.1:${server.address.port}/metrics`
    for (let i = 0; i < 4; i++) expect((await rawRequest(at, { headers: basic('prometheus', 's3cret') })).status).toBe(200)
    expect(bcryptVerify).toHaveBeenCalledTimes(1)
    await rawRequest(at, { headers: basic('nobody', 'x') })
    await rawRequest(at, { headers: basic('nobody', 'x') })
    expect(bcryptVerify).toHaveBeenCalledTimes(3)
    // the unknown user was checked against a hash of the real cost
    expect(bcryptVerify.mock.calls[1]?.[0].hash).toBe(hash)
    // a wrong password is never cached as right
    expect((await rawRequest(at, { headers: basic('prometheus', 'wrong') })).status).toBe(401)
    expect((await rawRequest(at, { headers: basic('prometheus', 'wrong') })).status).toBe(401)
    expect(bcryptVerify).toHaveBeenCalledTimes(5)
  })

  it('an empty password matches nothing; a long one is read to 72 bytes, as bcrypt does', async () => {
    const long = 'p'.repeat(100)
    const server = await serve(webConfig(`basic_auth_users:\n  empty: '${bcrypt.hashSync('', 4)}'\n  long: '${bcrypt.hashSync(long, 4)}'\n`))
    const at = `http://127.0.0.1:${server.address.port}/metrics`
    expect((await rawRequest(at, { headers: basic('empty', '') })).status).toBe(401)
    expect((await rawRequest(at, { headers: basic('long', long) })).status).toBe(200)
    expect((await rawRequest(at, { headers: basic('long', long.slice(0, 72)) })).status).toBe(200)
    expect((await rawRequest(at, { headers: basic('long', long.slice(0, 71)) })).status).toBe(401)
  })

  it('checks run one at a time with the event loop turning between them; a flood beyond the queue gets 429', async () => {
    // cost 11: each check long enough (~0.2 s) that the flood arrives while the first runs
    const server = await serve(webConfig(`basic_auth_users:\n  prometheus: '${bcrypt.hashSync('s3cret', 11)}'\n`))
    const at = `http://127.0.0.1:${server.address.port}/metrics`
    let last = performance.now()
    let longestGap = 0
    const ticker = setInterval(() => {
      const now = performance.now()
      longestGap = Math.max(longestGap, now - last)
      last = now
    }, 5)
    const started = performance.now()
    // the flood from another process, as an attacker's would come: 20 requests at once
    const flood = [
      "const http = require('node:http')",
      `const auth = 'Basic ' + Buffer.from('prometheus:wrong').toString('base64')`,
      `const one = () => new Promise((resolve) => http.get(${JSON.stringify(at)}, { agent: false, headers: { authorization: auth } }, (res) => { res.resume(); resolve(res.statusCode) }).on('error', () => resolve(0)))`,
      'Promise.all(Array.from({ length: 20 }, one)).then((codes) => console.log(codes.join(" ")))',
    ].join('\n')
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', flood])
    const statuses = stdout.trim().split(' ').map(Number)
    const took = performance.now() - started
    clearInterval(ticker)
    // at most eight wait at once (a slot freed meanwhile may take one more): the rest are turned away
    expect(statuses.length).toBe(20)
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true)
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThanOrEqual(8)
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(1)
    // eight or more checks ran, none of the loop's pauses held more than about one of them
    expect(longestGap).toBeLessThan(took / 3)
  })

  it('bcrypt under the daemon V8 flags (no optimising compiler): a cost-10 check takes well under a second', async () => {
    const path = webConfig(`basic_auth_users:\n  prometheus: '${hash}'\n`)
    const script = [
      "import { loadWebConfig } from './ts/metrics/web-config.ts'",
      `const config = await loadWebConfig(${JSON.stringify(path)})`,
      `const header = ${JSON.stringify(basic('prometheus', 's3cret').Authorization)}`,
      'const started = performance.now()',
      'const answer = await config.basicAuth(header)',
      'console.log(JSON.stringify({ answer, ms: performance.now() - started }))',
    ].join('\n')
    const { stdout } = await promisify(execFile)(process.execPath, [...DAEMON_V8_FLAGS, '--import', 'tsx', '--input-type=module', '-e', script], { cwd: new URL('..', import.meta.url).pathname })
    const { answer, ms } = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { answer: string; ms: number }
    expect(answer).toBe('ok')
    // bcryptjs took ~8 s here under these flags (against ~0.13 s with them off)
    expect(ms).toBeLessThan(1500)
  })

  it('parses Basic credentials whose password holds a colon', () => {
    expect(parseBasic(basic('a', 'b:c').Authorization)).toEqual({ user: 'a', password: 'b:c' })
    expect(parseBasic('Basic !!!')).toBeUndefined()
  })
})

describe('http_server_config', () => {
  it('headers are added to every answer', async () => {
    const server = await serve(webConfig('http_server_config:\n  headers:\n    X-Frame-Options: deny\n    Strict-Transport-Security: max-age=31536000\n'))
    const res = await rawRequest(`http://127.0.0.1:${server.address.port}/metrics`)
    expect(res.headers['x-frame-options']).toBe('deny')
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000')
  })

  it('an empty file serves plain http', async () => {
    const server = await serve(webConfig(''))
    expect(server.tls).toBe(false)
    expect((await rawRequest(`http://127.0.0.1:${server.address.port}/metrics`)).status).toBe(200)
  })
})

describe('a bad file stops the start with one line naming METRICS_WEB_CONFIG, the file and the key', () => {
  const cases: [string, (path: string) => string, RegExp][] = [
    ['a key this agent does not implement', () => 'tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n', /tls_server_config\.cipher_suites is not supported by this agent/],
    ['an unknown top-level key', () => 'rate_limit:\n  interval: 1s\n', /rate_limit is not supported by this agent/],
    ['an unknown header', () => 'http_server_config:\n  headers:\n    X-Custom: 1\n', /http_server_config\.headers\.X-Custom/],
    ['a header value with a line break (it would split the answer)', () => 'http_server_config:\n  headers:\n    X-Frame-Options: "DENY\\r\\nSet-Cookie: a=b"\n', /http_server_config\.headers\.X-Frame-Options: is not a header value/],
    ['a password that is not a bcrypt hash', () => 'basic_auth_users:\n  alice: plain-text\n', /basic_auth_users\.alice: is not a bcrypt hash/],
    ['a missing certificate file', () => 'tls_server_config:\n  cert_file: /nonexistent/server.crt\n  key_file: /nonexistent/server.key\n', /tls_server_config\.cert_file \/nonexistent\/server\.crt cannot be read \(ENOENT\)/],
    ['no key_file', () => 'tls_server_config:\n  cert_file: /x.crt\n', /tls_server_config\.key_file/],
    ['a client_auth_type that verifies without client_ca_file', () => 'tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n', /needs tls_server_config\.client_ca_file/],
    ['an unknown client_auth_type', () => 'tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Sometimes\n', /tls_server_config\.client_auth_type/],
    ['not YAML', () => 'tls_server_config: [\n', /is not YAML/],
  ]
  for (const [what, content, problem] of cases) {
    it(what, async () => {
      const path = webConfig(content(''))
      const error = await loadWebConfig(path).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(Error)
      const message = (error as Error).message
      expect(message.startsWith(`METRICS_WEB_CONFIG: ${path}: `)).toBe(true)
      expect(message).toMatch(problem)
      expect(message).not.toContain('\n')
    })
  }

  it('a file that does not exist', async () => {
    await expect(loadWebConfig('/nonexistent/web.yml')).rejects.toThrow(/^METRICS_WEB_CONFIG: \/nonexistent\/web\.yml: cannot be read \(ENOENT\)/)
  })

  it.skipIf(!haveOpenssl())('a key that does not match the certificate', async () => {
    const c = certs!
    const path = webConfig(`tls_server_config:\n  cert_file: ${c.serverCert}\n  key_file: ${c.clientKey}\n`)
    await expect(loadWebConfig(path)).rejects.toThrow(/^METRICS_WEB_CONFIG: .*: tls_server_config: .*key values mismatch/)
  })
})

describe.skipIf(!existsSync(AGENT_BIN))('sonar-agent run with a bad metrics setting (build first: npm run build:ts)', () => {
  const runAgent = async (env: Record<string, string>) => {
    const agent = startAgentProcess({ KEY: generateSshKeyPair().public, LISTEN: `127.0.0.1:${await freePort()}`, DOCKER_HOST: '', SKIP_GPU: 'true', SMART_DEVICES: '', ...env })
    const timer = setTimeout(() => void agent.stop(), 20_000)
    const exit = await agent.exited
    clearTimeout(timer)
    const stderr = agent.stderr()
    await agent.stop()
    return { exit, lines: stderr.split('\n').filter((line) => line.trim() !== '') }
  }

  it('stops with one line naming METRICS_WEB_CONFIG, the file and the key', async () => {
    const path = webConfig('tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n')
    const { exit, lines } = await runAgent({ METRICS_LISTEN: '127.0.0.1:0', METRICS_WEB_CONFIG: path })
    expect(exit.code, lines.join('\n')).toBe(1)
    expect(lines.filter((line) => line.includes(`METRICS_WEB_CONFIG: ${path}: tls_server_config.cipher_suites is not supported by this agent`))).toHaveLength(1)
  })

  it('stops with one line naming METRICS_LISTEN for a value it cannot read', async () => {
    const { exit, lines } = await runAgent({ METRICS_LISTEN: 'every-interface' })
    expect(exit.code, lines.join('\n')).toBe(1)
    expect(lines.filter((line) => line.includes('METRICS_LISTEN: "every-interface" is not host:port'))).toHaveLength(1)
  })
})
