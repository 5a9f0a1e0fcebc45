/**
 * The dev hub's host actions, hub side: the real dev hub signs each request with its own key over
 * wire.ts's `signedMessage`, sends `{0: action, 1: envelope, 2: id}` on the agent's real WebSocket
 * and gives the page the answer (key 7 named, bytes as base64 and text; key 3 as a refusal). The
 * agent is a hand-driven one (helpers/fake-sonar-agent.ts) because the real agent's gate is being
 * written; the signature is checked here with node:crypto against the hub's public key (its KEY
 * line), and the params with the agent's own decoders. Also: who may call the endpoint.
 */
import { createPublicKey, generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { openCollector } from '../ts/collector.js'
import { decodeEnvelope, decodeParams, signedMessage, type ExtensionAction } from '../ts/extensions/wire.js'
import { actionParams, signAction } from '../ts/hub/actions/request.js'
import { startDevHub, type DevHub } from '../ts/hub/hub.js'
import { HubStore } from '../ts/hub/store.js'
import { foreignOrigin, MAX_ACTION_BODY_BYTES } from '../ts/hub/web/actions-endpoint.js'
import { isLoopbackAddress } from '../ts/transport/loopback.js'
import type { ActionAnswerJson, ActionRequestJson, SystemView } from '../ts/hub/web/api-types.js'
import { createWebHandler } from '../ts/hub/web/server.js'
import { decodeRequest } from '../ts/protocol/envelope.js'
import { BLOB, knownAnswer, LOG_TEXT, REFUSE_COMMAND, sha256, STDOUT } from './helpers/action-results.js'
import { FakeSonarAgent, type ActionReply } from './helpers/fake-sonar-agent.js'
import { until } from './helpers/until.js'

const collector = openCollector({ SKIP_GPU: 'true', SMART_DEVICES: '', SKIP_SYSTEMD: 'true' })
const dirs: string[] = []
const hubs: DevHub[] = []
const agents: FakeSonarAgent[] = []

afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close()))
  await Promise.all(hubs.splice(0).map((h) => h.close()))
})
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})


async function startHub(options: { host?: string; actionTimeoutMs?: number } = {}): Promise<DevHub> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sonar-hub-actions-'))
  dirs.push(dataDir)
  const store = new HubStore()
  const hub = await startDevHub({ dataDir, port: 0, store, web: createWebHandler(store), ...options })
  hubs.push(hub)
  return hub
}

async function connect(hub: DevHub, route: 'sonar' | 'beszel', answer: (request: Parameters<typeof knownAnswer>[0]) => ActionReply = knownAnswer): Promise<{ agent: FakeSonarAgent; id: string }> {
  const fingerprint = randomBytes(24).toString('hex')
  const agent = new FakeSonarAgent({ hub, route, fingerprint, collector, answer })
  agents.push(agent)
  await until('the agent to be verified', () => hub.sessions().some((s) => s.id === fingerprint))
  return { agent, id: fingerprint }
}

interface Reply {
  status: number
  body: string
}

function post(url: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }, method = 'POST', localAddress?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, ...(localAddress ? { localAddress } : {}) }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

function actionsUrl(hub: DevHub, id: string): string {
  return new URL(`/api/systems/${encodeURIComponent(id)}/actions`, hub.url).href
}

async function ask(hub: DevHub, id: string, request: ActionRequestJson): Promise<ActionAnswerJson> {
  const reply = await post(actionsUrl(hub, id), JSON.stringify(request))
  expect(reply.status, reply.body).toBe(200)
  return JSON.parse(reply.body) as ActionAnswerJson
}

/**
 * The hub's KEY line (what the agent is given) → a node:crypto public key, read by hand: the SSH
 * blob is string "ssh-ed25519", then string key (32 bytes), each with a 4-byte length.
 */
function hubPublicKey(hub: DevHub): KeyObject {
  const [type, base64] = hub.key.split(' ')
  expect(type).toBe('ssh-ed25519')
  const blob = Buffer.from(base64 ?? '', 'base64')
  const typeLength = blob.readUInt32BE(0)
  expect(blob.subarray(4, 4 + typeLength).toString()).toBe('ssh-ed25519')
  const keyLength = blob.readUInt32BE(4 + typeLength)
  expect(keyLength).toBe(32)
  const raw = blob.subarray(8 + typeLength, 8 + typeLength + keyLength)
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' })
}

// The page's requests, and the params the agent's decoder must read from what the hub signed.
const CASES: [ActionRequestJson, ExtensionAction, unknown][] = [
  [{ action: 'ListServices' }, 7, {}],
  [{ action: 'GetServiceStatus', unit: 'nginx.service' }, 8, { unit: 'nginx.service' }],
  [{ action: 'PerformServiceAction', unit: 'nginx.service', serviceAction: 'restart' }, 9, { unit: 'nginx.service', action: 'restart' }],
  [{ action: 'ListFiles', root: 'logs' }, 10, { root: 'logs', path: '' }],
  [{ action: 'ListFiles', root: 'logs', path: 'archive' }, 10, { root: 'logs', path: 'archive' }],
  [{ action: 'ReadFile', root: 'logs', path: 'app.log', offset: 5, length: 4_294_967_296 }, 11, { root: 'logs', path: 'app.log', offset: 5, length: 4_294_967_296 }],
  [{ action: 'ExecuteCommand', id: 'backup', args: { target: 'db', 'dry-run': '' } }, 6, { id: 'backup', args: new Map([['target', 'db'], ['dry-run', '']]) }],
  [{ action: 'ExecuteCommand', id: 'uptime' }, 6, { id: 'uptime', args: new Map() }],
]

describe('the dev hub signs host actions with its key', () => {
  it('every page action: {0: action, 1: envelope, 2: id}; node:crypto verifies the signature over signedMessage with the hub key; the agent decodes the params', async () => {
    const hub = await startHub()
    const { agent, id } = await connect(hub, 'sonar')
    const publicKey = hubPublicKey(hub)
    const nonces = new Set<string>()
    const ids = new Set<number>()
    for (const [page, action, expected] of CASES) {
      const before = Date.now()
      const answer = await ask(hub, id, page)
      const after = Date.now()
      const frame = agent.actionFrames.at(-1)
      if (!frame) throw new Error('the agent got no action frame')
      const request = decodeRequest(frame)
      expect(request.action).toBe(action)
      expect(request.id).toBeTypeOf('number')
      ids.add(request.id ?? -1)

      const envelope = decodeEnvelope(request.data)
      if (!envelope.ok) throw new Error(envelope.message)
      const { params, nonce, timestampMs, signature } = envelope.envelope
      expect(nonce).toHaveLength(16)
      expect(timestampMs).toBeGreaterThanOrEqual(before)
      expect(timestampMs).toBeLessThanOrEqual(after)
      // the timestamp travels as an unsigned integer (0x1b: 8-byte uint), not as a float
      const stamp = Buffer.alloc(9)
      stamp[0] = 0x1b
      stamp.writeBigUInt64BE(BigInt(timestampMs), 1)
      expect(frame.includes(Buffer.concat([Buffer.from([0x02]), stamp]))).toBe(true)

      const message = signedMessage({ action, nonce, timestampMs, fingerprint: id, params })
      expect(verify(null, message, publicKey, signature), JSON.stringify(page)).toBe(true)
      // the same signature is worthless for another agent, another action or other params
      expect(verify(null, signedMessage({ action, nonce, timestampMs, fingerprint: `${id}x`, params }), publicKey, signature)).toBe(false)
      expect(verify(null, signedMessage({ action: action === 7 ? 8 : 7, nonce, timestampMs, fingerprint: id, params }), publicKey, signature)).toBe(false)
      expect(verify(null, signedMessage({ action, nonce, timestampMs, fingerprint: id, params: Buffer.concat([params, Buffer.from([0])]) }), publicKey, signature)).toBe(false)
      const foreign = generateKeyPairSync('ed25519').publicKey
      expect(verify(null, message, foreign, signature)).toBe(false)

      const decoded = decodeParams(action, params)
      if (!decoded.ok) throw new Error(decoded.message)
      expect(decoded.params).toEqual(expected)

      expect(answer.signed).toEqual({ action, nonce: Buffer.from(nonce).toString('hex'), timestampMs })
      nonces.add(answer.signed.nonce)
    }
    // a fresh nonce and a new request id every time
    expect(nonces.size).toBe(CASES.length)
    expect(ids.size).toBe(CASES.length)
  })

  it('signAction: the envelope is exactly {0: params, 1: nonce, 2: timestamp, 3: signature} over signedMessage (fixed nonce and clock)', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519')
    const nonce = Buffer.alloc(16, 7)
    const request = actionParams({ action: 'ReadFile', root: 'logs', path: 'a' })
    // {0: "logs", 1: "a"}
    expect(request.params.toString('hex')).toBe('a200646c6f67730161' + '61')
    const signed = signAction(privateKey, 'fp', request, { nonce, now: 1_700_000_000_000 })
    expect(verify(null, signedMessage({ action: 11, nonce, timestampMs: 1_700_000_000_000, fingerprint: 'fp', params: request.params }), publicKey, signed.signature)).toBe(true)
    const hex = Buffer.from(signed.envelope.bytes).toString('hex')
    expect(hex).toBe(['a4', '00', '4a', request.params.toString('hex'), '01', '50', nonce.toString('hex'), '02', '1b0000018bcfe56800', '03', '5840', signed.signature.toString('hex')].join(''))
  })
})

describe('the hub gives the page the agent answer', () => {
  it('results under key 7 are named; bytes come as base64 plus text where they are UTF-8; a refusal (key 3) is quoted', async () => {
    const hub = await startHub()
    const { id } = await connect(hub, 'sonar')
    const read = await ask(hub, id, { action: 'ReadFile', root: 'logs', path: 'app.log' })
    expect(read).toMatchObject({
      outcome: 'done',
      result: { action: 'ReadFile', data: { base64: Buffer.from(LOG_TEXT).toString('base64'), text: LOG_TEXT, length: Buffer.byteLength(LOG_TEXT) }, size: Buffer.byteLength(LOG_TEXT), eof: true, sha256: sha256(Buffer.from(LOG_TEXT)).toString('hex') },
    })
    const binary = await ask(hub, id, { action: 'ReadFile', root: 'logs', path: 'blob.bin' })
    if (binary.outcome !== 'done' || binary.result.action !== 'ReadFile') throw new Error(JSON.stringify(binary))
    expect(binary.result.data).toEqual({ base64: BLOB.toString('base64'), length: BLOB.length })

    const command = await ask(hub, id, { action: 'ExecuteCommand', id: 'backup' })
    expect(command).toMatchObject({ outcome: 'done', result: { action: 'ExecuteCommand', exitStatus: 0, signal: '', stdout: { text: STDOUT }, truncated: false, timedOut: false, durationMs: 123 } })
    if (command.outcome === 'done' && command.result.action === 'ExecuteCommand') expect(command.result.stderr.text).toBeUndefined()

    const services = await ask(hub, id, { action: 'ListServices' })
    expect(services).toMatchObject({ outcome: 'done', result: { action: 'ListServices', units: [{ unit: 'nginx.service', manageable: true }, { unit: 'backup.service', activeState: 'failed', manageable: false }] } })
    const listing = await ask(hub, id, { action: 'ListFiles', root: 'logs' })
    expect(listing).toMatchObject({ outcome: 'done', result: { action: 'ListFiles', truncated: false, entries: [{ name: 'app.log', kind: 'file', mode: 0o640 }, {}, { name: 'archive', kind: 'directory' }, { name: 'current', kind: 'symlink' }] } })

    const refused = await ask(hub, id, { action: 'ExecuteCommand', id: 'reboot' })
    expect(refused).toMatchObject({ outcome: 'refused', message: REFUSE_COMMAND })
  })

  it('an answer that is not the documented map is a 502 naming the key; a silent agent a 504', async () => {
    const hub = await startHub({ actionTimeoutMs: 500 })
    const { id } = await connect(hub, 'sonar', (request) =>
      request.action === 7 ? { result: new Map<number, unknown>([[0, [new Map<number, unknown>([[0, 'x.service']])]]]) } : 'silent',
    )
    const bad = await post(actionsUrl(hub, id), JSON.stringify({ action: 'ListServices' }))
    expect(bad.status).toBe(502)
    expect(JSON.parse(bad.body).error).toMatch(/not the documented map: key 0 \(units\): key 1 \(loadState\) is missing/)
    const silent = await post(actionsUrl(hub, id), JSON.stringify({ action: 'ListFiles', root: 'logs' }))
    expect(silent.status).toBe(504)
    expect(JSON.parse(silent.body).error).toBe('the agent did not answer ListFiles within 0.5 s')
  })
})

describe('which systems can be asked', () => {
  it('a SONAR-route agent can; a Beszel-route agent cannot (409, no frame sent); an SSH system cannot; a disconnected one cannot', async () => {
    const hub = await startHub()
    const sonar = await connect(hub, 'sonar')
    const views = JSON.parse((await post(new URL('/api/systems', hub.url).href, '', {}, 'GET')).body) as SystemView[]
    expect(views.find((v) => v.id === sonar.id)?.actions).toEqual({ available: true })
    expect(views.find((v) => v.id === sonar.id)?.route).toBe('sonar')

    const other = await startHub()
    const beszel = await connect(other, 'beszel')
    const refused = await post(actionsUrl(other, beszel.id), JSON.stringify({ action: 'ListServices' }))
    expect(refused.status).toBe(409)
    expect(JSON.parse(refused.body).error).toMatch(/Beszel's route \(\/api\/beszel\/agent-connect\), where actions 6–13 do not exist/)
    expect(beszel.agent.actionFrames).toEqual([])
    const beszelView = (JSON.parse((await post(new URL('/api/systems', other.url).href, '', {}, 'GET')).body) as SystemView[]).find((v) => v.id === beszel.id)
    expect(beszelView?.actions.available).toBe(false)

    hub.store.upsertSystem({ id: 'fp-ssh', name: 'ssh-box', transport: 'ssh', address: '10.0.0.9:45876', agentVersion: '0.18.8', connected: true, connectedAt: Date.now(), lastSampleAt: null })
    const ssh = await post(actionsUrl(hub, 'fp-ssh'), JSON.stringify({ action: 'ListServices' }))
    expect(ssh.status).toBe(409)
    expect(JSON.parse(ssh.body).error).toMatch(/reached over SSH, where the agent refuses host actions/)

    await sonar.agent.close()
    await until('the hub to see the agent go', () => hub.store.get(sonar.id)?.connected === false)
    const gone = await post(actionsUrl(hub, sonar.id), JSON.stringify({ action: 'ListServices' }))
    expect(gone.status).toBe(409)
    expect(JSON.parse(gone.body).error).toBe('the agent is not connected')
  })
})

describe('the endpoint serves the hub own page only', () => {
  it('refuses other methods, other content types, foreign origins and Host names, bad or large bodies, unknown systems and write actions', async () => {
    const hub = await startHub()
    const { agent, id } = await connect(hub, 'sonar')
    const url = actionsUrl(hub, id)
    const host = new URL(hub.url).host
    const body = JSON.stringify({ action: 'ListServices' })
    const status = async (reply: Promise<Reply>) => (await reply).status

    expect(await status(post(url, '', {}, 'GET'))).toBe(405)
    expect(await status(post(url, body, { 'content-type': 'text/plain' }))).toBe(415)
    expect(await status(post(url, body, { 'content-type': 'application/x-www-form-urlencoded' }))).toBe(415)
    expect(await status(post(url, body, { 'content-type': 'application/json', origin: 'http://evil.example' }))).toBe(403)
    expect(await status(post(url, body, { 'content-type': 'application/json', origin: 'null' }))).toBe(403)
    expect(await status(post(url, body, { 'content-type': 'application/json', origin: `http://${host}`, 'sec-fetch-site': 'cross-site' }))).toBe(403)
    expect(await status(post(url, body, { 'content-type': 'application/json', host: 'evil.example' }))).toBe(403)
    expect(await status(post(url, '{', { 'content-type': 'application/json' }))).toBe(400)
    const big = await post(url, JSON.stringify({ action: 'ExecuteCommand', id: 'x', args: { a: 'b'.repeat(MAX_ACTION_BODY_BYTES) } }))
    expect(big.status).toBe(413)
    const write = await post(url, JSON.stringify({ action: 'WriteFile', root: 'logs', path: 'a', content: '' }))
    expect(write.status).toBe(400)
    const extra = await post(url, JSON.stringify({ action: 'ListServices', sudo: true }))
    expect(extra.status).toBe(400)
    expect(JSON.parse(extra.body).error).toMatch(/^bad action: /)
    const badAction = await post(url, JSON.stringify({ action: 'PerformServiceAction', unit: 'nginx.service', serviceAction: 'mask' }))
    expect(badAction.status).toBe(400)
    expect(await status(post(actionsUrl(hub, 'nobody'), body))).toBe(404)
    // none of these reached the agent
    expect(agent.actionFrames).toEqual([])
    // the page itself, same origin
    expect(await status(post(url, body, { 'content-type': 'application/json; charset=utf-8', origin: `http://${host}`, 'sec-fetch-site': 'same-origin' }))).toBe(200)
    expect(agent.actionFrames).toHaveLength(1)
  })

  it('origin and peer rules', () => {
    const req = (headers: Record<string, string>) => ({ headers }) as Parameters<typeof foreignOrigin>[0]
    expect(foreignOrigin(req({ host: '127.0.0.1:8090' }))).toBeUndefined()
    expect(foreignOrigin(req({ host: '127.0.0.1:8090', origin: 'http://127.0.0.1:8090' }))).toBeUndefined()
    expect(foreignOrigin(req({ host: 'LOCALHOST:8090', origin: 'http://localhost:8090' }))).toBeUndefined()
    expect(foreignOrigin(req({ host: 'localhost', origin: 'http://localhost:80' }))).toBeUndefined()
    expect(foreignOrigin(req({ host: '127.0.0.1:8090', origin: 'http://127.0.0.1:8091' }))).toBe('Origin: http://127.0.0.1:8091')
    expect(foreignOrigin(req({ host: '127.0.0.1:8090', 'sec-fetch-site': 'same-site' }))).toBe('Sec-Fetch-Site: same-site')
    expect(isLoopbackAddress('127.0.0.1')).toBe(true)
    expect(isLoopbackAddress('127.8.9.10')).toBe(true)
    expect(isLoopbackAddress('::ffff:127.0.0.1')).toBe(true)
    expect(isLoopbackAddress('::1')).toBe(true)
    expect(isLoopbackAddress('192.0.2.2')).toBe(false)
    expect(isLoopbackAddress('::ffff:192.0.2.2')).toBe(false)
    expect(isLoopbackAddress('fd00::2')).toBe(false)
    expect(isLoopbackAddress(undefined)).toBe(false)
  })

  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && !i.internal && i.family === 'IPv4')?.address
  it.skipIf(!external)(`a page reached from another machine gets 403: the hub signs only for loopback peers (via ${external ?? 'no external IPv4 address here'})`, async () => {
    const hub = await startHub({ host: '0.0.0.0' })
    const { agent, id } = await connect(hub, 'sonar')
    const port = new URL(hub.url).port
    const url = `http://${external}:${port}/api/systems/${id}/actions`
    const reply = await post(url, JSON.stringify({ action: 'ListServices' }), { 'content-type': 'application/json' }, 'POST', external)
    expect(reply.status).toBe(403)
    expect(JSON.parse(reply.body).error).toMatch(/only for a page opened on this machine \(loopback\)/)
    expect(agent.actionFrames).toEqual([])
    // the same hub from loopback
    expect((await post(`http://127.0.0.1:${port}/api/systems/${id}/actions`, JSON.stringify({ action: 'ListServices' }))).status).toBe(200)
  })
})
