/** The WS ⇄ SSH state machine with a fake WebSocket link and fake SSH servers (real timers, short graces). */
import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { ConnectionManager, type SshServerLike, type WebSocketLink } from '../ts/transport/connection-manager.js'
import type { DisconnectInfo } from '../ts/transport/websocket-client.js'
import { silentLogger } from '../ts/log.js'

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
