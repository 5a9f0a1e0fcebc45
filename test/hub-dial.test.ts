/**
 * The doctor must dial the hub exactly as the agent does, or its verdict on HUB_URL, TOKEN,
 * CA_CERT_FILE and the proxy says nothing about the agent: both build their dial from one config
 * with transport/hub-dial.ts. This test pins that from the outside: one environment, one recording
 * TLS hub behind a real CONNECT proxy, the real agent and the real doctor, and their upgrade
 * requests compared header by header.
 */
import { execFileSync } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import type { IncomingHttpHeaders } from 'node:http'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent } from '../ts/agent.js'
import { openCollector } from '../ts/collector.js'
import { loadConfig } from '../ts/config/config.js'
import { checkCore } from '../ts/doctor/core.js'
import { checkHub } from '../ts/doctor/hub.js'
import { ed25519Blob } from '../ts/identity/keys.js'
import { silentLogger } from '../ts/log.js'
import { hubClientOptions, hubDialSettings, MAX_PAYLOAD_BYTES } from '../ts/transport/hub-dial.js'
import { startConnectProxy, type ConnectProxy } from './helpers/connect-proxy.js'

interface Recorded {
  kind: 'upgrade' | 'get'
  path: string
  headers: IncomingHttpHeaders
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

let dir: string
let server: Server
let port: number
let proxy: ConnectProxy
const recorded: Recorded[] = []

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sonar-hub-dial-'))
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ed25519', '-nodes', '-days', '2',
    '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'ignore' })
  // A hub that refuses every upgrade as a real one refuses a wrong token, and records who asked how.
  server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (req, res) => {
    recorded.push({ kind: 'get', path: req.url ?? '', headers: req.headers })
    res.end('hub')
  })
  server.on('upgrade', (req, socket) => {
    recorded.push({ kind: 'upgrade', path: req.url ?? '', headers: req.headers })
    socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\nInvalid token')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
  proxy = await startConnectProxy()
})

afterAll(() => {
  proxy?.close()
  server?.closeAllConnections()
  server?.close()
  rmSync(dir, { recursive: true, force: true })
})

function keyLine(): string {
  const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' })
  return `ssh-ed25519 ${ed25519Blob(Buffer.from(jwk.x ?? '', 'base64url')).toString('base64')} hub`
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

/** Without what differs by design: the per-dial random values (each checked for its form) and the user agent. */
function comparable(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  // X-Sonar-Nonce (docs/extensions.md) is fresh per dial like Sec-WebSocket-Key
  const { 'sec-websocket-key': _nonce, 'x-sonar-nonce': hubNonce, 'user-agent': _agent, ...rest } = headers
  return { ...rest, 'x-sonar-nonce': hubNonce === undefined ? 'absent' : /^[A-Za-z0-9_-]{43}$/.test(String(hubNonce)) ? 'well formed' : 'malformed' }
}

describe('the doctor dials the hub as the agent does', () => {
  it('same route, headers, TLS trust (CA_CERT_FILE) and proxy (HTTPS_PROXY) from one configuration', async () => {
    const env: NodeJS.ProcessEnv = {
      HUB_URL: `https://127.0.0.1:${port}/base`,
      TOKEN: 'dial-test-token',
      KEY: keyLine(),
      CA_CERT_FILE: join(dir, 'cert.pem'),
      HTTPS_PROXY: `http://127.0.0.1:${proxy.port}`,
      DISABLE_SSH: 'true',
      DATA_DIR: dir,
    }
    const defaultConfigFile = join(dir, 'none.yml')
    const userAgent = 'sonar-agent/9.9.9-test'

    // the agent: one dial, refused with 401, then a long backoff
    const agent = new Agent({
      config: loadConfig({}, env, { defaultConfigFile }),
      collector: openCollector(),
      fingerprint: 'f'.repeat(48),
      logger: silentLogger,
      userAgent,
      healthFile: false,
      env,
      tuning: { backoff: { baseMs: 60_000, capMs: 60_000 } },
    })
    agent.start()
    try {
      await waitFor(() => recorded.some((r) => r.kind === 'upgrade'), 'the agent\'s upgrade request')
    } finally {
      await agent.stop()
    }
    const fromAgent = recorded.filter((r) => r.kind === 'upgrade')
    expect(fromAgent).toHaveLength(1)
    const agentTunnels = proxy.tunnels.length
    expect(proxy.tunnels).toContain(`127.0.0.1:${port}`)

    // the doctor: its own reading of the same environment, its own hub group
    const { context } = await checkCore({ flags: {}, env, defaultConfigFile })
    const results = await checkHub(context, { userAgent: `${userAgent} doctor` })
    const route = results.find((r) => r.name === 'agent-connect')
    expect(route).toMatchObject({ status: 'fail', message: expect.stringMatching(/rejected TOKEN \(401 "Invalid token"\)/) })
    const fromDoctor = recorded.filter((r) => r.kind === 'upgrade').slice(1)
    expect(fromDoctor).toHaveLength(1)

    const [a, d] = [fromAgent[0], fromDoctor[0]]
    if (!a || !d) throw new Error('missing request')
    expect(d.path).toBe(a.path)
    expect(a.path).toBe('/base/api/sonar/agent-connect')
    expect(comparable(d.headers)).toEqual(comparable(a.headers))
    expect(a.headers['x-token']).toBe('dial-test-token')
    expect(a.headers['x-sonar-nonce']).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(a.headers['sec-websocket-extensions']).toBeUndefined() // no permessage-deflate, in either
    expect(a.headers['user-agent']).toBe(userAgent)
    expect(d.headers['user-agent']).toBe(`${userAgent} doctor`)
    // the doctor's route dial and its clock GET both went through the proxy, as the agent's dial did
    expect(proxy.tunnels.slice(agentTunnels)).toEqual([`127.0.0.1:${port}`, `127.0.0.1:${port}`])
    expect(recorded.filter((r) => r.kind === 'get').map((r) => r.headers['user-agent'])).toEqual([`${userAgent} doctor`])
  })

  it('one builder: the client options for a configuration are the agent\'s whoever asks', async () => {
    const env = { HUB_URL: 'wss://hub.example.com', TOKEN: 't', KEY: keyLine(), DISABLE_SSH: 'true', TLS_INSECURE_SKIP_VERIFY: 'true', SONAR_AGENT_NO_PROXY: 'other.example' }
    const config = loadConfig({}, env, { defaultConfigFile: join(dir, 'none.yml') })
    const settings = hubDialSettings(config, { ...env, https_proxy: 'http://proxy.example:3128' }, { token: 't', protocolVersion: '0.17.0', userAgent: 'ua' })
    // proxy settings as the agent reads them: prefixed names as settings, lower-case ones from the environment
    expect(settings.proxy).toEqual({ httpsProxy: 'http://proxy.example:3128', noProxy: 'other.example' })
    const options = await hubClientOptions(new URL('wss://hub.example.com/api/sonar/agent-connect'), settings)
    expect(options).toEqual({
      headers: { 'X-Token': 't', 'X-Beszel': '0.17.0', 'X-Sonar': '0.17.0', 'User-Agent': 'ua' },
      perMessageDeflate: false,
      maxPayload: MAX_PAYLOAD_BYTES,
      handshakeTimeout: 10_000,
      followRedirects: false,
      skipUTF8Validation: true,
      rejectUnauthorized: false,
      agent: expect.anything(),
    })
    ;(options.agent as { destroy(): void }).destroy()
  })
})
