/**
 * The SSH server against real clients: ssh2's Client configured exactly like the hub (user `u`,
 * Ed25519 key, the single kex/cipher/MAC), OpenSSH's `ssh`, raw sockets for the banner, real files
 * for host keys and unix sockets.
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync, readFileSync } from 'node:fs'
import { connect, createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Decoder, Encoder } from 'cbor-x'
import ssh2, { type ClientChannel, type ConnectConfig, type KeyboardInteractiveAuthMethod, type NegotiatedAlgorithms } from 'ssh2'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { openCollector, type Collector } from '../ts/collector.js'
import { Dispatcher, type DispatchResult, type Session } from '../ts/dispatch.js'
import { loadHostKey } from '../ts/identity/host-key.js'
import { parseAuthorizedKeys, type HubKey } from '../ts/identity/keys.js'
import { createLogger, silentLogger } from '../ts/log.js'
import { encodeResponse } from '../ts/protocol/envelope.js'
import { CborItemScanner } from '../ts/transport/cbor-item.js'
import { SshServer, type SshServerOptions } from '../ts/transport/ssh-server.js'
import { hubMode, hubVersionFromIdent } from '../ts/transport/ssh-version.js'
import { compareSemver, parseSemver } from '../ts/protocol/semver.js'
import { connectAsHub, generateSshKeyPair, HUB_ALGORITHMS } from './helpers/ssh.js'
import { loadNative } from '../ts/native.js'

/** The version the agent announces is the core's. */
const PROTOCOL_VERSION = loadNative().agentVersion

const { Client, utils } = ssh2
const decoder = new Decoder({ mapsAsObjects: false })
const encoder = new Encoder({ mapsAsObjects: false, useRecords: false })
const cbor = (value: unknown): Buffer => Buffer.from(encoder.encode(value))

/** spec §3.4 example: `{0: 0, 1: {0: 60000}}` as hub 0.17 writes it */
const GET_DATA = Buffer.from('a2000001a10019ea60', 'hex')
/** what the stand-in dispatcher embeds under key 1 */
const FAKE_DATA = cbor(new Map<number, unknown>([[0, new Map([[0, 12.5]])]]))
const LEGACY_CBOR = cbor(new Map<number, unknown>([[0, new Map([[0, 99]])]]))
const LEGACY_JSON = '{"stats":{"cpu":99}}'

interface HubIdentity {
  privateKey: string
  hubKey: HubKey
}

function makeHubKey(): HubIdentity {
  const pair = generateSshKeyPair()
  const blob = Buffer.from(pair.public.split(' ')[1] ?? '', 'base64')
  return {
    privateKey: pair.private,
    hubKey: { type: 'ssh-ed25519', publicKey: blob.subarray(blob.length - 32), blob, comment: 'test hub' },
  }
}

/** Decodes requests like the real dispatcher will; answers GetData with FAKE_DATA. */
class StandInDispatcher {
  readonly calls: { frame: Buffer; session: Session }[] = []
  async handle(frame: Uint8Array, session: Session): Promise<DispatchResult> {
    this.calls.push({ frame: Buffer.from(frame), session: { ...session } })
    let request: unknown
    try {
      request = decoder.decode(frame)
    } catch {
      return { reply: encodeResponse(undefined, { kind: 'error', message: 'malformed request' }) }
    }
    const action = request instanceof Map ? request.get(0) : undefined
    if (action === 0) return { reply: encodeResponse(undefined, { kind: 'data', cbor: FAKE_DATA }) }
    return { reply: encodeResponse(undefined, { kind: 'error', message: `unknown action: ${String(action)}` }) }
  }
}

const dirs: string[] = []
const servers: SshServer[] = []
const clients: InstanceType<typeof Client>[] = []

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sonar-ssh-'))
  dirs.push(dir)
  return dir
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.end()
  for (const server of servers.splice(0)) await server.stop()
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

let hub: HubIdentity
beforeAll(() => {
  hub = makeHubKey()
})

interface Started {
  server: SshServer
  port: number
  dispatcher: StandInDispatcher
  sessions: () => number
}

async function startServer(overrides: Partial<SshServerOptions> = {}): Promise<Started> {
  const dispatcher = new StandInDispatcher()
  let sessions = 0
  const server = new SshServer({
    listen: { network: 'tcp', host: '127.0.0.1', port: 0, text: '127.0.0.1:0' },
    keys: () => [hub.hubKey],
    hostKeyPath: join(tempDir(), 'ssh_host_ed25519_key'),
    dispatcher,
    legacyPayload: async () => LEGACY_CBOR,
    protocolVersion: PROTOCOL_VERSION,
    legacyJson: async () => LEGACY_JSON,
    logger: silentLogger,
    onSession: () => {
      sessions++
    },
    ...overrides,
  })
  servers.push(server)
  await server.start()
  const port = Number(server.address.slice(server.address.lastIndexOf(':') + 1))
  return { server, port, dispatcher, sessions: () => sessions }
}

/** A client set up like the hub (spec §3.3), closed after each test. */
async function connectClient(port: number, extra: Partial<ConnectConfig> = {}): Promise<InstanceType<typeof Client>> {
  const client = await connectAsHub(port, hub.privateKey, extra)
  clients.push(client)
  return client
}

interface ShellResult {
  stdout: Buffer
  code: number | undefined
}

/** One hub-style exchange: shell without pty, write the request, close stdin, read until close. */
function shellExchange(client: InstanceType<typeof Client>, input: Buffer | undefined, endStdin = true): Promise<ShellResult> {
  return new Promise((resolve, reject) => {
    client.shell(false, (error: Error | undefined, stream: ClientChannel) => {
      if (error) {
        reject(error)
        return
      }
      const chunks: Buffer[] = []
      let code: number | undefined
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('exit', (status: number) => {
        code = status
      })
      stream.on('close', () => resolve({ stdout: Buffer.concat(chunks), code }))
      if (input) stream.write(input)
      if (endStdin) stream.end()
    })
  })
}

/** An ssh2 `(error, value)` callback API as a promise. */
function viaCallback<T>(start: (done: (error: Error | null | undefined, value?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => start((error, value) => (error ? reject(error) : resolve(value))))
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function decodeAll(bytes: Buffer): unknown[] {
  return decoder.decodeMultiple(bytes) as unknown[]
}

function replyOf(bytes: Buffer): Map<number, unknown> {
  const items = decodeAll(bytes)
  expect(items).toHaveLength(1)
  const reply = items[0]
  expect(reply).toBeInstanceOf(Map)
  return reply as Map<number, unknown>
}

describe('SSH server with the hub algorithms (ssh2 client)', () => {
  it('serves a GetData exchange: shell, CBOR request, EOF, CBOR reply, exit 0', async () => {
    const { port, dispatcher, sessions } = await startServer()
    const client = await connectClient(port)
    const result = await shellExchange(client, GET_DATA)
    expect(result.code).toBe(0)
    const reply = replyOf(result.stdout)
    expect([...reply.keys()]).toEqual([1]) // no id over SSH
    expect(reply.get(1)).toEqual(decoder.decode(FAKE_DATA))
    expect(dispatcher.calls).toHaveLength(1)
    expect(dispatcher.calls[0]?.frame.equals(GET_DATA)).toBe(true)
    expect(dispatcher.calls[0]?.session).toEqual({ transport: 'ssh', verified: true })
    expect(sessions()).toBe(1)
  })

  it('negotiates exactly curve25519-sha256 / chacha20-poly1305 / the host key type', async () => {
    const { port } = await startServer()
    const negotiated = await new Promise<NegotiatedAlgorithms>((resolve, reject) => {
      const client = new Client()
      clients.push(client)
      client.once('handshake', resolve).once('error', reject)
      client.connect({ host: '127.0.0.1', port, username: 'u', privateKey: hub.privateKey, ident: 'beszel_0.17.0' })
    })
    expect(negotiated).toMatchObject({
      kex: 'curve25519-sha256',
      serverHostKey: 'ssh-ed25519',
      cs: { cipher: 'chacha20-poly1305@openssh.com', compress: 'none' },
      sc: { cipher: 'chacha20-poly1305@openssh.com', compress: 'none' },
    })
  })

  it('offers no other algorithms: a client without curve25519-sha256 cannot connect', async () => {
    const { port } = await startServer()
    await expect(connectClient(port, { algorithms: { ...HUB_ALGORITHMS, kex: ['ecdh-sha2-nistp256'] } })).rejects.toThrow(/no matching/i)
    await expect(connectClient(port, { algorithms: { ...HUB_ALGORITHMS, cipher: ['aes128-ctr'] } })).rejects.toThrow(/no matching/i)
  })

  it('announces the banner SSH-2.0-sonar_0.18.8 (the newest dialect it speaks)', async () => {
    const { port } = await startServer()
    const line = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port })
      let text = ''
      socket.on('data', (chunk) => {
        text += chunk.toString('latin1')
        const end = text.indexOf('\r\n')
        if (end >= 0) {
          socket.destroy()
          resolve(text.slice(0, end))
        }
      })
      socket.on('error', reject)
    })
    expect(line).toBe('SSH-2.0-sonar_0.18.8')
    expect(hubVersionFromIdent(line)).toEqual({ major: 0, minor: 18, patch: 8, prerelease: [] })
  })

  it('serves several sessions on one connection, as the hub reuses it', async () => {
    const { port, sessions } = await startServer()
    const client = await connectClient(port)
    const results = await Promise.all([
      shellExchange(client, GET_DATA),
      shellExchange(client, GET_DATA),
      shellExchange(client, cbor(new Map([[0, 4]]))),
    ])
    expect(results.map((r) => r.code)).toEqual([0, 0, 0])
    expect(replyOf(results[0]!.stdout).has(1)).toBe(true)
    expect(replyOf(results[2]!.stdout).get(3)).toBe('unknown action: 4')
    const again = await shellExchange(client, GET_DATA)
    expect(replyOf(again.stdout).has(1)).toBe(true)
    expect(sessions()).toBe(4)
  })

  it('answers as soon as one whole CBOR item arrived, even if stdin stays open', async () => {
    const { port, dispatcher } = await startServer()
    const client = await connectClient(port)
    // Trailing bytes after the item are not part of the request.
    const result = await shellExchange(client, Buffer.concat([GET_DATA, Buffer.from([0xa1])]), false)
    expect(result.code).toBe(0)
    expect(replyOf(result.stdout).has(1)).toBe(true)
    expect(dispatcher.calls[0]?.frame.equals(GET_DATA)).toBe(true)
  })

  it('a request split across many writes is reassembled', async () => {
    const { port, dispatcher } = await startServer()
    const client = await connectClient(port)
    const result = await new Promise<ShellResult>((resolve, reject) => {
      client.shell(false, (error: Error | undefined, stream: ClientChannel) => {
        if (error) return reject(error)
        const chunks: Buffer[] = []
        let code: number | undefined
        stream.on('data', (c: Buffer) => chunks.push(c))
        stream.on('exit', (status: number) => (code = status))
        stream.on('close', () => resolve({ stdout: Buffer.concat(chunks), code }))
        let i = 0
        const step = (): void => {
          if (i < GET_DATA.length) {
            stream.write(GET_DATA.subarray(i, i + 1))
            i++
            setTimeout(step, 5)
          }
        }
        step()
      })
    })
    expect(result.code).toBe(0)
    expect(replyOf(result.stdout).has(1)).toBe(true)
    expect(dispatcher.calls[0]?.frame.equals(GET_DATA)).toBe(true)
  })

  it('undecodable input gets an error answer and exit status 0', async () => {
    const { port } = await startServer()
    const client = await connectClient(port)
    // 0xa2 0x00: a map cut short, then EOF
    const truncated = await shellExchange(client, Buffer.from([0xa2, 0x00]))
    expect(truncated.code).toBe(0)
    expect(replyOf(truncated.stdout).get(3)).toBe('malformed request')
    // reserved additional information 28: not CBOR at all
    const garbage = await shellExchange(client, Buffer.from([0x1c, 0x01]), false)
    expect(garbage.code).toBe(0)
    expect(replyOf(garbage.stdout).get(3)).toBe('malformed request')
    const empty = await shellExchange(client, undefined)
    expect(empty.code).toBe(0)
    expect(replyOf(empty.stdout).get(3)).toBe('no request received')
  })

  it('a request over the size limit is refused with an error answer', async () => {
    const { port, dispatcher } = await startServer({ maxRequestBytes: 1024 })
    const client = await connectClient(port)
    const big = cbor(new Map<number, unknown>([[0, 0], [1, Buffer.alloc(4096)]]))
    const result = await shellExchange(client, big)
    expect(result.code).toBe(0)
    expect(replyOf(result.stdout).get(3)).toBe('request too large')
    expect(dispatcher.calls).toHaveLength(0)
  })

  it('a session whose request never comes is answered after the request timeout', async () => {
    const { port } = await startServer({ requestTimeoutMs: 200 })
    const client = await connectClient(port)
    const result = await shellExchange(client, undefined, false)
    expect(result.code).toBe(0)
    expect(replyOf(result.stdout).get(3)).toBe('no request received')
  })
})

describe('SSH server refusals', () => {
  it('refuses a key that is not in KEY', async () => {
    const { port, sessions } = await startServer()
    const stranger = makeHubKey()
    await expect(connectClient(port, { privateKey: stranger.privateKey })).rejects.toMatchObject({ level: 'client-authentication' })
    expect(sessions()).toBe(0)
  })

  it('refuses password and keyboard-interactive authentication', async () => {
    const lines: string[] = []
    const { port, sessions } = await startServer({ logger: createLogger('debug', { write: (line: string) => lines.push(line) }) })
    const keyboard: KeyboardInteractiveAuthMethod = {
      type: 'keyboard-interactive',
      username: 'u',
      prompt: (_name, _instructions, _lang, _prompts, finish) => finish(['hunter2']),
    }
    await expect(connectClient(port, { privateKey: undefined, password: 'hunter2' })).rejects.toMatchObject({
      level: 'client-authentication',
    })
    await expect(
      connectClient(port, {
        privateKey: undefined,
        authHandler: [keyboard],
      }),
    ).rejects.toMatchObject({ level: 'client-authentication' })
    expect(lines.some((line) => line.includes('authentication method refused') && line.includes('method=password'))).toBe(true)
    expect(lines.some((line) => line.includes('authentication method refused') && line.includes('method=keyboard-interactive'))).toBe(true)
    expect(lines.join('')).not.toContain('hunter2')
    expect(sessions()).toBe(0)
  })

  it('refuses a pty', async () => {
    const { port, sessions } = await startServer()
    const client = await connectClient(port)
    await expect(viaCallback((done) => client.shell({ term: 'xterm' }, done))).rejects.toThrow(/pseudo-terminal/)
    expect(sessions()).toBe(0)
  })

  it('refuses exec, subsystems and sftp', async () => {
    const { port, sessions, dispatcher } = await startServer()
    const client = await connectClient(port)
    await expect(viaCallback((done) => client.exec('uname -a', done))).rejects.toThrow(/exec/i)
    await expect(viaCallback((done) => client.subsys('netconf', done))).rejects.toThrow(/subsystem/i)
    await expect(viaCallback((done) => client.sftp(done))).rejects.toThrow()
    expect(sessions()).toBe(0)
    expect(dispatcher.calls).toHaveLength(0)
    // The connection is still good for the real protocol afterwards.
    expect((await shellExchange(client, GET_DATA)).code).toBe(0)
  })

  it('refuses port forwarding in both directions', async () => {
    const { port } = await startServer()
    const client = await connectClient(port)
    // direct-tcpip (ssh -L): would let the hub key reach the agent's network
    await expect(viaCallback((done) => client.forwardOut('127.0.0.1', 1234, '127.0.0.1', port, done))).rejects.toThrow()
    // tcpip-forward (ssh -R)
    await expect(viaCallback((done) => client.forwardIn('127.0.0.1', 0, done))).rejects.toThrow()
    // streamlocal (ssh -L/-R with unix sockets)
    await expect(viaCallback((done) => client.openssh_forwardOutStreamLocal('/run/docker.sock', done))).rejects.toThrow()
    await expect(viaCallback((done) => client.openssh_forwardInStreamLocal(join(tempDir(), 'fwd.sock'), done))).rejects.toThrow()
  })

  it('closes a connection that does not authenticate in time', async () => {
    const { port } = await startServer({ authTimeoutMs: 300 })
    const closed = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port })
      socket.on('connect', () => socket.write('SSH-2.0-beszel_0.17.0\r\n'))
      socket.on('data', () => undefined)
      socket.on('error', () => undefined)
      socket.on('close', () => resolve(true))
      setTimeout(() => resolve(false), 5_000)
    })
    expect(closed).toBe(true)
  })

  it('closes an idle connection after the idle timeout', async () => {
    const { port } = await startServer({ idleTimeoutMs: 400 })
    const client = await connectClient(port)
    const closedAfter = await new Promise<number>((resolve) => {
      const started = Date.now()
      client.on('close', () => resolve(Date.now() - started))
    })
    expect(closedAfter).toBeGreaterThanOrEqual(300)
    expect(closedAfter).toBeLessThan(5_000)
  })
})

describe('SSH pre-auth flood', () => {
  /** A peer that connects and never authenticates; with `banner` it gets as far as ssh2's handshake. */
  function openStalled(port: number, localAddress: string, banner: boolean): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, localAddress })
      socket.on('error', () => undefined) // the server drops it sooner or later
      socket.resume() // reads (and ignores) what the server sends, so its close is seen
      socket.once('connect', () => {
        if (banner) socket.write('SSH-2.0-flood\r\n')
        resolve(socket)
      })
      socket.once('error', reject)
    })
  }

  async function flood(port: number, count: number, sources: string[]): Promise<Socket[]> {
    const sockets: Socket[] = []
    for (let i = 0; i < count; i++) sockets.push(await openStalled(port, sources[i % sources.length] ?? '127.0.0.1', i % 2 === 0))
    return sockets
  }

  /** A hub client connecting after the flood: connect, authenticate, one GetData; the time it took. */
  async function hubExchange(port: number): Promise<{ ms: number; result: ShellResult }> {
    const started = Date.now()
    const client = await connectClient(port)
    const result = await shellExchange(client, GET_DATA)
    return { ms: Date.now() - started, result }
  }

  const closeAll = (sockets: Socket[]): void => sockets.forEach((socket) => socket.destroy())
  const isClosed = (socket: Socket): boolean => socket.destroyed || socket.readyState === 'closed'

  /** Waits until the server holds what `expected` says (accepts and drops are asynchronous). */
  async function serverHolds(server: SshServer, expected: { total: number; unauthenticated: number }): Promise<void> {
    const deadline = Date.now() + 5_000
    while (Date.now() < deadline) {
      const counts = server.connectionCounts
      if (counts.total === expected.total && counts.unauthenticated === expected.unauthenticated) return
      await sleep(10)
    }
    expect(server.connectionCounts).toEqual(expected)
  }

  /** Waits until the first `count` sockets are closed by the server and the rest still open. */
  async function oldestClosed(sockets: Socket[], count: number): Promise<void> {
    const deadline = Date.now() + 5_000
    const state = () => sockets.map((socket) => (isClosed(socket) ? 'closed' : 'open'))
    const want = sockets.map((_, i) => (i < count ? 'closed' : 'open'))
    while (Date.now() < deadline && state().join() !== want.join()) await sleep(10)
    expect(state()).toEqual(want)
  }

  /** Long enough for the server to have read a banner written on connect (loopback). */
  const BANNER_SEEN_MS = 50

  /**
   * `count` connections spread over `sources`, each one the server drops opened again at once (a
   * churning flood); with `banner`, each sends its identification first.
   */
  function churn(port: number, count: number, sources: string[], banner: boolean): { stop: () => void; opened: () => number } {
    let running = true
    let opened = 0
    const live = new Set<Socket>()
    const open = (localAddress: string): void => {
      if (!running) return
      opened += 1
      const socket = connect({ host: '127.0.0.1', port, localAddress })
      live.add(socket)
      socket.on('error', () => undefined)
      socket.resume()
      if (banner) socket.once('connect', () => socket.write('SSH-2.0-flood\r\n'))
      socket.once('close', () => {
        live.delete(socket)
        setImmediate(() => open(localAddress))
      })
    }
    for (let i = 0; i < count; i++) open(sources[i % sources.length] ?? '127.0.0.1')
    return {
      stop: () => {
        running = false
        for (const socket of live) socket.destroy()
      },
      opened: () => opened,
    }
  }

  for (const banner of [false, true]) {
    const what = banner ? 'sending its identification' : 'silent'
    it(`ssh-preauth-flood: a churning flood (${what}) that reopens every dropped connection at once, from 2 addresses, does not lock the hub out`, async () => {
      const { port } = await startServer()
      const flooding = churn(port, 48, ['127.0.0.2', '127.0.0.3'], banner)
      try {
        await sleep(500)
        const before = flooding.opened()
        const { ms, result } = await hubExchange(port)
        console.log(`ssh-preauth-flood: the hub got its GetData answer ${ms} ms into a churning ${what} flood (${flooding.opened()} connections opened so far)`)
        expect(result.code).toBe(0)
        expect(replyOf(result.stdout).has(1)).toBe(true)
        expect(ms).toBeLessThan(5_000)
        // the flood really churned while the hub logged in
        expect(flooding.opened()).toBeGreaterThan(before)
      } finally {
        flooding.stop()
      }
    })
  }

  const EIGHT_ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7', '127.0.0.8', '127.0.0.9']

  it('ssh-preauth-flood: 64 never-authenticating connections from 8 addresses do not lock the hub out', async () => {
    const { port, server } = await startServer()
    const sockets = await flood(port, 64, EIGHT_ADDRESSES)
    try {
      // all unauthenticated slots taken before the hub arrives
      await serverHolds(server, { total: 16, unauthenticated: 16 })
      const { ms, result } = await hubExchange(port)
      console.log(`ssh-preauth-flood: the hub got its GetData answer ${ms} ms after 64 stalled connections from 8 addresses`)
      expect(result.code).toBe(0)
      expect(replyOf(result.stdout).has(1)).toBe(true)
      expect(ms).toBeLessThan(5_000)
    } finally {
      closeAll(sockets)
    }
  })

  it("ssh-preauth-flood: a flood from the hub's own address (loopback) does not lock it out either", async () => {
    const { port, server } = await startServer()
    const sockets = await flood(port, 64, ['127.0.0.1'])
    try {
      await serverHolds(server, { total: 8, unauthenticated: 8 })
      const { ms, result } = await hubExchange(port)
      console.log(`ssh-preauth-flood: the hub got its GetData answer ${ms} ms after 64 stalled connections from its own address`)
      expect(result.code).toBe(0)
      expect(replyOf(result.stdout).has(1)).toBe(true)
      expect(ms).toBeLessThan(5_000)
    } finally {
      closeAll(sockets)
    }
  })

  it('ssh-preauth-flood: full unauthenticated slots drop the oldest connection, not the newcomer', async () => {
    const { port, server } = await startServer({ maxUnauthenticated: 4 })
    const sockets: Socket[] = []
    try {
      // all as far as their identification, so only age decides
      for (let i = 0; i < 6; i++) {
        sockets.push(await openStalled(port, EIGHT_ADDRESSES[i] ?? '127.0.0.1', true))
        await serverHolds(server, { total: Math.min(i + 1, 4), unauthenticated: Math.min(i + 1, 4) })
        await sleep(BANNER_SEEN_MS)
      }
      await oldestClosed(sockets, 2)
    } finally {
      closeAll(sockets)
    }
  })

  it('ssh-preauth-flood: a silent connection goes before one that sent its identification, whatever their age', async () => {
    const { port, server } = await startServer({ maxUnauthenticated: 4 })
    const spoke = await openStalled(port, '127.0.0.2', true)
    await sleep(BANNER_SEEN_MS)
    const silent: Socket[] = []
    try {
      for (let i = 0; i < 5; i++) {
        silent.push(await openStalled(port, EIGHT_ADDRESSES[(i % 7) + 1] ?? '127.0.0.1', false))
        await serverHolds(server, { total: Math.min(i + 2, 4), unauthenticated: Math.min(i + 2, 4) })
      }
      // the two oldest silent ones made room; the oldest connection of all, which spoke, stays
      await oldestClosed(silent, 2)
      expect(isClosed(spoke)).toBe(false)
    } finally {
      closeAll([spoke, ...silent])
    }
  })

  it('ssh-preauth-flood: one address holds at most its share; its own oldest go, other addresses keep theirs', async () => {
    const { port, server } = await startServer({ maxConnectionsPerSource: 3 })
    const other = await openStalled(port, '127.0.0.3', true)
    const sockets: Socket[] = []
    try {
      await serverHolds(server, { total: 1, unauthenticated: 1 })
      for (let i = 0; i < 5; i++) {
        sockets.push(await openStalled(port, '127.0.0.2', true))
        await serverHolds(server, { total: 1 + Math.min(i + 1, 3), unauthenticated: 1 + Math.min(i + 1, 3) })
        await sleep(BANNER_SEEN_MS)
      }
      await oldestClosed(sockets, 2)
      expect(isClosed(other)).toBe(false)
    } finally {
      closeAll([other, ...sockets])
    }
  })

  it('ssh-preauth-flood: authenticated hub connections are never dropped to make room', async () => {
    const { port, server } = await startServer({ maxConnectionsPerSource: 2 })
    const first = await connectClient(port)
    const second = await connectClient(port)
    await serverHolds(server, { total: 2, unauthenticated: 0 })
    // both slots of 127.0.0.1 are authenticated: a third connection from there is refused
    await expect(connectClient(port)).rejects.toThrow()
    const sockets = await flood(port, 40, EIGHT_ADDRESSES)
    try {
      await serverHolds(server, { total: 18, unauthenticated: 16 })
      for (const client of [first, second]) expect((await shellExchange(client, GET_DATA)).code).toBe(0)
    } finally {
      closeAll(sockets)
    }
  })

  it('ssh-preauth-flood: the authentication deadline counts from accept, also for a peer that never sends its banner', async () => {
    const { port, server } = await startServer({ authTimeoutMs: 300 })
    const started = Date.now()
    const silent = await openStalled(port, '127.0.0.2', false)
    const closedAfter = await new Promise<number>((resolve) => silent.once('close', () => resolve(Date.now() - started)))
    expect(closedAfter).toBeGreaterThanOrEqual(250)
    expect(closedAfter).toBeLessThan(5_000)
    await serverHolds(server, { total: 0, unauthenticated: 0 })
    // an authenticated connection outlives the deadline
    const client = await connectClient(port)
    await sleep(600)
    expect((await shellExchange(client, GET_DATA)).code).toBe(0)
  })
})

describe('SSH server host key and lifecycle', () => {
  function hostKeyOf(port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      let seen = ''
      const client = new Client()
      clients.push(client)
      client
        .once('ready', () => resolve(seen))
        .once('error', reject)
        .connect({
          host: '127.0.0.1',
          port,
          username: 'u',
          privateKey: hub.privateKey,
          algorithms: HUB_ALGORITHMS,
          hostVerifier: (key: Buffer) => {
            seen = key.toString('base64')
            return true
          },
        })
    })
  }

  it('keeps the same Ed25519 host key across restarts (stored 0600 in the data dir)', async () => {
    const path = join(tempDir(), 'ssh_host_ed25519_key')
    const first = await startServer({ hostKeyPath: path })
    const key1 = await hostKeyOf(first.port)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(readFileSync(path, 'utf8')).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----/)
    await first.server.stop()

    const second = await startServer({ hostKeyPath: path })
    const key2 = await hostKeyOf(second.port)
    expect(key2).toBe(key1)
    expect(`ssh-ed25519 ${key2}`).toBe(second.server.hostKey?.publicKey)
    expect(second.server.hostKey?.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/)
  })

  it('works with an in-memory host key when there is no data dir', async () => {
    const { port } = await startServer({ hostKeyPath: undefined })
    const client = await connectClient(port)
    expect((await shellExchange(client, GET_DATA)).code).toBe(0)
  })

  it('host-key-leading-zero: keys ssh2 generates unreadable are regenerated, never fatal', async () => {
    // ssh2 drops a leading zero byte of about 1 in 200 Ed25519 keys it generates; 600 keys make
    // hitting that case very likely, and every one must still come back as a usable key.
    for (let i = 0; i < 600; i++) {
      const key = await loadHostKey(undefined)
      expect(utils.parseKey(key.privateKey)).not.toBeInstanceOf(Error)
    }
  })

  it('replaces an unreadable host key file and tightens loose permissions', async () => {
    const dir = tempDir()
    const bad = join(dir, 'bad_key')
    writeFileSync(bad, 'not a key', { mode: 0o600 })
    const replaced = await loadHostKey(bad)
    expect(replaced.type).toBe('ssh-ed25519')
    expect(replaced.path).toBe(bad)
    expect((await loadHostKey(bad)).publicKey).toBe(replaced.publicKey)

    const loose = join(dir, 'loose_key')
    writeFileSync(loose, generateSshKeyPair().private, { mode: 0o644 })
    await loadHostKey(loose)
    expect(statSync(loose).mode & 0o777).toBe(0o600)
  })

  it('starts and stops repeatedly; stop closes live connections; start twice is a no-op', async () => {
    const started = await startServer({ listen: { network: 'tcp', host: '127.0.0.1', port: 0, text: '127.0.0.1:0' } })
    const { server } = started
    await server.start()
    const client = await connectClient(started.port)
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()))
    await server.stop()
    await closed
    expect(server.isRunning).toBe(false)
    await server.stop()
    for (let i = 0; i < 3; i++) {
      await server.start()
      const port = Number(server.address.slice(server.address.lastIndexOf(':') + 1))
      const again = await connectClient(port)
      expect((await shellExchange(again, GET_DATA)).code).toBe(0)
      await server.stop()
    }
    // start/stop issued back to back settle in order
    await Promise.all([server.start(), server.stop(), server.start()])
    expect(server.isRunning).toBe(true)
  })

  it('a port in use makes start() reject, and a later start() can succeed', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen({ host: '127.0.0.1', port: 0 }, resolve))
    const port = (blocker.address() as { port: number }).port
    const server = new SshServer({
      listen: { network: 'tcp', host: '127.0.0.1', port, text: `127.0.0.1:${port}` },
      keys: () => [hub.hubKey],
      hostKeyPath: undefined,
      dispatcher: new StandInDispatcher(),
      legacyPayload: async () => LEGACY_CBOR,
      protocolVersion: PROTOCOL_VERSION,
      logger: silentLogger,
    })
    servers.push(server)
    await expect(server.start()).rejects.toMatchObject({ code: 'EADDRINUSE' })
    expect(server.isRunning).toBe(false)
    await new Promise<void>((resolve) => blocker.close(() => resolve()))
    await server.start()
    expect(server.address).toBe(`127.0.0.1:${port}`)
  })

  it('reports the real bound address for IPv6 and all-interface listens', async () => {
    const v6 = await startServer({ listen: { network: 'tcp6', host: '::1', port: 0, text: '[::1]:0' } })
    expect(v6.server.address).toMatch(/^\[::1\]:\d+$/)
    const client = await connectClient(v6.port, { host: '::1' })
    expect((await shellExchange(client, GET_DATA)).code).toBe(0)
    const any = await startServer({ listen: { network: 'tcp', port: 0, text: ':0' } })
    expect(any.server.address).toMatch(/^(\[::\]|0\.0\.0\.0):\d+$/)
    expect(any.server.options.listen.text).toBe(':0')
  })

  it('listens on a unix socket: replaces a stale socket file, mode 0660, removed on stop', async () => {
    const path = join(tempDir(), 'agent.sock')
    // A socket file left behind by a killed process.
    try {
      const listenThenDie = `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`
      execFileSync(process.execPath, ['-e', listenThenDie])
    } catch {
      // killed on purpose
    }
    expect(statSync(path).isSocket()).toBe(true)
    const { server } = await startServer({ listen: { network: 'unix', path, text: path } })
    expect(server.address).toBe(path)
    expect(statSync(path).mode & 0o777).toBe(0o660)
    const client = await connectClient(0, { host: undefined, port: undefined, sock: connect({ path }) })
    const result = await shellExchange(client, GET_DATA)
    expect(result.code).toBe(0)
    expect(replyOf(result.stdout).has(1)).toBe(true)
    await server.stop()
    expect(existsSync(path)).toBe(false)
  })

  it('does not steal a unix socket another process is serving, nor delete a regular file', async () => {
    const dir = tempDir()
    const live = join(dir, 'live.sock')
    const other = createServer()
    await new Promise<void>((resolve) => other.listen(live, resolve))
    try {
      const server = new SshServer({
        listen: { network: 'unix', path: live, text: live },
        keys: () => [hub.hubKey],
        hostKeyPath: undefined,
        dispatcher: new StandInDispatcher(),
        legacyPayload: async () => LEGACY_CBOR,
        protocolVersion: PROTOCOL_VERSION,
        logger: silentLogger,
      })
      await expect(server.start()).rejects.toThrow(/in use/)
      const file = join(dir, 'file')
      writeFileSync(file, 'keep me')
      const onFile = new SshServer({ ...server.options, listen: { network: 'unix', path: file, text: file } })
      await expect(onFile.start()).rejects.toThrow(/not a socket/)
      expect(readFileSync(file, 'utf8')).toBe('keep me')
    } finally {
      await new Promise<void>((resolve) => other.close(() => resolve()))
    }
  })

  it('also emits a session event for each shell session', async () => {
    const { server, port } = await startServer()
    let events = 0
    server.on('session', () => events++)
    const client = await connectClient(port)
    await shellExchange(client, GET_DATA)
    expect(events).toBe(1)
  })

  it('importing the SSH server does not load ssh2 until start() (footprint)', () => {
    const module = join(process.cwd(), 'ts/transport/ssh-server.ts')
    const script = [
      `import { createRequire } from 'node:module'`,
      `const { SshServer } = await import(${JSON.stringify(module)})`,
      `const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('/node_modules/ssh2/'))`,
      `process.stdout.write(String(typeof SshServer) + ' ' + loaded.length)`,
    ].join('\n')
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' })
    expect(out).toBe('function 0')
  })

  it('rejects a protocol version hubs would treat as push-only', () => {
    const base: SshServerOptions = {
      listen: { network: 'tcp', port: 0, text: ':0' },
      keys: () => [],
      hostKeyPath: undefined,
      dispatcher: new StandInDispatcher(),
      legacyPayload: async () => LEGACY_CBOR,
      protocolVersion: PROTOCOL_VERSION,
      logger: silentLogger,
    }
    expect(() => new SshServer({ ...base, protocolVersion: '0.12.9' })).toThrow(/0.13.0/)
    expect(() => new SshServer({ ...base, protocolVersion: 'v0.17.0' })).toThrow()
    expect(new SshServer({ ...base, protocolVersion: '0.18.8' }).banner).toBe('SSH-2.0-sonar_0.18.8')
  })
})

describe('legacy hubs (spec §3.4 version table)', () => {
  it('a 0.12 hub gets bare CBOR CombinedData pushed, then the payload again when it sends nothing', async () => {
    const { port, dispatcher } = await startServer()
    const client = await connectClient(port, { ident: 'beszel_0.12.3' })
    const result = await shellExchange(client, undefined)
    expect(result.code).toBe(0)
    const items = decodeAll(result.stdout)
    expect(items).toEqual([decoder.decode(LEGACY_CBOR), decoder.decode(LEGACY_CBOR)])
    expect(dispatcher.calls).toHaveLength(0)
  })

  it('a 0.12 hub that does send a request gets the push, then the answer', async () => {
    const { port } = await startServer()
    const client = await connectClient(port, { ident: 'beszel_0.13.0-beta.1' }) // pre-release sorts below 0.13.0
    const result = await shellExchange(client, GET_DATA)
    const items = decodeAll(result.stdout)
    expect(items).toHaveLength(2)
    expect(items[0]).toEqual(decoder.decode(LEGACY_CBOR))
    expect((items[1] as Map<number, unknown>).has(1)).toBe(true)
  })

  it('a hub with an unparsable banner gets JSON with a trailing newline', async () => {
    const { port } = await startServer()
    const client = await connectClient(port, { ident: 'OpenSSH_8.0' })
    const result = await shellExchange(client, undefined)
    expect(result.code).toBe(0)
    expect(result.stdout.toString('utf8')).toBe(`${LEGACY_JSON}\n${LEGACY_JSON}\n`)
  })

  it('a legacy push that cannot be produced ends with exit status 1', async () => {
    const { port } = await startServer({
      legacyPayload: async () => {
        throw new Error('collector down')
      },
    })
    const client = await connectClient(port, { ident: 'beszel_0.12.0' })
    const result = await shellExchange(client, undefined)
    expect(result.code).toBe(1)
    expect(result.stdout.length).toBe(0)
  })

  it('parses hub versions like blang/semver', () => {
    const mode = (ident: string) => hubMode(hubVersionFromIdent(ident))
    expect(mode('SSH-2.0-beszel_0.17.0')).toBe('request')
    expect(mode('SSH-2.0-beszel_0.13.0')).toBe('request')
    expect(mode('SSH-2.0-beszel_1.0.0')).toBe('request')
    expect(mode('SSH-2.0-beszel_0.13.0-beta')).toBe('legacy-cbor')
    expect(mode('SSH-2.0-beszel_0.12.0')).toBe('legacy-cbor')
    expect(mode('SSH-2.0-beszel_0.12.0-rc.1')).toBe('legacy-json')
    expect(mode('SSH-2.0-beszel_0.11.1')).toBe('legacy-json')
    expect(mode('SSH-2.0-OpenSSH_8.0')).toBe('legacy-json')
    expect(mode('SSH-2.0-ssh2js1.17.0')).toBe('legacy-json')
    expect(mode('SSH-2.0-beszel_0.17.0 extra')).toBe('legacy-json')
    expect(mode('SSH-2.0-beszel_v0.17.0')).toBe('legacy-json')
    expect(mode('SSH-2.0-beszel_0.17.0\r\n')).toBe('request')
    const v = (text: string) => parseSemver(text)!
    expect(compareSemver(v('1.0.0-alpha'), v('1.0.0-alpha.1'))).toBe(-1)
    expect(compareSemver(v('1.0.0-alpha.1'), v('1.0.0-alpha.beta'))).toBe(-1)
    expect(compareSemver(v('1.0.0-beta.2'), v('1.0.0-beta.11'))).toBe(-1)
    expect(compareSemver(v('1.0.0-rc.1'), v('1.0.0'))).toBe(-1)
    expect(compareSemver(v('1.0.0+build'), v('1.0.0'))).toBe(0)
    expect(parseSemver('01.0.0')).toBeUndefined()
  })
})

describe('OpenSSH client', () => {
  function keyFile(): string {
    const path = join(tempDir(), 'hub_ed25519')
    writeFileSync(path, hub.privateKey, { mode: 0o600 })
    return path
  }

  interface SshRun {
    code: number | null
    stdout: Buffer
    stderr: string
  }

  function runSsh(port: number, args: string[], input: Buffer | undefined): Promise<SshRun> {
    return new Promise((resolve, reject) => {
      const child = spawn(
        '/usr/bin/ssh',
        [
          '-F', '/dev/null',
          '-T',
          '-i', keyFile(),
          '-o', 'IdentitiesOnly=yes',
          '-o', 'BatchMode=yes',
          '-o', 'StrictHostKeyChecking=no',
          '-o', 'UserKnownHostsFile=/dev/null',
          '-o', 'LogLevel=ERROR',
          '-o', 'KexAlgorithms=curve25519-sha256',
          '-o', 'Ciphers=chacha20-poly1305@openssh.com',
          '-o', 'MACs=hmac-sha2-256-etm@openssh.com',
          '-p', String(port),
          'u@127.0.0.1',
          ...args,
        ],
        { stdio: ['pipe', 'pipe', 'pipe'] },
      )
      const out: Buffer[] = []
      let err = ''
      child.stdout.on('data', (c: Buffer) => out.push(c))
      child.stderr.on('data', (c: Buffer) => (err += c.toString()))
      child.on('error', reject)
      child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }))
      if (input) child.stdin.write(input)
      child.stdin.end()
    })
  }

  it('drives the GetData exchange (OpenSSH banner is unparsable: JSON push first, then the answer)', async () => {
    const { port, dispatcher } = await startServer()
    const result = await runSsh(port, [], GET_DATA)
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const newline = result.stdout.indexOf(0x0a)
    expect(result.stdout.subarray(0, newline).toString('utf8')).toBe(LEGACY_JSON)
    const reply = replyOf(result.stdout.subarray(newline + 1))
    expect(reply.get(1)).toEqual(decoder.decode(FAKE_DATA))
    expect(dispatcher.calls[0]?.frame.equals(GET_DATA)).toBe(true)
  })

  it('refuses a command (exec)', async () => {
    const { port, dispatcher } = await startServer()
    const result = await runSsh(port, ['uname', '-a'], undefined)
    expect(result.code).not.toBe(0)
    expect(result.stdout.length).toBe(0)
    expect(dispatcher.calls).toHaveLength(0)
  })

  it('refuses a key that is not in KEY', async () => {
    const { port } = await startServer({ keys: () => [makeHubKey().hubKey] })
    const result = await runSsh(port, [], GET_DATA)
    expect(result.code).toBe(255)
    expect(result.stderr).toMatch(/Permission denied \(publickey\)/)
  })

  it('real components: OpenSSH gets the snapshot JSON push, then real CombinedData from the Dispatcher', async () => {
    const collector = openCollector({})
    const { port } = await startServer({
      dispatcher: realDispatcher(collector),
      legacyPayload: () => collector.collect({ cacheTimeMs: 60_000 }),
      legacyJson: async () => JSON.stringify(await collector.snapshot({ cacheTimeMs: 60_000 })),
    })
    const result = await runSsh(port, [], GET_DATA)
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const newline = result.stdout.indexOf(0x0a)
    const pushed = JSON.parse(result.stdout.subarray(0, newline).toString('utf8')) as { stats: { cpu: number }; info: { v: string } }
    // a pre-0.13 hub (no key 1, ever) gets the v0.17 shape
    expect(pushed.info.v).toBe('0.17.0')
    expect(typeof pushed.stats.cpu).toBe('number')
    expectCombinedData(replyOf(result.stdout.subarray(newline + 1)).get(1), '0.17.0')
  })
})

function realDispatcher(collector: Collector): Dispatcher {
  return new Dispatcher({
    collector,
    keys: () => [hub.hubKey],
    token: () => undefined,
    fingerprint: () => 'f'.repeat(48),
    hostname: () => 'test-host',
    listenPort: () => '45876',
    systemName: () => undefined,
    logger: silentLogger,
  })
}

/** CombinedData {0: Stats, 1: Info, …} with Info key 10 = the dialect's agent version (spec §6). */
function expectCombinedData(value: unknown, version: '0.17.0' | '0.18.8'): void {
  expect(value).toBeInstanceOf(Map)
  const data = value as Map<number, unknown>
  expect(data.get(0)).toBeInstanceOf(Map)
  const info = data.get(1) as Map<number, unknown>
  expect(info).toBeInstanceOf(Map)
  expect(info.get(10)).toBe(version)
}

describe('SSH server with the real Dispatcher and native collector', () => {
  it('GetData (0.17 and 0.18 request shapes) returns real CombinedData; CheckFingerprint is unsupported; junk gets an error', async () => {
    const collector = openCollector({})
    // KEY as the agent reads it: an authorized_keys line
    const line = `ssh-ed25519 ${hub.hubKey.blob.toString('base64')} hub@test`
    const keys = parseAuthorizedKeys(`# hub\n${line}\n`)
    const { port, sessions } = await startServer({ keys: () => keys, dispatcher: realDispatcher(collector) })
    const client = await connectClient(port)

    const v17 = await shellExchange(client, GET_DATA)
    expect(v17.code).toBe(0)
    const reply17 = replyOf(v17.stdout)
    expect([...reply17.keys()]).toEqual([1])
    expectCombinedData(reply17.get(1), '0.17.0')

    const v18 = await shellExchange(client, cbor(new Map<number, unknown>([[0, 0], [1, new Map<number, unknown>([[0, 1000], [1, true]])]])))
    expect(v18.code).toBe(0)
    expectCombinedData(replyOf(v18.stdout).get(1), '0.18.8')

    // spec §3.4: `a1 03 72 "unsupported action"`
    const checkFingerprint = cbor(new Map<number, unknown>([[0, 1], [1, new Map<number, unknown>([[0, Buffer.alloc(64)]])]]))
    const check = await shellExchange(client, checkFingerprint)
    expect(check.code).toBe(0)
    expect(check.stdout.equals(Buffer.concat([Buffer.from('a10372', 'hex'), Buffer.from('unsupported action')]))).toBe(true)

    const junk = await shellExchange(client, Buffer.from([0xa2, 0x00]))
    expect(junk.code).toBe(0)
    expect(String(replyOf(junk.stdout).get(3))).toMatch(/^invalid request/)
    expect(sessions()).toBe(4)
  })
})

describe('CborItemScanner', () => {
  it('finds the end of nested, indefinite and tagged items fed byte by byte', () => {
    const cases: Buffer[] = [
      GET_DATA,
      Buffer.from('9f01820203ff', 'hex'), // [_ 1, [2, 3]]
      Buffer.from('bf6161f5ff', 'hex'), // {_ "a": true}
      Buffer.from('5f42010243030405ff', 'hex'), // (_ h'0102', h'030405')
      Buffer.from('c11a514b67b0', 'hex'), // tag 1
      Buffer.from('fb3ff199999999999a', 'hex'), // 1.1
      cbor(new Map<number, unknown>([[0, 0], [1, new Map<number, unknown>([[0, 60000], [1, true]])]])),
    ]
    for (const item of cases) {
      const scanner = new CborItemScanner(1024)
      let last: ReturnType<CborItemScanner['push']> = { state: 'incomplete' }
      for (let i = 0; i < item.length; i++) {
        expect(last.state).toBe('incomplete')
        last = scanner.push(item.subarray(i, i + 1))
      }
      expect(last).toEqual({ state: 'complete', end: item.length })
    }
  })

  it('flags malformed headers, stray breaks, deep nesting and oversized claims', () => {
    expect(new CborItemScanner(64).push(Buffer.from([0x1c]))).toEqual({ state: 'invalid' })
    expect(new CborItemScanner(64).push(Buffer.from([0xff]))).toEqual({ state: 'invalid' })
    expect(new CborItemScanner(64).push(Buffer.from([0x1f]))).toEqual({ state: 'invalid' })
    expect(new CborItemScanner(1024).push(Buffer.alloc(100, 0x81))).toEqual({ state: 'invalid' })
    expect(new CborItemScanner(64).push(Buffer.from('5a7fffffff', 'hex'))).toEqual({ state: 'too-large' })
    expect(new CborItemScanner(4).push(Buffer.alloc(5))).toEqual({ state: 'too-large' })
  })
})
