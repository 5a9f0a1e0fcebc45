/**
 * The fallback SSH server the hub dials in to (spec §3): its lifecycle — the host key, ssh2's
 * server with exactly the hub's algorithms, the listener, a clean stop. A connection is
 * ssh-connection.ts, a session ssh-session.ts, the versions ssh-version.ts, the socket ssh-listen.ts.
 *
 * We own the listening socket and hand accepted sockets to ssh2 (`injectSocket`): that gives unix
 * sockets, the real bound address, a per-connection idle timeout, admission limits against
 * pre-auth floods (ssh-admission.ts) and a clean stop() without reaching into ssh2's internals.
 * ssh2 itself is imported on the first start().
 */
import { EventEmitter } from 'node:events'
import { createServer, type Server as NetServer, type Socket } from 'node:net'
import type { Connection, ServerHostKeyAlgorithm } from 'ssh2'
import type { ListenAddress } from '../config/config.js'
import { loadHostKey, type HostKey } from '../identity/host-key.js'
import { Progress, SshAdmission, type AdmissionLimits } from './ssh-admission.js'
import { serveConnection, type ConnectionOptions } from './ssh-connection.js'
import { bindListener, removeSocketFile } from './ssh-listen.js'
import { checkAnnouncedVersion, sshIdent } from './ssh-version.js'

/** Exactly the hub's lists (spec §3.2); anything else would only widen the attack surface. */
export const SSH_ALGORITHMS = {
  kex: ['curve25519-sha256'],
  cipher: ['chacha20-poly1305@openssh.com'],
  hmac: ['hmac-sha2-256-etm@openssh.com'],
  compress: ['none'],
} as const
/** Spec §3.2: connections with no traffic for this long are closed. */
export const IDLE_TIMEOUT_MS = 70_000
/** ssh2's own keepalive would keep a dead-quiet connection alive; the idle timeout replaces it. */
const KEEPALIVE_DISABLED_MS = 2 ** 31 - 1

export interface SshServerOptions extends ConnectionOptions, AdmissionLimits {
  listen: ListenAddress
  /** data-dir file holding the host key; generated once. undefined: an in-memory key */
  hostKeyPath: string | undefined
  /** each authenticated session (the connection manager's SSHConnect) */
  onSession?: () => void
  /** announced as `SSH-2.0-sonar_<version>`; strict semver ≥ 0.13.0 (the core's newest dialect, 0.18.8) */
  protocolVersion: string
  idleTimeoutMs?: number
}

interface Running {
  net: NetServer
  sockets: Set<Socket>
  connections: Set<Connection>
  admission: SshAdmission
  /** the socket file we created (removed on stop) */
  unixPath: string | undefined
  address: string
}

type Ssh2Module = typeof import('ssh2')

interface SshServerEvents {
  /** each `shell` session, as onSession */
  session: []
}

export class SshServer extends EventEmitter<SshServerEvents> {
  private readonly version: string
  private running: Running | undefined
  private hostKeyValue: HostKey | undefined
  /** start()/stop() run one at a time, in call order */
  private queue: Promise<void> = Promise.resolve()

  constructor(readonly options: SshServerOptions) {
    super()
    this.version = options.protocolVersion
    // Hubs would treat us as a push-only agent (spec §3.4); never announce that.
    checkAnnouncedVersion(this.version)
  }

  /** The bound address while running (`127.0.0.1:45876`, `[::]:45876`, `/run/x.sock`), else as configured. */
  get address(): string {
    return this.running?.address ?? this.options.listen.text
  }

  get isRunning(): boolean {
    return this.running !== undefined
  }

  /** Connections held now and how many are still authenticating (zero while stopped). */
  get connectionCounts(): { total: number; unauthenticated: number } {
    return this.running?.admission.counts ?? { total: 0, unauthenticated: 0 }
  }

  /** The host key once the server has started (for logs / `ssh-keyscan` comparisons). */
  get hostKey(): HostKey | undefined {
    return this.hostKeyValue
  }

  /** The identification line we send, without CRLF. */
  get banner(): string {
    return `SSH-2.0-${sshIdent(this.version)}`
  }

  /** Starts listening; resolves once bound. A no-op when already running. Rejects on bind errors. */
  start(): Promise<void> {
    return this.enqueue(() => this.doStart())
  }

  /** Closes the listener and every connection; removes the unix socket file. A no-op when stopped. */
  stop(): Promise<void> {
    return this.enqueue(() => this.doStop())
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    const next = this.queue.then(step)
    this.queue = next.catch(() => undefined)
    return next
  }

  private async doStart(): Promise<void> {
    if (this.running) return
    const { listen, logger } = this.options
    const mod = await import('ssh2')
    // ssh2 is CommonJS: the namespace's default is module.exports
    const ssh2: Ssh2Module = mod.default ?? mod
    this.hostKeyValue ??= await loadHostKey(this.options.hostKeyPath, logger)
    const hostKey = this.hostKeyValue

    const sockets = new Set<Socket>()
    const connections = new Set<Connection>()
    const admission = new SshAdmission(this.options, logger)
    // ssh2 announces a connection while it reads that socket's first bytes, in the same 'data'
    // dispatch as our listener below (registered first): that is how a connection finds its socket.
    let reading: Socket | undefined
    const onShell = () => {
      this.options.onSession?.()
      this.emit('session')
    }
    const ssh = new ssh2.Server(
      {
        hostKeys: [hostKey.privateKey],
        ident: sshIdent(this.version),
        algorithms: {
          kex: [...SSH_ALGORITHMS.kex],
          cipher: [...SSH_ALGORITHMS.cipher],
          hmac: [...SSH_ALGORITHMS.hmac],
          compress: [...SSH_ALGORITHMS.compress],
          serverHostKey: [hostKey.type as ServerHostKeyAlgorithm],
        },
        keepaliveInterval: KEEPALIVE_DISABLED_MS,
      },
      (client, info) => {
        connections.add(client)
        client.on('close', () => connections.delete(client))
        const socket = reading
        if (socket && socket.remoteAddress === info.ip && socket.remotePort === info.port) {
          client.once('handshake', () => admission.progressed(socket, Progress.KeyExchanged))
          client.once('ready', () => admission.authenticated(socket))
        } else {
          // Cannot happen with ssh2 1.x; if it ever does, the deadline still closes the socket.
          logger.error('SSH connection without its socket; it will be closed at the authentication deadline', { peer: info.ip ?? 'unix' })
        }
        serveConnection(client, info, this.options, ssh2.utils, onShell)
      },
    )
    const idleMs = this.options.idleTimeoutMs ?? IDLE_TIMEOUT_MS
    const net = createServer((socket) => {
      socket.on('error', () => undefined) // ssh2 reports socket errors on the connection
      if (!admission.admit(socket)) return
      sockets.add(socket)
      socket.once('close', () => sockets.delete(socket))
      socket.once('data', () => admission.progressed(socket, Progress.Spoke))
      socket.on('data', () => {
        reading = socket
      })
      socket.setTimeout(idleMs, () => {
        logger.debug('SSH connection idle; closing', { peer: socket.remoteAddress ?? 'unix', idleMs })
        socket.destroy()
      })
      ssh.injectSocket(socket)
    })

    const { address, unixPath } = await bindListener(net, listen, logger)
    this.running = { net, sockets, connections, admission, unixPath, address }
    logger.info('SSH server listening', { address, banner: this.banner, hostKeyFingerprint: hostKey.fingerprint })
  }

  private async doStop(): Promise<void> {
    const running = this.running
    if (!running) return
    this.running = undefined
    const closed = new Promise<void>((resolve) => running.net.close(() => resolve()))
    for (const connection of running.connections) {
      try {
        connection.end() // polite SSH disconnect first
      } catch {
        // the socket may already be gone
      }
    }
    for (const socket of running.sockets) socket.destroy()
    await closed
    if (running.unixPath) await removeSocketFile(running.unixPath)
    this.options.logger.info('SSH server stopped', { address: running.address })
  }
}
