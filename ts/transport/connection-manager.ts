/**
 * Chooses the transport (spec §3.6, without its dead ends): WebSocket is preferred and always being
 * retried; the SSH server runs only while no WebSocket session is verified, so a hub that cannot reach
 * us over WebSocket can still poll over SSH. Unlike the Go agent, an SSH poll never stops the WebSocket
 * retries, and a WebSocket that upgrades and is then rejected still leads to the SSH fallback.
 */
import type { Collector } from '../collector.js'
import type { Logger } from '../log.js'
import type { DisconnectInfo } from './websocket-connection.js'

/** The WebSocket side as the manager sees it (the real client, or a fake in tests). */
export interface WebSocketLink {
  on(event: 'verified', listener: () => void): unknown
  on(event: 'disconnected', listener: (info: DisconnectInfo) => void): unknown
  off(event: 'verified', listener: () => void): unknown
  off(event: 'disconnected', listener: (info: DisconnectInfo) => void): unknown
  start(): void
  stop(): Promise<void>
}

export interface SshServerLike {
  start(): Promise<void>
  stop(): Promise<void>
  readonly address: string
}

/** Builds the SSH server on first need; `onSession` reports each authenticated hub session. */
export type SshServerFactory = (onSession: () => void) => Promise<SshServerLike>

export type ConnectionState = 'disconnected' | 'websocket' | 'ssh'

/** Info.ct: 0 none, 1 SSH, 2 WebSocket. */
export type ConnectionType = 0 | 1 | 2

export interface ConnectionManagerOptions {
  /** undefined: no HUB_URL, SSH only */
  websocket?: WebSocketLink
  /** undefined: DISABLE_SSH */
  ssh?: SshServerFactory
  collector: Pick<Collector, 'setConnectionType'>
  logger: Logger
  /** how long WebSocket gets to verify (after start or a drop) before the SSH server starts */
  sshGraceMs?: number
  /** delay before trying again when the SSH server failed to start */
  sshRetryMs?: number
}

export const SSH_GRACE_MS = 10_000
export const SSH_RETRY_MS = 30_000

const CONNECTION_TYPE: Record<ConnectionState, ConnectionType> = { disconnected: 0, ssh: 1, websocket: 2 }

export class ConnectionManager {
  private current: ConnectionState = 'disconnected'
  private running = false
  private wsVerified = false
  private graceTimer: NodeJS.Timeout | undefined
  private retryTimer: NodeJS.Timeout | undefined
  private server: SshServerLike | undefined
  /** whether the SSH server should be listening */
  private wantSsh = false
  /** start/stop of the SSH server run one after another, never overlapping */
  private sshWork: Promise<void> = Promise.resolve()
  private readonly log: Logger

  private readonly onVerified = () => this.websocketVerified()
  private readonly onDisconnected = (info: DisconnectInfo) => this.websocketDropped(info)

  constructor(private readonly options: ConnectionManagerOptions) {
    this.log = options.logger
  }

  get state(): ConnectionState {
    return this.current
  }

  /** Whether the SSH server is (to be) listening. */
  get sshWanted(): boolean {
    return this.wantSsh
  }

  /** Resolves when pending SSH server starts/stops are done (tests, shutdown). */
  async settled(): Promise<void> {
    let work: Promise<void>
    do {
      work = this.sshWork
      await work
    } while (work !== this.sshWork)
  }

  start(): void {
    if (this.running) return
    this.running = true
    this.options.collector.setConnectionType(0)
    const { websocket } = this.options
    if (websocket) {
      websocket.on('verified', this.onVerified)
      websocket.on('disconnected', this.onDisconnected)
      websocket.start()
      this.armGrace()
    } else {
      this.setSsh(true)
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    this.clearTimers()
    const { websocket } = this.options
    if (websocket) {
      websocket.off('verified', this.onVerified)
      websocket.off('disconnected', this.onDisconnected)
    }
    this.wantSsh = false
    await Promise.all([websocket?.stop(), this.reconcileSsh()])
    this.transition('disconnected')
  }

  private clearTimers(): void {
    if (this.graceTimer) clearTimeout(this.graceTimer)
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.graceTimer = undefined
    this.retryTimer = undefined
  }

  /** A hub that is up verifies within a second or two; a longer wait means SSH is needed. */
  private armGrace(): void {
    if (!this.options.ssh || this.graceTimer) return
    this.graceTimer = setTimeout(() => {
      this.graceTimer = undefined
      if (this.running && !this.wsVerified) {
        this.log.info('no verified WebSocket session yet; starting the SSH server as a fallback')
        this.setSsh(true)
      }
    }, this.options.sshGraceMs ?? SSH_GRACE_MS)
    this.graceTimer.unref()
  }

  private websocketVerified(): void {
    if (!this.running) return
    this.wsVerified = true
    this.clearTimers()
    this.transition('websocket')
    this.setSsh(false)
  }

  private websocketDropped(info: DisconnectInfo): void {
    if (!this.running || !info.wasVerified) return
    this.wsVerified = false
    this.transition('disconnected')
    this.armGrace()
  }

  private sshSession(): void {
    // While WebSocket is verified the hub polls over it; a stray SSH session does not change the type.
    if (this.running && !this.wsVerified) this.transition('ssh')
  }

  private transition(next: ConnectionState): void {
    if (next === this.current) return
    // the agent gives this logger the scope "connection": the line reads "connection: ssh → websocket"
    this.log.info(`${this.current} → ${next}`)
    this.current = next
    this.options.collector.setConnectionType(CONNECTION_TYPE[next])
  }

  private setSsh(wanted: boolean): void {
    if (!this.options.ssh) return
    this.wantSsh = wanted
    void this.reconcileSsh()
  }

  /** Brings the SSH server to `wantSsh`, queued behind any start/stop in progress. */
  private reconcileSsh(): Promise<void> {
    this.sshWork = this.sshWork.then(async () => {
      const factory = this.options.ssh
      if (!factory) return
      if (this.wantSsh && !this.server) {
        let server: SshServerLike | undefined
        try {
          server = await factory(() => this.sshSession())
          await server.start()
          this.server = server
          this.log.info('SSH server listening', { address: server.address })
        } catch (error) {
          this.log.error('SSH server failed to start', { error: error instanceof Error ? error.message : String(error) })
          await server?.stop().catch(() => undefined)
          this.scheduleSshRetry()
        }
      } else if (!this.wantSsh && this.server) {
        const server = this.server
        this.server = undefined
        try {
          await server.stop()
          this.log.info('SSH server stopped', { address: server.address })
        } catch (error) {
          this.log.warn('SSH server did not stop cleanly', { error: error instanceof Error ? error.message : String(error) })
        }
      }
    })
    return this.sshWork
  }

  private scheduleSshRetry(): void {
    if (!this.running || this.retryTimer) return
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      if (this.running && this.wantSsh) void this.reconcileSsh()
    }, this.options.sshRetryMs ?? SSH_RETRY_MS)
    this.retryTimer.unref()
  }
}
