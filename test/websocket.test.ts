/**
 * The WebSocket transport end to end: a real `ws` hub (test/hub), the real agent wiring (config,
 * dispatcher, native collector), real sockets and real TLS. Timings are shortened (backoff, watchdog)
 * through the agent's tuning options; the protocol itself is unchanged.
 */
import { execFileSync } from 'node:child_process'
import { generateKeyPairSync, sign } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { connect as netConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Decoder } from 'cbor-x'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Agent } from '../ts/agent.js'
import { openCollector } from '../ts/collector.js'
import { loadConfig } from '../ts/config/config.js'
import { Dispatcher } from '../ts/dispatch.js'
import { INVALID_SIGNATURE, NONCE_REQUIRED } from '../ts/handlers/fingerprint.js'
import { signHubChallenge } from '../ts/hub/keys.js'
import { createLogger, silentLogger } from '../ts/log.js'
import { decodeRequest, encodeRequest } from '../ts/protocol/envelope.js'
import { agentConnectUrl, flavorOf, isPlainRemote, websocketProtocol } from '../ts/transport/hub-url.js'
import { bypassesProxy, proxyForUrl, proxySettings } from '../ts/transport/proxy.js'
import { WebSocketClient } from '../ts/transport/websocket-client.js'
import { Actions, dataPayloadBytes, HUB_ROUTES, TestHub, type HubConnection } from './hub/test-hub.js'
import { startConnectProxy, type ConnectProxy } from './helpers/connect-proxy.js'

const FINGERPRINT = 'a23d006bb020a81dfd1afa15968e07dcae8a9e0016934b97'
const decoder = new Decoder({ mapsAsObjects: false, int64AsNumber: true } as ConstructorParameters<typeof Decoder>[0])
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const tempDirs: string[] = []
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sonar-ws-'))
  tempDirs.push(dir)
  return dir
}

const hubs: TestHub[] = []
const agents: Agent[] = []
async function startHub(options: Parameters<typeof TestHub.start>[0] = {}): Promise<TestHub> {
  const hub = await TestHub.start(options)
  hubs.push(hub)
  return hub
}

interface Started {
  agent: Agent
  logs: string[]
  logText: () => string
}

/** The real agent against `hub`: config from env (as `run` loads it), real dispatcher and collector. */
function startAgent(hub: { url: string; token: string; publicKeyLine: string }, env: Record<string, string> = {}, tuning: NonNullable<ConstructorParameters<typeof Agent>[0]['tuning']> = {}): Started {
  const config = loadConfig(
    {},
    { HUB_URL: hub.url, TOKEN: hub.token, KEY: hub.publicKeyLine, DISABLE_SSH: 'true', DATA_DIR: tempDir(), ...env },
    { defaultConfigFile: join(tempDir(), 'none.yml') },
  )
  const logs: string[] = []
  const logger = createLogger('debug', { write: (line: string) => logs.push(line) })
  const agent = new Agent({
    config,
    collector: openCollector(),
    fingerprint: FINGERPRINT,
    logger,
    userAgent: 'sonar-agent/9.9.9-test',
    healthFile: false,
    env: {},
    tuning: { backoff: { baseMs: 50, capMs: 400 }, ...tuning },
  })
  agents.push(agent)
  agent.start()
  return { agent, logs, logText: () => logs.join('') }
}

async function waitFor(check: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

/** CombinedData of a GetData reply, decoded (Maps with integer keys). */
function combinedData(frame: Buffer): Map<number, unknown> {
  return decoder.decode(dataPayloadBytes(frame)) as Map<number, unknown>
}

async function expectServes(connection: HubConnection): Promise<void> {
  const reply = await connection.getData(60_000)
  expect(reply.response.error).toBeUndefined()
  expect(reply.response.fields.get(1)).toBeInstanceOf(Map)
}

afterEach(async () => {
  await Promise.all(agents.splice(0).map((agent) => agent.stop()))
  await Promise.all(hubs.splice(0).map((hub) => hub.stop()))
})
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
})

describe('agent-connect URL (spec §2.1)', () => {
  const cases: [string, string, string][] = [
    ['http://localhost:8080', 'sonar', 'ws://localhost:8080/api/sonar/agent-connect'],
    ['https://hub.example.com', 'beszel', 'wss://hub.example.com/api/beszel/agent-connect'],
    ['http://localhost:8080/custom/path', 'beszel', 'ws://localhost:8080/custom/path/api/beszel/agent-connect'],
    ['https://hub.example.com/base/', 'sonar', 'wss://hub.example.com/base/api/sonar/agent-connect'],
    ['wss://hub.example.com:8443/x', 'sonar', 'wss://hub.example.com:8443/x/api/sonar/agent-connect'],
    ['ws://10.0.0.1', 'beszel', 'ws://10.0.0.1/api/beszel/agent-connect'],
    ['https://hub.example.com//a/./b/../c?x=1', 'sonar', 'wss://hub.example.com/a/c/api/sonar/agent-connect?x=1'],
    ['http://[::1]:8090', 'sonar', 'ws://[::1]:8090/api/sonar/agent-connect'],
  ]
  for (const [hubUrl, flavor, expected] of cases) {
    it(`${hubUrl} (${flavor}) → ${expected}`, () => {
      expect(agentConnectUrl(new URL(hubUrl), flavor as 'sonar' | 'beszel').href).toBe(expected)
    })
  }

  it('wss stays wss (the Go agent downgrades it); other schemes are refused', () => {
    expect(websocketProtocol('wss:')).toBe('wss:')
    expect(() => websocketProtocol('ftp:')).toThrow(/scheme ftp/)
  })

  it('host actions: the route is read from the URL, and only ws:// beyond this machine counts as plain', () => {
    const url = (hub: string, flavor: 'sonar' | 'beszel') => agentConnectUrl(new URL(hub), flavor)
    expect(flavorOf(url('https://hub.example.com/base', 'sonar'))).toBe('sonar')
    expect(flavorOf(url('https://hub.example.com/base', 'beszel'))).toBe('beszel')
    for (const remote of ['http://10.0.0.1', 'http://hub.example.com', 'ws://[fd00::1]:8090']) expect(isPlainRemote(url(remote, 'sonar'))).toBe(true)
    for (const local of ['http://localhost:8090', 'http://127.0.0.1', 'http://127.3.4.5:1', 'http://[::1]:8090', 'https://hub.example.com', 'wss://10.0.0.1']) {
      expect(isPlainRemote(url(local, 'sonar'))).toBe(false)
    }
  })
})

describe('proxy selection', () => {
  it('wss uses HTTPS_PROXY, ws HTTP_PROXY, both fall back to ALL_PROXY; NO_PROXY exempts', () => {
    const settings = proxySettings((name) => ({ HTTPS_PROXY: 'http://p:3128', all_proxy: 'socks5://s:1080', NO_PROXY: 'localhost,.internal:443, *.corp' })[name])
    expect(proxyForUrl(new URL('wss://hub.example.com/x'), settings)).toBe('http://p:3128')
    expect(proxyForUrl(new URL('ws://hub.example.com/x'), settings)).toBe('socks5://s:1080')
    expect(proxyForUrl(new URL('wss://localhost/x'), settings)).toBeUndefined()
    expect(proxyForUrl(new URL('wss://a.b.internal/x'), settings)).toBeUndefined()
    expect(proxyForUrl(new URL('ws://a.b.internal/x'), settings)).toBe('socks5://s:1080')
    expect(proxyForUrl(new URL('wss://x.corp/'), settings)).toBeUndefined()
    expect(bypassesProxy(new URL('ws://anything'), '*')).toBe(true)
    expect(bypassesProxy(new URL('ws://[::1]:80'), '[::1]')).toBe(true)
  })
})

describe('WebSocket conversation with the test hub', () => {
  it('full conversation on the SONAR route: headers, verification, GetData with the id echoed', async () => {
    const hub = await startHub()
    const { logText } = startAgent(hub)
    const connection = await hub.nextAccepted()
    expect(connection.route).toBe('sonar')
    expect(connection.headers['x-token']).toBe(hub.token)
    // the newest dialect the agent speaks; Info.v below is the dialect of this (v0.17) hub
    expect(connection.headers['x-beszel']).toBe('0.18.8')
    expect(connection.headers['x-sonar']).toBe('0.18.8')
    expect(connection.headers['user-agent']).toBe('sonar-agent/9.9.9-test')
    expect(connection.headers['sec-websocket-extensions']).toBeUndefined()
    expect(hub.fingerprint).toBe(FINGERPRINT)

    const reply = await connection.getData(60_000)
    expect(reply.response.id).toBe(2)
    const data = combinedData(reply.frame)
    const info = data.get(1) as Map<number, unknown>
    expect(info.get(10)).toBe('0.17.0')
    expect(info.get(20)).toBe(2) // Info.ct: WebSocket
    expect(data.get(0)).toBeInstanceOf(Map)
    // never the token in the logs
    expect(logText()).not.toContain(hub.token)
    expect(logText()).toMatch(/websocket: connected/)
    expect(logText()).toMatch(/websocket: hub verified/)
  })

  it('a Beszel hub (no SONAR route): 404 → falls back to /api/beszel and remembers it', async () => {
    const hub = await startHub({ routes: ['beszel'] })
    startAgent(hub)
    const first = await hub.nextAccepted()
    expect(first.route).toBe('beszel')
    expect(hub.admissions.slice(0, 2).map((a) => [a.path, a.status])).toEqual([
      [HUB_ROUTES.sonar, 404],
      [HUB_ROUTES.beszel, 101],
    ])
    await expectServes(first)
    first.close(1000, 'bye')
    const second = await hub.nextAccepted()
    expect(second.route).toBe('beszel')
    // the redial went straight to the route that worked
    expect(hub.admissions.slice(2).map((a) => a.path)).toEqual([HUB_ROUTES.beszel])
  })

  it('HUB_FLAVOR=beszel pins the Beszel route; HUB_FLAVOR=sonar never falls back', async () => {
    const hub = await startHub()
    startAgent(hub, { HUB_FLAVOR: 'beszel' })
    expect((await hub.nextAccepted()).route).toBe('beszel')
    expect(hub.admissions.map((a) => a.path)).toEqual([HUB_ROUTES.beszel])

    const beszelOnly = await startHub({ routes: ['beszel'] })
    startAgent(beszelOnly, { HUB_FLAVOR: 'sonar' })
    await waitFor(() => beszelOnly.admissions.length >= 3, 10_000, 'three admissions')
    expect(new Set(beszelOnly.admissions.map((a) => `${a.path} ${a.status}`))).toEqual(new Set([`${HUB_ROUTES.sonar} 404`]))
  })

  it('401: retries with growing delays, never crashes, connects once the hub knows the token', async () => {
    const hub = await startHub()
    const agentToken = hub.token
    hub.token = 'another-token'
    const { logText } = startAgent({ url: hub.url, token: agentToken, publicKeyLine: hub.publicKeyLine }, {}, { backoff: { baseMs: 40, capMs: 2_000 } })
    await waitFor(() => hub.admissions.filter((a) => a.status === 401).length >= 4, 15_000, 'four 401s')
    const times = hub.admissions.length
    expect(times).toBeGreaterThanOrEqual(4)
    expect(logText()).toMatch(/connect failed.*HTTP 401: Invalid token/)
    expect(logText()).toMatch(/hint="check TOKEN/)
    expect(logText()).not.toContain(agentToken)
    hub.token = agentToken
    const connection = await hub.nextAccepted(15_000)
    await expectServes(connection)
  })

  it('400 for an unusable header and 401 for a bad version are the hub rules (§2.4)', async () => {
    const hub = await startHub()
    const ask = (headers: Record<string, string>) =>
      new Promise<string>((resolve, reject) => {
        const socket = netConnect(hub.port, '127.0.0.1', () => {
          const lines = [`GET ${HUB_ROUTES.sonar} HTTP/1.1`, 'Host: x', 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==']
          for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`)
          socket.write(`${lines.join('\r\n')}\r\n\r\n`)
        })
        let text = ''
        socket.on('data', (chunk) => (text += chunk.toString()))
        socket.on('end', () => resolve(text))
        socket.on('error', reject)
      })
    expect(await ask({ 'X-Beszel': '0.17.0' })).toMatch(/^HTTP\/1.1 400/)
    expect(await ask({ 'X-Beszel': '0.17.0', 'X-Token': 'x'.repeat(65) })).toMatch(/^HTTP\/1.1 400/)
    expect(await ask({ 'X-Beszel': '0.17.0', 'X-Token': 'nope' })).toMatch(/^HTTP\/1.1 401[^]*Invalid token$/)
    expect(await ask({ 'X-Beszel': 'v0.17.0', 'X-Token': hub.token })).toMatch(/^HTTP\/1.1 401[^]*Invalid agent version$/)
  })

  it('a bad signature: no fingerprint, an error naming KEY, the agent closes and retries later', async () => {
    const other = generateKeyPairSync('ed25519').privateKey
    const hub = await startHub({ signature: (token) => sign(null, Buffer.from(token), other) })
    const { logText } = startAgent(hub)
    const first = await hub.connection(0)
    const verdict = await first.verdict
    expect(verdict.accepted).toBe(false)
    const answer = first.received[0]
    expect(answer).toBeDefined()
    const response = decoder.decode(answer as Buffer) as Map<number, unknown>
    expect(response.get(0)).toBe(1)
    expect(response.has(2)).toBe(false) // no fingerprint for an unproven hub
    expect(String(response.get(3))).toMatch(/KEY/)
    const closed = await first.closed
    expect(closed.code).toBe(1000)
    expect(hub.fingerprint).toBeUndefined()
    // and it tries again
    await hub.connection(1)
    expect(logText()).toMatch(/KEY/)
  })

  it('requests before verification get error answers; every new connection starts unverified', async () => {
    const hub = await startHub({ challenge: false })
    startAgent(hub)
    const connection = await hub.connection(0)
    const early = await connection.getData(60_000)
    expect(early.response.id).toBe(1)
    expect(early.response.error).toMatch(/not verified/)
    expect(early.response.fields.has(1)).toBe(false)
    await connection.runChallenge()
    expect((await connection.verdict).accepted).toBe(true)
    await expectServes(connection)

    // hub restart: the new connection must prove itself again
    await hub.restart()
    const next = await hub.connection(1)
    const again = await next.getData(60_000)
    expect(again.response.error).toMatch(/not verified/)
    await next.runChallenge()
    await expectServes(next)
  })

  it('echoes any uint32 id, in any order, for concurrent requests', async () => {
    const hub = await startHub()
    startAgent(hub)
    const connection = await hub.nextAccepted()
    const ids = [4_294_967_295, 0, 23, 24, 255, 256, 65_535, 65_536, 7]
    const replies = await Promise.all(ids.map((id) => connection.request(Actions.GetData, new Map([[0, 60_000]]), { id })))
    expect(replies.map((r) => r.response.id)).toEqual(ids)
    const smart = await connection.request(Actions.GetSmartData, undefined, { id: 99 })
    // no smartctl on this VM: answered at once, with the (empty, so omitted) SMART map
    expect(smart.response.id).toBe(99)
    expect(smart.response.error).toBeUndefined()
  })

  it('cache: 60000 and 1000 requests are served identical bytes within half the cache time, fresh after', async () => {
    const hub = await startHub()
    startAgent(hub)
    const connection = await hub.nextAccepted()
    const slowA = dataPayloadBytes((await connection.getData(60_000)).frame)
    const fastA = dataPayloadBytes((await connection.getData(1_000)).frame)
    const fastB = dataPayloadBytes((await connection.getData(1_000)).frame)
    expect(fastB.equals(fastA)).toBe(true)
    await sleep(1_100)
    const fastC = dataPayloadBytes((await connection.getData(1_000)).frame)
    const slowB = dataPayloadBytes((await connection.getData(60_000)).frame)
    expect(fastC.equals(fastA)).toBe(false)
    expect(slowB.equals(slowA)).toBe(true)
  })

  it('a slow handler does not delay GetData (requests are handled concurrently)', async () => {
    const hub = await startHub()
    const real = new Dispatcher({
      collector: openCollector(),
      keys: () => [],
      token: () => hub.token,
      fingerprint: () => FINGERPRINT,
      hostname: () => 'h',
      listenPort: () => '45876',
      systemName: () => undefined,
      logger: silentLogger,
      // any signature verifies: this test is about concurrency
      verify: () => ({ type: 'ssh-ed25519', publicKey: Buffer.alloc(32), blob: Buffer.alloc(0), comment: '' }),
    })
    // SMART takes 2 s here.
    const slow = {
      handle: async (frame: Uint8Array, session: { transport: 'websocket' | 'ssh'; verified: boolean }) => {
        if (decodeRequest(frame).action === Actions.GetSmartData) await sleep(2_000)
        return real.handle(frame, session)
      },
    }
    const client = new WebSocketClient({
      hubUrl: new URL(hub.url),
      token: hub.token,
      protocolVersion: '0.17.0',
      userAgent: 'test',
      dispatcher: slow,
      logger: silentLogger,
    })
    hub.challenge = false
    client.start()
    try {
      const connection = await hub.connection(0)
      await connection.runChallenge()
      expect((await connection.verdict).accepted).toBe(true)
      const smart = connection.request(Actions.GetSmartData)
      const started = Date.now()
      await connection.getData(60_000)
      expect(Date.now() - started).toBeLessThan(1_000)
      await smart
    } finally {
      await client.stop()
    }
  })
})

describe('hub nonce on the SONAR route (docs/extensions.md)', () => {
  const verifiedLines = (text: string, proof: string) => text.match(new RegExp(`dispatch: hub verified .*hubProof=${proof}`, 'g')) ?? []

  it('the nonce form verifies: a fresh X-Sonar-Nonce per dial, signed by the hub, logged once per connection', async () => {
    const hub = await startHub()
    const { logText } = startAgent(hub)
    const first = await hub.nextAccepted()
    expect(first.route).toBe('sonar')
    const header = first.headers['x-sonar-nonce']
    expect(header).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(first.nonce?.toString('base64url')).toBe(header)
    await expectServes(first)
    expect(verifiedLines(logText(), 'nonce')).toHaveLength(1)

    first.close(1000, 'again')
    const second = await hub.nextAccepted()
    expect(second.headers['x-sonar-nonce']).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(second.headers['x-sonar-nonce']).not.toBe(header)
    await expectServes(second)
    expect(verifiedLines(logText(), 'nonce')).toHaveLength(2)
    expect(verifiedLines(logText(), 'token-only')).toHaveLength(0)
  })

  it('a replayed CheckFingerprint (a signature over an earlier nonce) is refused', async () => {
    const key = generateKeyPairSync('ed25519').privateKey
    let recorded: Uint8Array | undefined
    // genuine on the first connection; from then on the recording is played back
    const hub = await startHub({ signingKey: key, signature: (token, nonce) => (recorded ??= signHubChallenge(key, token, nonce)) })
    const { logText } = startAgent(hub)
    const first = await hub.nextAccepted()
    expect(verifiedLines(logText(), 'nonce')).toHaveLength(1)
    first.close(1000, 'replay')

    const second = await hub.connection(1)
    expect(await second.verdict).toEqual({ accepted: false, reason: INVALID_SIGNATURE })
    expect(second.signature).toEqual(recorded)
    expect(second.nonce?.equals(first.nonce ?? Buffer.alloc(0))).toBe(false)
    const answer = decoder.decode(second.received[0] as Buffer) as Map<number, unknown>
    expect(answer.has(2)).toBe(false) // no fingerprint for a replayed proof
    expect(await second.closed).toEqual({ code: 1000, reason: INVALID_SIGNATURE })
    expect(verifiedLines(logText(), '.*')).toHaveLength(1)
  })

  it('a stock hub that signs the token only still works (and the log says the nonce went unsigned)', async () => {
    const hub = await startHub({ nonce: false })
    const { logText } = startAgent(hub)
    const connection = await hub.nextAccepted()
    expect(connection.route).toBe('sonar')
    expect(connection.headers['x-sonar-nonce']).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(connection.nonce).toBeUndefined()
    await expectServes(connection)
    expect(verifiedLines(logText(), 'token-only')).toHaveLength(1)
    expect(logText()).toMatch(/hubProof=token-only hint="the hub ignored X-Sonar-Nonce/)
  })

  it('REQUIRE_HUB_NONCE=true refuses a token-only hub with a clear error, and accepts the nonce form', async () => {
    const stock = await startHub({ nonce: false })
    const refused = startAgent(stock, { REQUIRE_HUB_NONCE: 'true' })
    const first = await stock.connection(0)
    expect(await first.verdict).toEqual({ accepted: false, reason: NONCE_REQUIRED })
    const answer = decoder.decode(first.received[0] as Buffer) as Map<number, unknown>
    expect(answer.get(3)).toBe(NONCE_REQUIRED)
    expect(answer.has(2)).toBe(false)
    expect(await first.closed).toEqual({ code: 1000, reason: NONCE_REQUIRED })
    expect(stock.fingerprint).toBeUndefined()
    expect(refused.logText()).toMatch(/hub refused: its signature covers the token only.*REQUIRE_HUB_NONCE=true.*nonce="sent, not signed/)
    expect(refused.logText()).not.toMatch(/hub verified/)

    const aware = await startHub()
    const accepted = startAgent(aware, { REQUIRE_HUB_NONCE: 'true' })
    await expectServes(await aware.nextAccepted())
    expect(verifiedLines(accepted.logText(), 'nonce')).toHaveLength(1)
  })

  it('REQUIRE_HUB_NONCE=true with HUB_FLAVOR=beszel: warned at start, every hub refused (no nonce there)', async () => {
    const hub = await startHub()
    const { logText } = startAgent(hub, { REQUIRE_HUB_NONCE: 'true', HUB_FLAVOR: 'beszel' })
    const first = await hub.connection(0)
    expect(await first.verdict).toEqual({ accepted: false, reason: NONCE_REQUIRED })
    expect(logText()).toMatch(/REQUIRE_HUB_NONCE=true with HUB_FLAVOR=beszel/)
    expect(logText()).toMatch(/nonce="none on this route/)
  })

  it('the Beszel route sends no nonce: its upgrade is the SONAR one without X-Sonar-Nonce', async () => {
    const hub = await startHub({ routes: ['beszel'] })
    const { logText } = startAgent(hub)
    const connection = await hub.nextAccepted()
    expect(connection.route).toBe('beszel')
    const [sonar, beszel] = hub.admissions
    expect([sonar?.path, sonar?.status, beszel?.path, beszel?.status]).toEqual([HUB_ROUTES.sonar, 404, HUB_ROUTES.beszel, 101])
    expect(sonar?.headers['x-sonar-nonce']).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(beszel?.headers['x-sonar-nonce']).toBeUndefined()
    const names = (headers: object | undefined) => Object.keys(headers ?? {}).sort()
    expect(names(beszel?.headers)).toEqual(names(sonar?.headers).filter((name) => name !== 'x-sonar-nonce'))
    expect(['x-token', 'x-beszel', 'x-sonar', 'user-agent'].map((name) => beszel?.headers[name])).toEqual([hub.token, '0.18.8', '0.18.8', 'sonar-agent/9.9.9-test'])
    await expectServes(connection)
    // token-only, and no hint: this route offered nothing to sign
    expect(logText()).toMatch(/hubProof=token-only\n/)

    const pinned = await startHub()
    startAgent(pinned, { HUB_FLAVOR: 'beszel' })
    await pinned.nextAccepted()
    expect(pinned.admissions.map((a) => a.headers['x-sonar-nonce'])).toEqual([undefined])
  })
})

describe('malformed input never crashes or wedges the agent', () => {
  async function accepted(): Promise<{ hub: TestHub; connection: HubConnection; logText: () => string }> {
    const hub = await startHub()
    const { logText } = startAgent(hub)
    return { hub, connection: await hub.nextAccepted(), logText }
  }

  it('non-CBOR, truncated maps, trailing bytes, wrong types, text frames, empty frames', async () => {
    const { connection, logText } = await accepted()
    const frames: (Buffer | string)[] = [
      Buffer.from('not cbor at all'),
      Buffer.from([0xff]),
      Buffer.from([0xa3, 0x00, 0x00, 0x01]), // truncated map
      Buffer.from([0xa1, 0x00]), // map missing its value
      Buffer.concat([encodeRequest({ action: 0, data: new Map([[0, 1000]]), id: 50 }), Buffer.from([0x00])]), // trailing byte
      Buffer.from([0x83, 0x01, 0x02, 0x03]), // an array, not a map
      Buffer.alloc(0),
      'a text frame',
      '{"action":0}',
    ]
    for (const frame of frames) await connection.send(frame)
    // wrong types with a readable id get an error answer with that id
    await connection.send(Buffer.from([0xa2, 0x00, 0x61, 0x78, 0x02, 0x18, 0x46])) // {0: "x", 2: 70}
    await waitFor(() => connection.unmatched.some((r) => r.response.id === 70), 5_000, 'the answer to id 70')
    expect(connection.unmatched.find((r) => r.response.id === 70)?.response.error).toBeDefined()
    const noData = await connection.request(Actions.GetData, undefined, { id: 60 })
    expect(noData.response.error).toBeDefined()
    const wrongData = await connection.request(Actions.GetData, new Map([[0, 'soon']]), { id: 61 })
    expect(wrongData.response.error).toBeDefined()
    const negative = await connection.request(Actions.GetData, new Map([[0, -5]]), { id: 62 })
    expect(negative.response.error).toBeDefined()
    const unknown = await connection.request(200, new Map([[0, 1]]), { id: 63 })
    expect(unknown.response.error).toMatch(/unknown action/)
    // no reply to a frame without an id ever lacks key 0 (a v0.17 hub would crash on one)
    for (const reply of connection.unmatched) expect(reply.response.id).toBeDefined()
    expect(connection.open).toBe(true)
    await expectServes(connection)
    expect(logText()).toMatch(/ignoring a text frame/)
  })

  it('indefinite-string-with-id: an indefinite-length string inside a request with an id is answered under that id; a float id is not an id', async () => {
    const { connection } = await accepted()
    // GetData {0: (_ "a", "b")} with id 73: well-formed CBOR that cbor-x refuses to decode
    await connection.send(Buffer.from('a3 0000 01 a1 00 7f 6161 6162 ff 0218 49'.replace(/\s+/g, ''), 'hex'))
    await waitFor(() => connection.unmatched.some((r) => r.response.id === 73), 5_000, 'the answer to id 73')
    expect(connection.unmatched.find((r) => r.response.id === 73)?.response.error).toMatch(/^invalid request: malformed CBOR: /)
    // id 1000.0 (a half float): refused like any unreadable id, so no answer at all
    const before = connection.received.length
    await connection.send(Buffer.from('a3 0000 01 a1 00 19ea60 02 f963d0'.replace(/\s+/g, ''), 'hex'))
    await expectServes(connection)
    await sleep(100)
    expect(connection.received.length).toBe(before + 1) // only the GetData answer
    for (const reply of connection.unmatched) expect(reply.response.id).toBeDefined()
    expect(connection.open).toBe(true)
  })

  it('a frame over 16 MiB closes that connection (1009); the agent redials, re-verifies and serves', async () => {
    const { hub, connection } = await accepted()
    await connection.send(Buffer.alloc(16 * 1024 * 1024 + 1, 0xa0)).catch(() => undefined)
    const closed = await connection.closed
    expect([1009, 1006]).toContain(closed.code)
    const next = await hub.nextAccepted()
    await expectServes(next)
  })

  it('a flood of 1000 requests: every one answered (data or busy), and GetData still works', async () => {
    const { connection } = await accepted()
    const requests = Array.from({ length: 1000 }, (_, i) => connection.request(Actions.GetData, new Map([[0, i % 2 ? 1_000 : 60_000]]), { id: 1000 + i, timeoutMs: 20_000 }))
    const replies = await Promise.all(requests)
    const kinds = { data: 0, busy: 0 }
    for (const reply of replies) {
      if (reply.response.fields.has(1)) kinds.data += 1
      else if (/busy/.test(reply.response.error ?? '')) kinds.busy += 1
    }
    expect(kinds.data + kinds.busy).toBe(1000)
    expect(kinds.data).toBeGreaterThanOrEqual(64)
    expect(connection.open).toBe(true)
    await expectServes(connection)
  })
})

describe('reconnection', () => {
  it('hub restart → reconnect and re-verify', async () => {
    const hub = await startHub()
    const { logText } = startAgent(hub)
    await expectServes(await hub.nextAccepted())
    await hub.restart()
    const next = await hub.nextAccepted()
    expect((await next.verdict).accepted).toBe(true)
    await expectServes(next)
    expect(logText()).toMatch(/disconnected.*code=1006/)
  })

  it('a hub that closes right after the upgrade is retried (no dead end before verification)', async () => {
    const hub = await startHub({ challenge: false })
    startAgent(hub)
    for (let i = 0; i < 3; i++) (await hub.connection(i)).close(1000, 'go away')
    hub.challenge = true
    await expectServes(await hub.nextAccepted())
  })

  it('half-open socket: the watchdog drops it and redials', async () => {
    const hub = await startHub()
    const { logText } = startAgent(hub, {}, { watchdogMs: 600 })
    const connection = await hub.nextAccepted()
    await expectServes(connection)
    connection.silence()
    const next = await hub.nextAccepted(10_000)
    await expectServes(next)
    expect(logText()).toMatch(/no message from the hub for 1 s/)
  })

  it('ws-unverified-keepalive: a hub that never verifies is dropped at the verify deadline, though its requests keep coming', async () => {
    const hub = await startHub({ challenge: false })
    const { logText } = startAgent(hub, {}, { verifyTimeoutMs: 1_000 })
    const connection = await hub.connection(0)
    const upgraded = Date.now()
    // Each request resets the watchdog; before the fix they kept an unverified connection forever.
    const replies: Promise<string | undefined>[] = []
    const ask = () => replies.push(connection.request(Actions.GetData, new Map([[0, 60_000]])).then((r) => r.response.error, () => undefined))
    const pinger = setInterval(ask, 200)
    let closed: { code: number; reason: string }
    try {
      closed = await connection.closed
    } finally {
      clearInterval(pinger)
    }
    const ms = Date.now() - upgraded
    console.log(`ws-unverified-keepalive: the unverified connection was closed ${ms} ms after the upgrade`)
    expect(closed).toEqual({ code: 1008, reason: 'hub not verified in time' })
    expect(ms).toBeGreaterThanOrEqual(900)
    expect(ms).toBeLessThan(5_000)
    expect(logText()).toMatch(/WARN .*hub did not verify within 1 s of the upgrade \(no valid CheckFingerprint\); closing the connection/)
    expect((await Promise.all(replies)).filter((error) => error !== undefined).every((error) => /not verified/.test(error ?? ''))).toBe(true)
    expect(replies.length).toBeGreaterThanOrEqual(3)

    // a hub that verifies keeps its connection past the deadline
    hub.challenge = true
    const verified = await hub.nextAccepted()
    await sleep(1_500)
    expect(verified.open).toBe(true)
    await expectServes(verified)
  })

  it('connection refused, then the hub comes up: connects', async () => {
    const hub = await startHub()
    const port = hub.port
    await hub.stop()
    const { logText } = startAgent(hub)
    await waitFor(() => (logText().match(/ECONNREFUSED/g) ?? []).length >= 2, 10_000, 'two refused dials')
    const revived = await startHub({ port, token: hub.token, signingKey: hub.signingKey })
    await expectServes(await revived.nextAccepted())
  })

  it('DNS failure is retried', async () => {
    const { logText } = startAgent({ url: 'http://sonar-hub.invalid', token: 't', publicKeyLine: (await startHub()).publicKeyLine })
    await waitFor(() => (logText().match(/ENOTFOUND|EAI_AGAIN/g) ?? []).length >= 2, 15_000, 'two DNS failures')
    expect(logText()).toMatch(/retry in/)
  })
})

/** A self-signed certificate for localhost/127.0.0.1 (node:crypto cannot write X.509; openssl can). */
let certDir: string
let tls: { key: string; cert: string }
beforeAll(() => {
  certDir = tempDir()
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ed25519', '-nodes', '-days', '2',
    '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem'),
  ], { stdio: 'ignore' })
  tls = { key: readFileSync(join(certDir, 'key.pem'), 'utf8'), cert: readFileSync(join(certDir, 'cert.pem'), 'utf8') }
})

describe('TLS', () => {

  it('verifies certificates by default: a self-signed hub is refused (and retried) with a hint', async () => {
    const hub = await startHub({ tls })
    expect(hub.url).toMatch(/^https:/)
    const { logText } = startAgent(hub)
    await waitFor(() => (logText().match(/connect failed/g) ?? []).length >= 2, 10_000, 'two TLS failures')
    expect(logText()).toMatch(/self-signed|SELF_SIGNED/i)
    expect(logText()).toMatch(/CA_CERT_FILE/)
    expect(hub.admissions).toEqual([]) // the token never left the agent
  })

  it('CA_CERT_FILE adds the private CA', async () => {
    const hub = await startHub({ tls })
    startAgent(hub, { CA_CERT_FILE: join(certDir, 'cert.pem') })
    await expectServes(await hub.nextAccepted())
  })

  it('TLS_INSECURE_SKIP_VERIFY=true connects, with a loud warning', async () => {
    const hub = await startHub({ tls })
    const { logText } = startAgent(hub, { TLS_INSECURE_SKIP_VERIFY: 'true' })
    await expectServes(await hub.nextAccepted())
    expect(logText()).toMatch(/WARN .*TLS_INSECURE_SKIP_VERIFY=true/)
  })
})

describe('proxy', () => {
  let proxy: ConnectProxy
  let tunnels: string[] = []
  beforeAll(async () => {
    proxy = await startConnectProxy()
    tunnels = proxy.tunnels
  })
  afterAll(() => proxy.close())

  it('HTTP_PROXY tunnels ws:// through CONNECT; NO_PROXY bypasses it', async () => {
    const proxyUrl = `http://127.0.0.1:${proxy.port}`
    const hub = await startHub()
    startAgent(hub, { HTTP_PROXY: proxyUrl })
    await expectServes(await hub.nextAccepted())
    expect(tunnels).toContain(`127.0.0.1:${hub.port}`)

    const direct = await startHub()
    const before = tunnels.length
    startAgent(direct, { HTTP_PROXY: proxyUrl, NO_PROXY: '127.0.0.1' })
    await expectServes(await direct.nextAccepted())
    expect(tunnels.length).toBe(before)
  })

  it('HTTPS_PROXY tunnels wss:// and the hub certificate is still verified end to end', async () => {
    const proxyUrl = `http://127.0.0.1:${proxy.port}`
    const refused = await startHub({ tls })
    const { logText } = startAgent(refused, { HTTPS_PROXY: proxyUrl })
    await waitFor(() => /connect failed/.test(logText()), 10_000, 'a TLS failure through the proxy')
    expect(tunnels).toContain(`127.0.0.1:${refused.port}`)
    expect(refused.admissions).toEqual([])

    const hub = await startHub({ tls })
    startAgent(hub, { HTTPS_PROXY: proxyUrl, CA_CERT_FILE: join(certDir, 'cert.pem') })
    await expectServes(await hub.nextAccepted())
    expect(tunnels).toContain(`127.0.0.1:${hub.port}`)
  })
})
