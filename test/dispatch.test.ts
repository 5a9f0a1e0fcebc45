/**
 * The dispatcher with real parts: the native collector for GetData, real Ed25519 keys (parsed from
 * authorized_keys text by identity/keys.ts) for CheckFingerprint, frames built by the envelope codec
 * and replies read back with cbor-x the way a hub reads them.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Decoder } from 'cbor-x'
import { beforeAll, describe, expect, it } from 'vitest'
import { openCollector, type Collector } from '../ts/collector.js'
import { Dispatcher, NOT_VERIFIED, type DispatcherDeps, type Session } from '../ts/dispatch.js'
import { INVALID_SIGNATURE, NONCE_REQUIRED } from '../ts/handlers/fingerprint.js'
import { signHubChallenge } from '../ts/hub/keys.js'
import { newHubNonce } from '../ts/identity/hub-nonce.js'
import { ed25519Blob, formatAuthorizedKey, parseAuthorizedKeys, type HubKey } from '../ts/identity/keys.js'
import { createLogger } from '../ts/log.js'
import { Action } from '../ts/protocol/actions.js'
import { encodeRequest } from '../ts/protocol/envelope.js'

const TOKEN = '6f1c2b0e-1d3a-4b5c-8d9e-0f1a2b3c4d5e'
const FINGERPRINT = 'a23d006bb020a81dfd1afa15968e07dcae8a9e0016934b97'

const decoder = new Decoder({ mapsAsObjects: false, int64AsNumber: true } as ConstructorParameters<typeof Decoder>[0])
type CborMap = Map<number | string, unknown>

function hubKeyPair(comment: string): { privateKey: KeyObject; line: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url')
  const key: HubKey = { type: 'ssh-ed25519', publicKey: raw, blob: ed25519Blob(raw), comment }
  return { privateKey, line: formatAuthorizedKey(key) }
}

const hub = hubKeyPair('hub@beszel')
const otherHub = hubKeyPair('old-hub')
const stranger = hubKeyPair('stranger')
// two keys in KEY, the hub's second: any key may verify
const KEYS = parseAuthorizedKeys(`# hubs allowed to poll this host\n${otherHub.line}\n\n${hub.line}\n`)

const signToken = (privateKey: KeyObject, token = TOKEN): Buffer => sign(null, Buffer.from(token, 'utf8'), privateKey)
const fingerprintRequest = (id: number | undefined, signature: Uint8Array, needSysInfo = false): Buffer =>
  encodeRequest({ action: Action.CheckFingerprint, data: new Map<number, unknown>([[0, signature], [1, needSysInfo]]), id })
const getData = (id: number | undefined, cacheTimeMs = 60000, includeDetails?: boolean): Buffer =>
  encodeRequest({
    action: Action.GetData,
    data: new Map<number, unknown>(includeDetails === undefined ? [[0, cacheTimeMs]] : [[0, cacheTimeMs], [1, includeDetails]]),
    id,
  })

function decodeReply(reply: Buffer | undefined): CborMap {
  expect(reply).toBeInstanceOf(Buffer)
  const value: unknown = decoder.decode(reply as Buffer)
  expect(value).toBeInstanceOf(Map)
  return value as CborMap
}

function expectError(reply: Buffer | undefined, id: number | undefined, message: string | RegExp): void {
  const map = decodeReply(reply)
  expect([...map.keys()]).toEqual(id === undefined ? [3] : [0, 3])
  if (id !== undefined) expect(map.get(0)).toBe(id)
  if (typeof message === 'string') expect(map.get(3)).toBe(message)
  else expect(map.get(3)).toMatch(message)
}

let collector: Collector
beforeAll(() => {
  collector = openCollector({})
})

interface Harness {
  dispatcher: Dispatcher
  collects: { cacheTimeMs?: number }[]
  verifiedEvents: number[]
  logs: string[]
}

function harness(overrides: Partial<DispatcherDeps> = {}): Harness {
  const collects: { cacheTimeMs?: number }[] = []
  const verifiedEvents: number[] = []
  const logs: string[] = []
  const dispatcher = new Dispatcher({
    collector: {
      collect: (options) => {
        collects.push(options ?? {})
        return collector.collect(options)
      },
    },
    keys: () => KEYS,
    token: () => TOKEN,
    fingerprint: () => FINGERPRINT,
    hostname: () => 'web-01',
    listenPort: () => '45876',
    systemName: () => 'Web 01',
    logger: createLogger('debug', { write: (line) => logs.push(line) }),
    onVerified: () => verifiedEvents.push(Date.now()),
    ...overrides,
  })
  return { dispatcher, collects, verifiedEvents, logs }
}

const websocket = (): Session => ({ transport: 'websocket', verified: false })
const ssh = (): Session => ({ transport: 'ssh', verified: true })

async function verify(h: Harness, session: Session): Promise<void> {
  const result = await h.dispatcher.handle(fingerprintRequest(1, signToken(hub.privateKey)), session)
  expect(result.close).toBeUndefined()
  expect(session.verified).toBe(true)
}

describe('WebSocket verification gate', () => {
  it('refuses every action before CheckFingerprint, collecting nothing', async () => {
    const h = harness()
    const session = websocket()
    const frames: [number, Buffer][] = [
      [2, getData(2)],
      [3, encodeRequest({ action: Action.GetContainerLogs, data: new Map([[0, 'abc123def456']]), id: 3 })],
      [4, encodeRequest({ action: Action.GetSmartData, data: undefined, id: 4 })],
      [5, encodeRequest({ action: Action.ExecuteCommand, data: new Map([[0, 'id']]), id: 5 })],
      [6, encodeRequest({ action: 99, data: undefined, id: 6 })],
    ]
    for (const [id, frame] of frames) {
      const result = await h.dispatcher.handle(frame, session)
      expectError(result.reply, id, NOT_VERIFIED)
      expect(result.close).toBeUndefined()
    }
    expect(h.collects).toEqual([])
    expect(session.verified).toBe(false)
  })

  it('bad signature: error answer that says check KEY, close, no fingerprint', async () => {
    const h = harness()
    const session = websocket()
    const result = await h.dispatcher.handle(fingerprintRequest(1, signToken(stranger.privateKey)), session)
    expectError(result.reply, 1, /^invalid signature - check KEY/)
    expect(result.close?.reason).toMatch(/check KEY/)
    expect(result.reply?.includes(Buffer.from(FINGERPRINT))).toBe(false)
    expect(session.verified).toBe(false)
    expect(h.verifiedEvents).toEqual([])
    expect(h.logs.join('')).toMatch(/WARN .*check that KEY/i)
    expectError((await h.dispatcher.handle(getData(2), session)).reply, 2, NOT_VERIFIED)
  })

  it('a signature over another token is just as bad', async () => {
    const h = harness()
    const result = await h.dispatcher.handle(fingerprintRequest(1, signToken(hub.privateKey, 'some-other-token')), websocket())
    expectError(result.reply, 1, /check KEY/)
    expect(result.close).toBeDefined()
  })

  it('no TOKEN, or a verify that throws, fails closed', async () => {
    const noToken = harness({ token: () => undefined })
    expect((await noToken.dispatcher.handle(fingerprintRequest(1, signToken(hub.privateKey)), websocket())).close).toBeDefined()
    const throwing = harness({
      verify: () => {
        throw new Error('crypto exploded')
      },
    })
    const session = websocket()
    const result = await throwing.dispatcher.handle(fingerprintRequest(1, signToken(hub.privateKey)), session)
    expectError(result.reply, 1, /check KEY/)
    expect(result.close).toBeDefined()
    expect(session.verified).toBe(false)
  })

  it('verified, then GetData answers with the native CombinedData', async () => {
    const h = harness()
    const session = websocket()
    const check = await h.dispatcher.handle(fingerprintRequest(1, signToken(hub.privateKey)), session)
    const reply = decodeReply(check.reply)
    expect([...reply.keys()]).toEqual([0, 2])
    expect(reply.get(0)).toBe(1)
    expect(reply.get(2)).toEqual(new Map([[0, FINGERPRINT]])) // no sysinfo asked, none sent
    expect(h.verifiedEvents).toHaveLength(1)

    const data = await h.dispatcher.handle(getData(2), session)
    expect(data.close).toBeUndefined()
    const envelope = decodeReply(data.reply)
    expect([...envelope.keys()]).toEqual([0, 1])
    expect(envelope.get(0)).toBe(2)
    const combined = envelope.get(1) as CborMap
    expect(combined).toBeInstanceOf(Map)
    expect(combined.get(0)).toBeInstanceOf(Map) // Stats
    const info = combined.get(1) as CborMap
    expect(info.get(0)).toBe(hostname())
    expect(info.get(10)).toMatch(/^\d+\.\d+\.\d+/)
    expect(h.collects).toEqual([{ cacheTimeMs: 60000 }])
    // the payload is spliced in as the core produced it: a2 00 02 01 <CombinedData>
    expect(data.reply?.subarray(0, 4).toString('hex')).toBe('a2000201')
  })

  it('v0.18 GetData (IncludeDetails) and realtime polls', async () => {
    const h = harness()
    const session = websocket()
    await verify(h, session)
    const first = decodeReply((await h.dispatcher.handle(getData(2, 60000, true), session)).reply)
    expect(first.get(0)).toBe(2)
    expect(first.get(1)).toBeInstanceOf(Map)
    const realtime = decodeReply((await h.dispatcher.handle(getData(57, 1000, false), session)).reply)
    expect(realtime.get(0)).toBe(57)
    // key 1 goes to the core as sent: it renders the v0.18.8 shape (and Details when true)
    expect(h.collects).toEqual([
      { cacheTimeMs: 60000, includeDetails: true },
      { cacheTimeMs: 1000, includeDetails: false },
    ])
    expect(session.dialect).toBe('v0.18')
  })

  it('a v0.17 GetData (no key 1) asks the core for the v0.17 shape', async () => {
    const h = harness()
    const session = websocket()
    await verify(h, session)
    expect(session.dialect).toBeUndefined()
    await h.dispatcher.handle(getData(2, 60000), session)
    expect(h.collects).toEqual([{ cacheTimeMs: 60000 }])
    expect(session.dialect).toBe('v0.17')
  })

  it('a request pipelined right behind CheckFingerprint is already let through', async () => {
    const h = harness()
    const session = websocket()
    const [check, data] = await Promise.all([
      h.dispatcher.handle(fingerprintRequest(1, signToken(hub.privateKey)), session),
      h.dispatcher.handle(getData(2), session),
    ])
    expect(decodeReply(check.reply).get(2)).toBeInstanceOf(Map)
    expect(decodeReply(data.reply).get(1)).toBeInstanceOf(Map)
  })

  it('verification is per session: a new connection starts unverified', async () => {
    const h = harness()
    const first = websocket()
    await verify(h, first)
    const second = websocket()
    expectError((await h.dispatcher.handle(getData(2), second)).reply, 2, NOT_VERIFIED)
    expect(decodeReply((await h.dispatcher.handle(getData(3), first)).reply).get(0)).toBe(3)
    await verify(h, second)
    expect(h.verifiedEvents).toHaveLength(2)
  })

  it('a failed re-check on a verified session revokes it', async () => {
    const h = harness()
    const session = websocket()
    await verify(h, session)
    expect((await h.dispatcher.handle(fingerprintRequest(3, signToken(stranger.privateKey)), session)).close).toBeDefined()
    expect(session.verified).toBe(false)
  })

  it('an injected verify stands in for identity/keys.ts', async () => {
    const seen: string[] = []
    const h = harness({
      verify: (keys, token, signature) => {
        seen.push(`${keys.length}:${token}:${signature.length}`)
        return keys[0]
      },
    })
    const session = websocket()
    await verify(h, session)
    expect(seen).toEqual([`2:${TOKEN}:64`])
  })
})

describe('hub nonce (docs/extensions.md)', () => {
  const withNonce = (nonce = newHubNonce()): Session => ({ transport: 'websocket', verified: false, hubNonce: nonce })
  const proofLines = (h: Harness) => h.logs.filter((line) => /hub verified/.test(line))

  it('nonce form first; the token form still verifies unless REQUIRE_HUB_NONCE', async () => {
    const nonce = newHubNonce()
    const h = harness()
    const session = withNonce(nonce)
    expect((await h.dispatcher.handle(fingerprintRequest(1, signHubChallenge(hub.privateKey, TOKEN, nonce)), session)).close).toBeUndefined()
    expect(session.verified).toBe(true)
    expect(proofLines(h)).toEqual([expect.stringMatching(/INFO .*hub verified comment=hub@beszel hubProof=nonce\n$/)])

    const stock = harness()
    const stockSession = withNonce()
    expect((await stock.dispatcher.handle(fingerprintRequest(1, signToken(hub.privateKey)), stockSession)).close).toBeUndefined()
    expect(stockSession.verified).toBe(true)
    expect(proofLines(stock)).toEqual([expect.stringMatching(/hubProof=token-only hint=/)])

    const strict = harness({ requireHubNonce: () => true })
    const strictSession = withNonce()
    const refused = await strict.dispatcher.handle(fingerprintRequest(7, signToken(hub.privateKey)), strictSession)
    expectError(refused.reply, 7, NONCE_REQUIRED)
    expect(refused.close).toEqual({ reason: NONCE_REQUIRED })
    expect(strictSession.verified).toBe(false)
    expect(Buffer.byteLength(NONCE_REQUIRED)).toBeLessThanOrEqual(123)
  })

  it('a signature over another nonce, or with another key, verifies in neither form', async () => {
    const h = harness()
    const session = withNonce()
    const replayed = await h.dispatcher.handle(fingerprintRequest(1, signHubChallenge(hub.privateKey, TOKEN, newHubNonce())), session)
    expectError(replayed.reply, 1, INVALID_SIGNATURE)
    expect(replayed.close).toBeDefined()
    const foreign = await h.dispatcher.handle(fingerprintRequest(2, signHubChallenge(stranger.privateKey, TOKEN, session.hubNonce)), session)
    expectError(foreign.reply, 2, INVALID_SIGNATURE)
    expect(session.verified).toBe(false)
  })

  it('without a nonce (Beszel route) only the token form exists', async () => {
    const h = harness({ requireHubNonce: () => true })
    const session = websocket()
    const nonceSigned = await h.dispatcher.handle(fingerprintRequest(1, signHubChallenge(hub.privateKey, TOKEN, newHubNonce())), session)
    expectError(nonceSigned.reply, 1, INVALID_SIGNATURE)
    const tokenSigned = await h.dispatcher.handle(fingerprintRequest(2, signToken(hub.privateKey)), session)
    expectError(tokenSigned.reply, 2, NONCE_REQUIRED)
    expect(h.logs.join('')).toMatch(/nonce="none on this route/)
  })

  it('which form verified is logged at info once per connection, however often the hub asks', async () => {
    const nonce = newHubNonce()
    const h = harness()
    const session = withNonce(nonce)
    for (const id of [1, 2, 3]) await h.dispatcher.handle(fingerprintRequest(id, signHubChallenge(hub.privateKey, TOKEN, nonce)), session)
    expect(proofLines(h).filter((line) => / INFO /.test(line))).toHaveLength(1)
    expect(proofLines(h).filter((line) => / DEBUG /.test(line))).toHaveLength(2)
  })
})

describe('answers', () => {
  it('echoes every id, from 0 to 2^32-1', async () => {
    const h = harness()
    const session = websocket()
    await verify(h, session)
    for (const id of [0, 1, 23, 24, 255, 256, 65535, 70000, 0xffffffff]) {
      const result = await h.dispatcher.handle(encodeRequest({ action: 42, data: undefined, id }), session)
      expectError(result.reply, id, 'unknown action: 42')
    }
  })

  it('NeedSysInfo: hostname, port and name; empty ones omitted', async () => {
    const h = harness()
    const full = decodeReply((await h.dispatcher.handle(fingerprintRequest(1, signToken(hub.privateKey), true), websocket())).reply)
    expect(full.get(2)).toEqual(
      new Map([
        [0, FINGERPRINT],
        [1, 'web-01'],
        [2, '45876'],
        [3, 'Web 01'],
      ]),
    )
    const sparse = harness({ listenPort: () => '', systemName: () => undefined })
    const reply = decodeReply((await sparse.dispatcher.handle(fingerprintRequest(1, signToken(hub.privateKey), true), websocket())).reply)
    expect(reply.get(2)).toEqual(
      new Map([
        [0, FINGERPRINT],
        [1, 'web-01'],
      ]),
    )
  })

  it('unknown action numbers', async () => {
    const h = harness()
    const session = websocket()
    await verify(h, session)
    for (const action of [14, 255, 256, 100000]) {
      expectError((await h.dispatcher.handle(encodeRequest({ action, data: new Map([[0, 1]]), id: 9 }), session)).reply, 9, `unknown action: ${action}`)
    }
  })

  it('malformed data, per action', async () => {
    const h = harness()
    const session = websocket()
    await verify(h, session)
    const cases: [number, unknown, RegExp][] = [
      [Action.GetData, undefined, /invalid GetData data: Data \(request key 1\) is missing/],
      [Action.GetData, new Map([[0, 70000]]), /invalid GetData data: key 0 must be an unsigned 16-bit integer/],
      [Action.GetData, new Map([[0, '60000']]), /key 0 must be an unsigned 16-bit integer/],
      [Action.GetData, new Map([[0, 1.5]]), /key 0 must be an unsigned 16-bit integer/],
      [Action.GetData, new Map<number, unknown>([[0, 60000], [1, 'yes']]), /key 1 must be a boolean/],
      [Action.GetData, new Map([['cacheTimeMs', 60000]]), /key cacheTimeMs is not an unsigned integer key/],
      [Action.GetData, [60000], /Data must be a map/],
      [Action.CheckFingerprint, new Map<number, unknown>([[0, Buffer.alloc(63)], [1, false]]), /invalid CheckFingerprint data: key 0 must be 64 bytes/],
      [Action.CheckFingerprint, new Map<number, unknown>([[0, 'sig'], [1, false]]), /key 0 must be a byte string/],
      [Action.CheckFingerprint, new Map<number, unknown>([[0, Buffer.alloc(64)]]), /key 1 must be a boolean/],
      [Action.GetContainerLogs, new Map([[0, '../../etc/passwd']]), /invalid GetContainerLogs data: key 0 must be 12–64 hex digits/],
      [Action.GetContainerLogs, new Map([[0, 'abc']]), /12–64 hex digits/],
      [Action.GetContainerInfo, undefined, /invalid GetContainerInfo data: Data \(request key 1\) is missing/],
      [Action.GetContainerInfo, new Map([[0, 'g'.repeat(12)]]), /12–64 hex digits/],
      [Action.GetSystemdInfo, new Map([[0, 'nginx; reboot']]), /invalid GetSystemdInfo data: key 0 must be a systemd unit name/],
      [Action.GetSystemdInfo, new Map([[0, 42]]), /key 0 must be a text string/],
    ]
    let id = 100
    for (const [action, data, message] of cases) {
      id++
      expectError((await h.dispatcher.handle(encodeRequest({ action, data, id }), session)).reply, id, message)
    }
    expect(h.collects).toEqual([])
    expect(session.verified).toBe(true) // bad CheckFingerprint data neither verifies nor closes
  })

  it('container logs/info go to the engines (key 4); without engines (DOCKER_HOST="") an error', async () => {
    const asked: string[] = []
    const containers = {
      sample: () => Promise.resolve({ containers: null, podman: false }),
      logs: (id: string) => (asked.push(`logs ${id}`), Promise.resolve('line\n')),
      info: (id: string) => (asked.push(`info ${id}`), Promise.resolve('{"Id":"x"}')),
    }
    const h = harness({ containers })
    const session = websocket()
    await verify(h, session)
    const logs = decodeReply((await h.dispatcher.handle(encodeRequest({ action: Action.GetContainerLogs, data: new Map([[0, 'abc123def456']]), id: 8 }), session)).reply)
    expect([...logs]).toEqual([[0, 8], [4, 'line\n']])
    const info = decodeReply((await h.dispatcher.handle(encodeRequest({ action: Action.GetContainerInfo, data: new Map([[0, 'ABC123DEF456']]), id: 9 }), session)).reply)
    expect([...info]).toEqual([[0, 9], [4, '{"Id":"x"}']])
    expectError((await h.dispatcher.handle(encodeRequest({ action: Action.GetContainerLogs, data: new Map([[0, '../../x']]), id: 10 }), session)).reply, 10, /must be 12–64 hex digits/)
    expect(asked).toEqual(['logs abc123def456', 'info ABC123DEF456'])
    const without = harness()
    await verify(without, websocket())
    for (const action of [Action.GetContainerLogs, Action.GetContainerInfo]) {
      expectError((await without.dispatcher.handle(encodeRequest({ action, data: new Map([[0, 'abc123def456']]), id: 7 }), session)).reply, 7, /container monitoring is disabled/)
    }
  })

  it('systemd: the unit name reaches the source with ".service"; SKIP_SYSTEMD and SMART off answer errors', async () => {
    const asked: string[] = []
    // The real D-Bus path is in systemd.test.ts (real systemd 252); this pins the dispatcher's part.
    const h = harness({ systemd: { info: async (name) => (asked.push(name), Buffer.from([0xa1, 0x62, 0x49, 0x64, 0x61, 0x78])) } })
    const session = websocket()
    await verify(h, session)
    for (const [name, id] of [['nginx', 7], ['getty@tty1.service', 8]] as const) {
      const reply = decodeReply((await h.dispatcher.handle(encodeRequest({ action: Action.GetSystemdInfo, data: new Map([[0, name]]), id }), session)).reply)
      expect([...reply]).toEqual([[0, id], [6, new Map([['Id', 'x']])]])
    }
    expect(asked).toEqual(['nginx.service', 'getty@tty1.service'])
    const off = harness()
    await verify(off, session)
    const cases: [number, unknown, string][] = [
      [Action.GetSmartData, undefined, 'SMART monitoring is disabled (SMART_DEVICES is set but empty)'],
      [Action.GetSystemdInfo, new Map([[0, 'nginx']]), 'unsupported operation: systemd monitoring is off (SKIP_SYSTEMD=true)'],
    ]
    for (const [action, data, message] of cases) {
      expectError((await off.dispatcher.handle(encodeRequest({ action, data, id: 7 }), session)).reply, 7, message)
    }
  })

  it('GetSmartData: the core\'s map under key 5 (a fake smartctl on PATH: this VM has no SMART disk)', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'sonar-smartctl-'))
    const fixtures = new URL('../crates/sonar-core/tests/fixtures/smart/', import.meta.url).pathname
    // scan lists /dev/sda only; every device query answers the real sda.json (exit status 64, as captured)
    writeFileSync(
      join(bin, 'smartctl'),
      `#!/bin/sh\ncase "$*" in\n  *--scan*) echo '{"devices":[{"name":"/dev/sda","info_name":"/dev/sda [SAT]","type":"sat","protocol":"ATA"}]}' ;;\n  *) cat ${fixtures}sda.json; exit 64 ;;\nesac\n`,
      { mode: 0o755 },
    )
    const oldPath = process.env.PATH
    process.env.PATH = `${bin}:${oldPath ?? ''}`
    try {
      const withSmart = openCollector({})
      expect(withSmart.smart.available).toBe(true)
      const h = harness({ smart: withSmart.smart })
      const session = websocket()
      await verify(h, session)
      const reply = decoder.decode((await h.dispatcher.handle(encodeRequest({ action: Action.GetSmartData, data: undefined, id: 7 }), session)).reply as Buffer) as Map<number, unknown>
      expect(reply.get(0)).toBe(7)
      const devices = reply.get(5) as Map<string, Map<number, unknown>>
      const sda = devices.get('9C40918040082')
      expect(sda?.get(1)).toBe('P3-2TB')
      expect(sda?.get(4)).toBe(2048408248320)
      expect(sda?.get(5)).toBe('PASSED')
      expect(sda?.get(8)).toBe(31)
    } finally {
      process.env.PATH = oldPath
    }

    // without smartctl: an empty map, which Go leaves out — the reply is just the id
    const without = openCollector({ SMART_DEVICES: undefined })
    if (!without.smart.available) {
      const h = harness({ smart: without.smart })
      const session = websocket()
      await verify(h, session)
      const reply = (await h.dispatcher.handle(encodeRequest({ action: Action.GetSmartData, data: undefined, id: 8 }), session)).reply as Buffer
      expect(reply.toString('hex')).toBe('a10008')
    }
  })

  it('SONAR actions 6–13 are refused with no side effect', async () => {
    const h = harness()
    const session: Session = { ...websocket(), route: 'sonar' }
    await verify(h, session)
    const dir = mkdtempSync(join(tmpdir(), 'sonar-dispatch-'))
    const victim = join(dir, 'keep-me')
    writeFileSync(victim, 'x')
    const created = join(dir, 'created')
    const requests: [number, string, unknown][] = [
      [6, 'ExecuteCommand', new Map([[0, `touch ${created}`]])],
      [7, 'ListServices', undefined],
      [8, 'GetServiceStatus', new Map([[0, 'sshd']])],
      [9, 'PerformServiceAction', new Map([[0, 'sshd'], [1, 'stop']])],
      [10, 'ListFiles', new Map([[0, dir]])],
      [11, 'ReadFile', new Map([[0, victim]])],
      [12, 'WriteFile', new Map<number, unknown>([[0, created], [1, Buffer.from('pwned')]])],
      [13, 'DeleteFile', new Map([[0, victim]])],
    ]
    for (const [action, name, data] of requests) {
      const result = await h.dispatcher.handle(encodeRequest({ action, data, id: action }), session)
      expectError(result.reply, action, `action ${action} (${name}) is not enabled on this agent`)
      expect(result.close).toBeUndefined()
    }
    expect(existsSync(victim)).toBe(true)
    expect(existsSync(created)).toBe(false)
    expect(h.collects).toEqual([])
  })

  it('a failing handler becomes an error answer; handle never rejects', async () => {
    const rejecting = harness({ collector: { collect: () => Promise.reject(new Error('boom')) } })
    const session = websocket()
    await verify(rejecting, session)
    expectError((await rejecting.dispatcher.handle(getData(2), session)).reply, 2, 'GetData failed: boom')

    const throwing = harness({
      collector: {
        collect: () => {
          throw new Error('sync boom')
        },
      },
    })
    const s2 = websocket()
    await verify(throwing, s2)
    expectError((await throwing.dispatcher.handle(getData(3), s2)).reply, 3, 'GetData failed: sync boom')

    const empty = harness({ collector: { collect: () => Promise.resolve(Buffer.alloc(0)) } })
    const s3 = websocket()
    await verify(empty, s3)
    expectError((await empty.dispatcher.handle(getData(4), s3)).reply, 4, /answer could not be encoded/)

    const badFingerprint = harness({
      fingerprint: () => {
        throw new Error('no data dir')
      },
    })
    expectError((await badFingerprint.dispatcher.handle(fingerprintRequest(5, signToken(hub.privateKey)), websocket())).reply, 5, 'CheckFingerprint failed: no data dir')

    const badHook = harness({
      onVerified: () => {
        throw new Error('listener broke')
      },
    })
    const s4 = websocket()
    expect(decodeReply((await badHook.dispatcher.handle(fingerprintRequest(6, signToken(hub.privateKey)), s4)).reply).get(2)).toBeInstanceOf(Map)
    expect(s4.verified).toBe(true)
  })
})

describe('malformed frames', () => {
  it('WebSocket: no readable id, no reply; a readable id gets an error answer', async () => {
    const h = harness()
    const session = websocket()
    for (const frame of [Buffer.from('hello'), Buffer.from([0xa1]), Buffer.alloc(0), Buffer.from('a10000ff', 'hex'), Buffer.from('8100', 'hex')]) {
      expect(await h.dispatcher.handle(frame, session)).toEqual({})
    }
    expectError((await h.dispatcher.handle(Buffer.from('a10207', 'hex'), session)).reply, 7, /^invalid request: request has no action/)
    expect(h.logs.join('')).toMatch(/WARN .*invalid request/)
  })

  it('indefinite-string-with-id: a request cbor-x cannot decode still gets {0: id, 3: …}; a float id gets nothing', async () => {
    const h = harness()
    const session = websocket()
    const indefinite = Buffer.from('a3 0000 01 a1 00 7f 6161 6162 ff 0218 48'.replace(/\s+/g, ''), 'hex') // id 72
    expectError((await h.dispatcher.handle(indefinite, session)).reply, 72, /^invalid request: malformed CBOR: .*[Ii]ndefinite/)
    // 1000.0 is not an id: nothing to answer under, as for any other unreadable id
    expect(await h.dispatcher.handle(Buffer.from('a2 0000 02 f963d0'.replace(/\s+/g, ''), 'hex'), session)).toEqual({})
    expect(h.collects).toHaveLength(0)
  })

  it('SSH: malformed requests are answered without key 0', async () => {
    const h = harness()
    expectError((await h.dispatcher.handle(Buffer.from('not cbor'), ssh())).reply, undefined, /^invalid request: /)
  })
})

describe('SSH sessions (no ids)', () => {
  it('GetData answers {1: CombinedData} with no key 0', async () => {
    const h = harness()
    const result = await h.dispatcher.handle(getData(undefined), ssh())
    const reply = decodeReply(result.reply)
    expect([...reply.keys()]).toEqual([1])
    expect((reply.get(1) as CborMap).get(1)).toBeInstanceOf(Map)
    expect(result.reply?.subarray(0, 2).toString('hex')).toBe('a101')
  })

  it('CheckFingerprint is "unsupported action", byte for byte (spec §3.4)', async () => {
    const h = harness()
    const result = await h.dispatcher.handle(fingerprintRequest(undefined, signToken(hub.privateKey)), ssh())
    expect(result.reply?.toString('hex')).toBe(`a10372${Buffer.from('unsupported action').toString('hex')}`)
    expect(result.close).toBeUndefined()
    expect(h.verifiedEvents).toEqual([])
  })

  it('errors and refusals without key 0; an id, if sent, is echoed', async () => {
    const h = harness()
    expectError((await h.dispatcher.handle(encodeRequest({ action: 42, data: undefined, id: undefined }), ssh())).reply, undefined, 'unknown action: 42')
    expectError((await h.dispatcher.handle(encodeRequest({ action: Action.GetSmartData, data: undefined, id: undefined }), ssh())).reply, undefined, /SMART monitoring is disabled/)
    expectError((await h.dispatcher.handle(encodeRequest({ action: Action.DeleteFile, data: new Map([[0, '/']]), id: undefined }), ssh())).reply, undefined, /not enabled/)
    expectError((await h.dispatcher.handle(encodeRequest({ action: 42, data: undefined, id: 8 }), ssh())).reply, 8, 'unknown action: 42')
  })
})

describe('WebSocket requests without id (pre-0.13 hub)', () => {
  it('get bare payloads, or nothing where that format cannot say it', async () => {
    const h = harness()
    const session = websocket()
    const check = await h.dispatcher.handle(fingerprintRequest(undefined, signToken(hub.privateKey)), session)
    expect(decodeReply(check.reply)).toEqual(new Map([[0, FINGERPRINT]]))
    const data = decodeReply((await h.dispatcher.handle(getData(undefined), session)).reply)
    expect(data.get(0)).toBeInstanceOf(Map) // CombinedData itself: Stats at key 0, Info at key 1
    expect(data.get(1)).toBeInstanceOf(Map)
    expect(await h.dispatcher.handle(encodeRequest({ action: 42, data: undefined, id: undefined }), session)).toEqual({})
    const bad = await h.dispatcher.handle(fingerprintRequest(undefined, signToken(stranger.privateKey)), websocket())
    expect(bad.reply).toBeUndefined()
    expect(bad.close?.reason).toMatch(/check KEY/)
  })
})

describe('logs', () => {
  it('never carry the token or the signature', async () => {
    const h = harness()
    const session = websocket()
    const signature = signToken(hub.privateKey)
    await h.dispatcher.handle(fingerprintRequest(1, signToken(stranger.privateKey)), session)
    await h.dispatcher.handle(fingerprintRequest(1, signature, true), session)
    await h.dispatcher.handle(getData(2), session)
    const text = h.logs.join('')
    expect(text).toMatch(/hub verified/)
    expect(text).not.toContain(TOKEN)
    expect(text).not.toContain(signature.toString('hex'))
    expect(text).not.toContain(signature.toString('base64'))
  })
})

describe('GetSmartData key 8 SmartComplete (spec v0.18 §4)', () => {
  const MAP = Buffer.from('a1625331a10001', 'hex') // {"S1": {0: 1}}
  const source = (complete: boolean) => ({ data: async () => ({ cbor: MAP, complete }) })
  const smartRequest = (id: number | undefined): Buffer => encodeRequest({ action: Action.GetSmartData, data: undefined, id })

  async function smartReply(h: Harness, session: Session, id: number | undefined): Promise<Buffer> {
    const reply = (await h.dispatcher.handle(smartRequest(id), session)).reply
    expect(reply).toBeInstanceOf(Buffer)
    return reply as Buffer
  }

  it('a v0.18 hub gets key 8 = true after key 5 when the refresh was complete', async () => {
    const h = harness({ smart: source(true) })
    const session = websocket()
    await verify(h, session)
    await h.dispatcher.handle(getData(2, 60000, true), session)
    expect(session.dialect).toBe('v0.18')
    const reply = await smartReply(h, session, 3)
    expect(reply.toString('hex')).toBe(`a30003 05${MAP.toString('hex')} 08f5`.replace(/\s+/g, ''))
    expect([...decodeReply(reply)]).toEqual([[0, 3], [5, new Map([['S1', new Map([[0, 1]])]])], [8, true]])
  })

  it('no key 8 when the refresh was incomplete', async () => {
    const h = harness({ smart: source(false) })
    const session = websocket()
    await verify(h, session)
    await h.dispatcher.handle(getData(2, 60000, false), session)
    expect([...decodeReply(await smartReply(h, session, 3)).keys()]).toEqual([0, 5])
  })

  it('a v0.17 hub never sees key 8, nor does a hub that has not sent GetData yet', async () => {
    const h = harness({ smart: source(true) })
    const fresh = websocket()
    await verify(h, fresh)
    expect([...decodeReply(await smartReply(h, fresh, 2)).keys()]).toEqual([0, 5])
    const old = websocket()
    await verify(h, old)
    await h.dispatcher.handle(getData(2), old)
    expect(old.dialect).toBe('v0.17')
    expect([...decodeReply(await smartReply(h, old, 3)).keys()]).toEqual([0, 5])
    // the same connection answering a v0.18 GetData, then a v0.17 one again: the latest decides
    await h.dispatcher.handle(getData(4, 60000, true), old)
    expect([...decodeReply(await smartReply(h, old, 5)).keys()]).toEqual([0, 5, 8])
    await h.dispatcher.handle(getData(6), old)
    expect([...decodeReply(await smartReply(h, old, 7)).keys()]).toEqual([0, 5])
  })

  it('over SSH: {5, 8} with no id for a v0.18 hub, {5} for a v0.17 one', async () => {
    const h = harness({ smart: source(true) })
    const v18 = ssh()
    await h.dispatcher.handle(getData(undefined, 60000, false), v18)
    expect((await smartReply(h, v18, undefined)).toString('hex')).toBe(`a2 05${MAP.toString('hex')} 08f5`.replace(/\s+/g, ''))
    const v17 = ssh()
    await h.dispatcher.handle(getData(undefined), v17)
    expect((await smartReply(h, v17, undefined)).toString('hex')).toBe(`a1 05${MAP.toString('hex')}`.replace(/\s+/g, ''))
  })

  it('through the native core: a fake smartctl whose one disk is read gives a complete answer', async () => {
    // this VM has no smartctl and no SMART disk: the script replays the real sda.json
    const bin = mkdtempSync(join(tmpdir(), 'sonar-smartctl-'))
    const fixtures = new URL('../crates/sonar-core/tests/fixtures/smart/', import.meta.url).pathname
    writeFileSync(
      join(bin, 'smartctl'),
      `#!/bin/sh\ncase "$*" in\n  *--scan*) echo '{"devices":[{"name":"/dev/sda","type":"sat"}]}' ;;\n  *) cat ${fixtures}sda.json; exit 64 ;;\nesac\n`,
      { mode: 0o755 },
    )
    const oldPath = process.env.PATH
    process.env.PATH = `${bin}:${oldPath ?? ''}`
    try {
      const withSmart = openCollector({})
      const h = harness({ smart: withSmart.smart })
      const session = websocket()
      await verify(h, session)
      await h.dispatcher.handle(getData(2, 60000, true), session)
      const reply = decodeReply(await smartReply(h, session, 3))
      expect([...reply.keys()]).toEqual([0, 5, 8])
      expect(reply.get(8)).toBe(true)
      const sda = (reply.get(5) as Map<string, Map<number, unknown>>).get('9C40918040082')
      expect(sda?.get(7)).toBe('sat')
    } finally {
      process.env.PATH = oldPath
    }
  })

  it('GetData is never held up by a slow first SMART refresh, however many hubs ask at once', async () => {
    // every disk query takes 6 s; without sharing the pending answer, each GetSmartData would hold
    // one of libuv's four threadpool threads and GetData's collection would wait behind them
    const bin = mkdtempSync(join(tmpdir(), 'sonar-smartctl-'))
    writeFileSync(
      join(bin, 'smartctl'),
      `#!/bin/sh\ncase "$*" in\n  *--scan*) echo '{"devices":[{"name":"/dev/sda","type":"sat"}]}' ;;\n  *) exec sleep 6 ;;\nesac\n`,
      { mode: 0o755 },
    )
    const oldPath = process.env.PATH
    process.env.PATH = `${bin}:${oldPath ?? ''}`
    try {
      const slow = openCollector({})
      const h = harness({ smart: slow.smart })
      const session = websocket()
      await verify(h, session)
      await h.dispatcher.handle(getData(2, 60000, true), session)
      const started = Date.now()
      const smart = Array.from({ length: 8 }, (_, i) => h.dispatcher.handle(smartRequest(10 + i), session))
      const data = await h.dispatcher.handle(getData(3, 1000, false), session)
      const dataMs = Date.now() - started
      expect(decodeReply(data.reply).has(1)).toBe(true)
      expect(dataMs).toBeLessThan(3000)
      const replies = await Promise.all(smart)
      expect(Date.now() - started).toBeGreaterThanOrEqual(5000)
      // the disk gave nothing: the refresh is incomplete, so no key 8
      for (const [i, r] of replies.entries()) {
        const reply = decodeReply(r.reply)
        expect(reply.get(0)).toBe(10 + i)
        expect(reply.has(8)).toBe(false)
      }
    } finally {
      process.env.PATH = oldPath
    }
  })
})
