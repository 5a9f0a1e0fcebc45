/**
 * The WS ⇄ SSH state machine: unit tests with a fake WebSocket link and fake SSH servers (real timers,
 * short graces), then end to end with the real agent, SSH server and test hub.
 */
import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { ConnectionManager, type SshServerLike, type WebSocketLink } from '../ts/transport/connection-manager.js'
import type { DisconnectInfo } from '../ts/transport/websocket-connection.js'
import { createLogger, silentLogger } from '../ts/log.js'
import { createPrivateKey } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Decoder } from 'cbor-x'
import ssh2, { type ClientChannel } from 'ssh2'
import { Agent } from '../ts/agent.js'
import { openCollector } from '../ts/collector.js'
import { loadConfig } from '../ts/config/config.js'
import { dataPayloadBytes, TestHub } from './hub/test-hub.js'
import { freePort } from './helpers/net.js'
import { connectAsHub, generateSshKeyPair } from './helpers/ssh.js'

const cborDecoder = new Decoder({ mapsAsObjects: false, int64AsNumber: true } as ConstructorParameters<typeof Decoder>[0])


class FakeWebSocket extends EventEmitter<{ verified: []; disconnected: [DisconnectInfo] }> implements WebSocketLink {
  started = 0
  stopped = 0
  start(): void {
    this.started += 1
  }
  async stop(): Promise<void> {
    this.stopped += 1
  }
  verify(): void {
    this.emit('verified')
  }
  drop(wasVerified = true): void {
    this.emit('disconnected', { code: 1006, reason: '', wasVerified })
  }
}

class FakeSsh implements SshServerLike {
  listening = false
  starts = 0
  stops = 0
  failStarts = 0
  readonly address = ':45876'
  onSession: () => void = () => undefined
  async start(): Promise<void> {
    this.starts += 1
    if (this.failStarts > 0) {
      this.failStarts -= 1
      throw new Error('EADDRINUSE')
    }
    this.listening = true
  }
  async stop(): Promise<void> {
    this.stops += 1
    this.listening = false
  }
}

function setup(options: { websocket?: boolean; ssh?: boolean; graceMs?: number; retryMs?: number } = {}) {
  const ws = new FakeWebSocket()
  const ssh = new FakeSsh()
  const types: number[] = []
  let factoryCalls = 0
  const manager = new ConnectionManager({
    websocket: options.websocket === false ? undefined : ws,
    ssh:
      options.ssh === false
        ? undefined
        : async (onSession) => {
            factoryCalls += 1
            ssh.onSession = onSession
            return ssh
          },
    collector: { setConnectionType: (t) => types.push(t) },
    logger: silentLogger,
    sshGraceMs: options.graceMs ?? 40,
    sshRetryMs: options.retryMs ?? 40,
  })
  return { ws, ssh, types, manager, factoryCalls: () => factoryCalls }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('ConnectionManager', () => {
  it('websocket verified within the grace: SSH never starts (ssh2 never loaded)', async () => {
    const { ws, ssh, types, manager, factoryCalls } = setup({ graceMs: 80 })
    manager.start()
    expect(ws.started).toBe(1)
    ws.verify()
    await sleep(120)
    await manager.settled()
    expect(factoryCalls()).toBe(0)
    expect(ssh.listening).toBe(false)
    expect(manager.state).toBe('websocket')
    expect(types).toEqual([0, 2])
    await manager.stop()
    expect(ws.stopped).toBe(1)
  })

  it('no verified websocket after the grace: SSH starts; a later verify stops it', async () => {
    const { ws, ssh, types, manager } = setup()
    manager.start()
    await sleep(80)
    await manager.settled()
    expect(ssh.listening).toBe(true)
    ssh.onSession()
    expect(manager.state).toBe('ssh')
    ws.verify()
    await manager.settled()
    expect(ssh.listening).toBe(false)
    expect(manager.state).toBe('websocket')
    expect(types).toEqual([0, 1, 2])
    await manager.stop()
  })

  it('websocket keeps being retried while the hub polls over SSH (no dead end)', async () => {
    const { ws, ssh, manager } = setup()
    manager.start()
    await sleep(80)
    await manager.settled()
    ssh.onSession()
    expect(manager.state).toBe('ssh')
    // the manager never stops the WebSocket link because of SSH
    expect(ws.stopped).toBe(0)
    ws.verify()
    await manager.settled()
    expect(manager.state).toBe('websocket')
    await manager.stop()
  })

  it('a verified session that drops brings SSH back after the grace', async () => {
    const { ws, ssh, types, manager } = setup()
    manager.start()
    ws.verify()
    await manager.settled()
    ws.drop(true)
    expect(manager.state).toBe('disconnected')
    expect(ssh.listening).toBe(false)
    await sleep(80)
    await manager.settled()
    expect(ssh.listening).toBe(true)
    ws.verify()
    await manager.settled()
    expect(ssh.listening).toBe(false)
    expect(types).toEqual([0, 2, 0, 2])
    await manager.stop()
  })

  it('a drop before verification does not reset the grace or the state', async () => {
    const { ws, manager } = setup({ graceMs: 5_000 })
    manager.start()
    ws.drop(false)
    expect(manager.state).toBe('disconnected')
    await manager.stop()
  })

  it('without HUB_URL the SSH server starts at once', async () => {
    const { ssh, manager } = setup({ websocket: false })
    manager.start()
    await manager.settled()
    expect(ssh.listening).toBe(true)
    await manager.stop()
    expect(ssh.listening).toBe(false)
  })

  it('DISABLE_SSH: never starts a server, whatever the websocket does', async () => {
    const { ws, types, manager } = setup({ ssh: false })
    manager.start()
    await sleep(80)
    ws.verify()
    ws.drop(true)
    await sleep(80)
    expect(manager.sshWanted).toBe(false)
    expect(types).toEqual([0, 2, 0])
    await manager.stop()
  })

  it('an SSH server that fails to start is retried', async () => {
    const { ssh, manager } = setup({ websocket: false, retryMs: 30 })
    ssh.failStarts = 2
    manager.start()
    await sleep(150)
    await manager.settled()
    expect(ssh.starts).toBe(3)
    expect(ssh.listening).toBe(true)
    await manager.stop()
  })

  it('stop stops SSH and the websocket and reports no connection', async () => {
    const { ws, ssh, types, manager } = setup()
    manager.start()
    await sleep(80)
    await manager.settled()
    ssh.onSession()
    await manager.stop()
    expect(ssh.listening).toBe(false)
    expect(ws.stopped).toBe(1)
    expect(types.at(-1)).toBe(0)
    // events after stop are ignored
    ws.verify()
    expect(manager.state).toBe('disconnected')
  })
})

describe('WebSocket ⇄ SSH end to end (real agent, real SSH server, test hub)', () => {
  it('hub refuses WS → SSH fallback serves the hub (ct 1); WS accepted → verified (ct 2) and SSH stops', async () => {
    const { Client, utils } = ssh2
    const pair = generateSshKeyPair()
    const pem = utils.parseKey(pair.private)
    if (pem instanceof Error) throw pem
    const hub = await TestHub.start({ signingKey: createPrivateKey(pem.getPrivatePEM()) })
    const agentToken = hub.token
    hub.token = 'not-yet'
    const port = await freePort()
    const dir = mkdtempSync(join(tmpdir(), 'sonar-fallback-'))
    const config = loadConfig(
      {},
      { HUB_URL: hub.url, TOKEN: agentToken, KEY: hub.publicKeyLine, LISTEN: `127.0.0.1:${port}`, DATA_DIR: dir },
      { defaultConfigFile: join(dir, 'none.yml') },
    )
    const collector = openCollector()
    const agent = new Agent({
      config,
      collector,
      fingerprint: 'f'.repeat(48),
      logger: silentLogger,
      userAgent: 'sonar-agent/test',
      healthFile: false,
      env: {},
      tuning: { backoff: { baseMs: 50, capMs: 300 }, sshGraceMs: 150 },
    })
    agent.start()
    const connect = () => connectAsHub(port, pair.private)
    try {
      let client: InstanceType<typeof Client> | undefined
      const deadline = Date.now() + 10_000
      while (!client) {
        client = await connect().catch(async () => {
          if (Date.now() > deadline) throw new Error('the SSH fallback never started')
          await sleep(50)
          return undefined
        })
      }
      const stdout = await new Promise<Buffer>((resolve, reject) => {
        client.shell(false, (error: Error | undefined, stream: ClientChannel) => {
          if (error) return reject(error)
          const chunks: Buffer[] = []
          stream.on('data', (chunk: Buffer) => chunks.push(chunk))
          stream.on('close', () => resolve(Buffer.concat(chunks)))
          stream.end(Buffer.from('a2000001a10019ea60', 'hex')) // {0: 0, 1: {0: 60000}}
        })
      })
      client.end()
      const reply = cborDecoder.decode(stdout) as Map<number, unknown>
      expect(reply.has(0)).toBe(false) // SSH: no ids
      const info = (reply.get(1) as Map<number, unknown>).get(1) as Map<number, unknown>
      expect(info.get(20)).toBe(1)
      expect(agent.manager.state).toBe('ssh')

      hub.token = agentToken
      const connection = await hub.nextAccepted()
      const data = cborDecoder.decode(dataPayloadBytes((await connection.getData(1_000)).frame)) as Map<number, unknown>
      expect((data.get(1) as Map<number, unknown>).get(20)).toBe(2)
      await agent.manager.settled()
      expect(agent.manager.state).toBe('websocket')
      await expect(connect()).rejects.toThrow(/ECONNREFUSED/)
    } finally {
      await agent.stop()
      await hub.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('log lines', () => {
  it('log-prefix-once: the state change reads "connection: disconnected → websocket", not "connection: connection: …"', async () => {
    const hub = await TestHub.start()
    const dir = mkdtempSync(join(tmpdir(), 'sonar-log-prefix-'))
    const config = loadConfig(
      {},
      { HUB_URL: hub.url, TOKEN: hub.token, KEY: hub.publicKeyLine, DISABLE_SSH: 'true', DATA_DIR: dir },
      { defaultConfigFile: join(dir, 'none.yml') },
    )
    const lines: string[] = []
    const agent = new Agent({
      config,
      collector: openCollector(),
      fingerprint: 'f'.repeat(48),
      logger: createLogger('info', { write: (line: string) => lines.push(line) }),
      userAgent: 'sonar-agent/test',
      healthFile: false,
      env: {},
    })
    agent.start()
    try {
      await (await hub.nextAccepted()).getData(60_000)
      await agent.manager.settled()
      expect(agent.manager.state).toBe('websocket')
    } finally {
      await agent.stop()
      await hub.stop()
      rmSync(dir, { recursive: true, force: true })
    }
    const changes = lines.filter((line) => line.includes('→'))
    expect(changes.map((line) => line.replace(/^\S+ /, ''))).toEqual([
      'INFO  connection: disconnected → websocket\n',
      'INFO  connection: websocket → disconnected\n',
    ])
    expect(lines.join('')).not.toMatch(/connection: connection:/)
  })
})
