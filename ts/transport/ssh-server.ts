/**
 * The fallback SSH server the hub dials in to (spec §3). One `shell` session = one request: read
 * one CBOR item from stdin, dispatch it, write one CBOR answer, exit-status 0, close. Everything an
 * SSH server usually offers beyond that (pty, exec, subsystems, forwarding, passwords) is refused.
 *
 * We own the listening socket and hand accepted sockets to ssh2 (`injectSocket`): that gives unix
 * sockets, the real bound address, a per-connection idle timeout and a clean stop() without
 * reaching into ssh2's internals. ssh2 itself is imported on the first start().
 */
import { EventEmitter } from 'node:events'
import { chmod, lstat, unlink } from 'node:fs/promises'
import { connect, createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net'
import type { AuthContext, ClientInfo, Connection, ServerChannel, ServerHostKeyAlgorithm, Session as SshSession } from 'ssh2'
import type { ListenAddress } from '../config/config.js'
import type { Dispatcher, Session } from '../dispatch.js'
import { loadHostKey, type HostKey } from '../identity/host-key.js'
import type { HubKey } from '../identity/keys.js'
import type { Logger } from '../log.js'
import { encodeResponse } from '../protocol/envelope.js'
import { CborItemScanner } from './cbor-item.js'
import { compareSemver, parseSemver, type SemVer } from '../protocol/semver.js'

/** The protocol version we announce (spec §6: 0.17.0 unlocks every hub feature). */
export const DEFAULT_PROTOCOL_VERSION = '0.17.0'
/** Exactly the hub's lists (spec §3.2); anything else would only widen the attack surface. */
export const SSH_ALGORITHMS = {
  kex: ['curve25519-sha256'],
  cipher: ['chacha20-poly1305@openssh.com'],
  hmac: ['hmac-sha2-256-etm@openssh.com'],
  compress: ['none'],
} as const
/** The largest request read from stdin (the Go agent's WebSocket frame limit). */
export const MAX_REQUEST_BYTES = 16 * 1024 * 1024
/** Spec §3.2: connections with no traffic for this long are closed. */
export const IDLE_TIMEOUT_MS = 70_000
/** Not in the Go agent: a peer must finish authenticating within this time. */
export const AUTH_TIMEOUT_MS = 30_000
/** Not in the Go agent: a session whose request has not arrived by then is answered anyway. */
export const REQUEST_TIMEOUT_MS = 30_000
/** OpenSSH's MaxAuthTries. */
const MAX_AUTH_FAILURES = 6
/** Far more than one hub needs; a cap so a connection flood cannot exhaust descriptors. */
export const MAX_CONNECTIONS = 32
/** ssh2's own keepalive would keep a dead-quiet connection alive; the idle timeout replaces it. */
const KEEPALIVE_DISABLED_MS = 2 ** 31 - 1

export interface SshServerOptions {
  listen: ListenAddress
  keys: () => readonly HubKey[]
  /** data-dir file holding the host key; generated once. undefined: an in-memory key */
  hostKeyPath: string | undefined
  dispatcher: Pick<Dispatcher, 'handle'>
  /** CBOR CombinedData for hubs older than 0.13 that expect a pushed payload */
  legacyPayload: () => Promise<Buffer>
  /** JSON CombinedData (Appendix A names) for hubs older than 0.12 or with an unparsable banner */
  legacyJson?: () => Promise<string>
  logger: Logger
  /** each authenticated session (the connection manager's SSHConnect) */
  onSession?: () => void
  /** announced as `SSH-2.0-sonar_<version>`; strict semver ≥ 0.13.0 (default 0.17.0) */
  protocolVersion?: string
  idleTimeoutMs?: number
  authTimeoutMs?: number
  requestTimeoutMs?: number
  maxRequestBytes?: number
  maxConnections?: number
}

// ---------------------------------------------------------------------------------------------
// Version negotiation (spec §3.4, §6)

const ZERO: SemVer = { major: 0, minor: 0, patch: 0, prerelease: [] }
const MIN_VERSION_CBOR = { major: 0, minor: 12, patch: 0, prerelease: [] }
const MIN_VERSION_AGENT_RESPONSE = { major: 0, minor: 13, patch: 0, prerelease: [] }

/** The hub's version from its identification line: strict semver after the first `_`, else 0.0.0. */
export function hubVersionFromIdent(ident: string): SemVer {
  const line = ident.replace(/\r?\n$/, '')
  const underscore = line.indexOf('_')
  if (underscore < 0) return ZERO
  return parseSemver(line.slice(underscore + 1)) ?? ZERO
}

/** request: normal request/response; legacy-*: push a bare payload first (spec §3.4 table). */
export type HubMode = 'request' | 'legacy-cbor' | 'legacy-json'

export function hubMode(version: SemVer): HubMode {
  if (compareSemver(version, MIN_VERSION_AGENT_RESPONSE) >= 0) return 'request'
  return compareSemver(version, MIN_VERSION_CBOR) >= 0 ? 'legacy-cbor' : 'legacy-json'
}

function formatVersion(v: SemVer): string {
  return `${v.major}.${v.minor}.${v.patch}${v.prerelease.length ? `-${v.prerelease.join('.')}` : ''}`
}

// ---------------------------------------------------------------------------------------------
// Reading one request from a channel

type ReadOutcome =
  | { kind: 'item'; frame: Buffer }
  /** stdin closed (or the channel went away) before a whole item arrived */
  | { kind: 'eof'; bytes: Buffer }
  | { kind: 'invalid'; bytes: Buffer }
  | { kind: 'too-large' }
  | { kind: 'timeout' }

function readRequest(channel: ServerChannel, limit: number, timeoutMs: number): Promise<ReadOutcome> {
  return new Promise((resolve) => {
    const scanner = new CborItemScanner(limit)
    let done = false
    const finish = (outcome: ReadOutcome): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      channel.removeListener('end', onEnd)
      channel.removeListener('close', onEnd)
      // Keep draining so ssh2 sees 'end' and can emit 'close'; the extra bytes are ignored.
      resolve(outcome)
    }
    const onData = (chunk: Buffer): void => {
      if (done) return
      const result = scanner.push(chunk)
      if (result.state === 'complete') finish({ kind: 'item', frame: Buffer.from(scanner.bytes().subarray(0, result.end)) })
      else if (result.state === 'invalid') finish({ kind: 'invalid', bytes: Buffer.from(scanner.bytes()) })
      else if (result.state === 'too-large') finish({ kind: 'too-large' })
    }
    const onEnd = (): void => finish({ kind: 'eof', bytes: Buffer.from(scanner.bytes()) })
    const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs)
    channel.on('data', onData)
    channel.once('end', onEnd)
    channel.once('close', onEnd)
  })
}

/** Resolves when `data` is handed to ssh2, or when the channel is gone (then nothing can be sent). */
function writeTo(channel: ServerChannel, data: Buffer | string): Promise<void> {
  return new Promise((resolve) => {
    if (!channel.writable) {
      resolve()
      return
    }
    const settle = (): void => {
      channel.removeListener('close', settle)
      resolve()
    }
    channel.once('close', settle)
    channel.write(data, () => settle())
  })
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

// ---------------------------------------------------------------------------------------------

interface Running {
  net: NetServer
  sockets: Set<Socket>
  connections: Set<Connection>
  /** the socket file we created (removed on stop) */
  unixPath: string | undefined
  address: string
  utils: Ssh2Utils
}

type Ssh2Module = typeof import('ssh2')
type Ssh2Utils = Ssh2Module['utils']

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
    this.version = options.protocolVersion ?? DEFAULT_PROTOCOL_VERSION
    const parsed = parseSemver(this.version)
    if (!parsed || compareSemver(parsed, MIN_VERSION_AGENT_RESPONSE) < 0) {
      // Hubs would treat us as a push-only agent (spec §3.4); never announce that.
      throw new Error(`SSH protocol version must be strict semver >= 0.13.0, got "${this.version}"`)
    }
  }

  /** The bound address while running (`127.0.0.1:45876`, `[::]:45876`, `/run/x.sock`), else as configured. */
  get address(): string {
    return this.running?.address ?? this.options.listen.text
  }

  get isRunning(): boolean {
    return this.running !== undefined
  }

  /** The host key once the server has started (for logs / `ssh-keyscan` comparisons). */
  get hostKey(): HostKey | undefined {
    return this.hostKeyValue
  }

  /** The identification line we send, without CRLF. */
  get banner(): string {
    return `SSH-2.0-sonar_${this.version}`
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
    const ssh = new ssh2.Server(
      {
        hostKeys: [hostKey.privateKey],
        ident: `sonar_${this.version}`,
        algorithms: {
          kex: [...SSH_ALGORITHMS.kex],
          cipher: [...SSH_ALGORITHMS.cipher],
          hmac: [...SSH_ALGORITHMS.hmac],
          compress: [...SSH_ALGORITHMS.compress],
          serverHostKey: [hostKey.type as ServerHostKeyAlgorithm],
        },
        keepaliveInterval: KEEPALIVE_DISABLED_MS,
      },
      (client, info) => this.onConnection(client, info, connections, ssh2.utils),
    )
    const idleMs = this.options.idleTimeoutMs ?? IDLE_TIMEOUT_MS
    const net = createServer((socket) => {
      sockets.add(socket)
      socket.once('close', () => sockets.delete(socket))
      socket.on('error', () => undefined) // ssh2 reports socket errors on the connection
      socket.setTimeout(idleMs, () => {
        logger.debug('SSH connection idle; closing', { peer: socket.remoteAddress ?? 'unix', idleMs })
        socket.destroy()
      })
      ssh.injectSocket(socket)
    })
    net.maxConnections = this.options.maxConnections ?? MAX_CONNECTIONS

    let unixPath: string | undefined
    if (listen.network === 'unix') {
      unixPath = listen.path ?? listen.text
      await removeStaleSocket(unixPath)
      await listenOn(net, { path: unixPath })
      // The hub connects as the same user or via a shared group (e.g. a mounted volume).
      await chmod(unixPath, 0o660).catch((error: unknown) =>
        logger.warn('cannot set the socket mode', { path: unixPath, error: errorText(error) }),
      )
    } else {
      const host = listen.host || (listen.network === 'tcp4' ? '0.0.0.0' : listen.network === 'tcp6' ? '::' : undefined)
      await listenOn(net, { host, port: listen.port ?? 45876, ipv6Only: listen.network === 'tcp6' })
    }
    const address = describeAddress(net, unixPath)
    this.running = { net, sockets, connections, unixPath, address, utils: ssh2.utils }
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
    if (running.unixPath) await unlink(running.unixPath).catch(() => undefined)
    this.options.logger.info('SSH server stopped', { address: running.address })
  }

  // -------------------------------------------------------------------------------------------

  private onConnection(client: Connection, info: ClientInfo, connections: Set<Connection>, utils: Ssh2Utils): void {
    const { logger } = this.options
    const peer = info.ip ?? 'unix'
    const ident = info.header.identRaw.replace(/\r?\n$/, '')
    const hubVersion = hubVersionFromIdent(ident)
    // The peer chose these bytes: keep control characters out of the log line.
    const printableIdent = ident.slice(0, 255).replace(/[^\x20-\x7e]/g, '?')
    const mode = hubMode(hubVersion)
    connections.add(client)
    let authenticated = false
    let failures = 0
    const authTimer = setTimeout(() => {
      logger.warn('SSH peer did not authenticate in time; closing', { peer })
      client.end()
    }, this.options.authTimeoutMs ?? AUTH_TIMEOUT_MS)

    client.on('error', (error: Error & { level?: string }) => {
      logger.debug('SSH connection error', { peer, level: error.level, error: error.message })
    })
    client.on('close', () => {
      clearTimeout(authTimer)
      connections.delete(client)
      if (authenticated) logger.debug('SSH connection closed', { peer })
    })
    client.on('authentication', (ctx) => {
      if (this.authenticate(ctx, utils)) return
      if (ctx.method !== 'none' && ++failures >= MAX_AUTH_FAILURES) {
        logger.warn('SSH peer exceeded authentication attempts; closing', { peer })
        client.end()
      }
    })
    client.on('ready', () => {
      authenticated = true
      clearTimeout(authTimer)
      logger.info('SSH hub connected', { peer, client: printableIdent, hubVersion: formatVersion(hubVersion), mode })
    })
    client.on('session', (accept) => {
      const session = accept()
      if (session) this.onSessionChannel(session, mode, client, peer)
    })
    // Forwarding in both directions is refused (spec §10: the agent is not a tunnel).
    client.on('tcpip', (_accept, reject) => {
      logger.warn('SSH port forwarding refused', { peer })
      reject()
    })
    client.on('openssh.streamlocal', (_accept, reject) => {
      logger.warn('SSH socket forwarding refused', { peer })
      reject()
    })
    client.on('request', (_accept, reject, name) => {
      logger.warn('SSH global request refused', { peer, request: name })
      reject?.()
    })
  }

  /** true when accepted (or a signature-less probe for a known key was answered). */
  private authenticate(ctx: AuthContext, utils: Ssh2Utils): boolean {
    const { logger } = this.options
    if (ctx.method !== 'publickey') {
      // 'none' is how clients ask which methods exist; only publickey is offered.
      if (ctx.method !== 'none') logger.warn('SSH authentication method refused', { method: ctx.method })
      ctx.reject(['publickey'])
      return false
    }
    let known: HubKey | undefined
    try {
      known = this.options
        .keys()
        .find((key) => key.type === ctx.key.algo && key.blob.equals(ctx.key.data))
    } catch (error) {
      logger.error('cannot read the hub keys', { error: errorText(error) })
    }
    if (!known) {
      logger.warn('SSH public key not in KEY; refused', { algorithm: ctx.key.algo })
      ctx.reject(['publickey'])
      return false
    }
    if (!ctx.signature || !ctx.blob) {
      // The client asks whether this key would do before signing with it.
      ctx.accept()
      return true
    }
    const parsed = utils.parseKey(known.blob)
    const verified = !(parsed instanceof Error) && !Array.isArray(parsed) && parsed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true
    if (!verified) {
      logger.warn('SSH public key signature did not verify; refused')
      ctx.reject(['publickey'])
      return false
    }
    ctx.accept()
    return true
  }

  private onSessionChannel(session: SshSession, mode: HubMode, client: Connection, peer: string): void {
    const { logger } = this.options
    const refuse = (what: string) => (_accept: unknown, reject: (() => void) | undefined) => {
      logger.warn(`SSH ${what} refused`, { peer })
      reject?.()
    }
    session.on('pty', refuse('pty'))
    session.on('x11', refuse('X11 forwarding'))
    session.on('auth-agent', refuse('agent forwarding'))
    session.on('exec', refuse('exec'))
    session.on('subsystem', refuse('subsystem'))
    session.on('sftp', refuse('sftp'))
    // Environment variables are never applied; OpenSSH sends LANG/LC_* without wanting a reply.
    session.on('env', (_accept, reject) => reject?.())
    session.on('shell', (accept) => {
      const channel = accept()
      if (channel) void this.serveShell(channel, mode, client, peer)
    })
  }

  private async serveShell(channel: ServerChannel, mode: HubMode, client: Connection, peer: string): Promise<void> {
    const { logger } = this.options
    channel.on('error', (error: Error) => logger.debug('SSH channel error', { peer, error: error.message }))
    this.options.onSession?.()
    this.emit('session')
    let exitStatus = 0
    let closeConnection = false
    try {
      if (mode !== 'request') await this.pushLegacy(channel, mode)
      const { maxRequestBytes = MAX_REQUEST_BYTES, requestTimeoutMs = REQUEST_TIMEOUT_MS } = this.options
      const input = await readRequest(channel, maxRequestBytes, requestTimeoutMs)
      if (mode !== 'request' && input.kind !== 'item') {
        // An old hub sends nothing; like the Go agent, answer the failed read with the payload again.
        await this.pushLegacy(channel, mode)
      } else {
        const { reply, close } = await this.answer(input)
        await writeTo(channel, reply)
        closeConnection = close
      }
    } catch (error) {
      // Only a payload we could not produce ends in a non-zero status (as the Go agent's exit 1).
      logger.error('SSH session failed', { peer, error: errorText(error) })
      exitStatus = 1
    }
    channel.exit(exitStatus)
    channel.end()
    if (closeConnection) client.end()
  }

  private async answer(input: ReadOutcome): Promise<{ reply: Buffer; close: boolean }> {
    const { logger } = this.options
    const error = (message: string) => ({ reply: encodeResponse(undefined, { kind: 'error', message }), close: false })
    switch (input.kind) {
      case 'too-large':
        logger.warn('SSH request over the size limit; refused')
        return error('request too large')
      case 'timeout':
        logger.warn('SSH request did not arrive in time')
        return error('no request received')
      case 'eof':
        if (input.bytes.length === 0) return error('no request received')
        break
      default:
        break
    }
    // Truncated or malformed input still goes to the dispatcher: it answers with the precise decode error.
    const frame = input.kind === 'item' ? input.frame : input.bytes
    const session: Session = { transport: 'ssh', verified: true }
    try {
      const result = await this.options.dispatcher.handle(frame, session)
      if (result.close) logger.warn('closing the SSH connection', { reason: result.close.reason })
      if (!result.reply) return { ...error('no answer'), close: result.close !== undefined }
      return { reply: result.reply, close: result.close !== undefined }
    } catch (failure) {
      logger.error('SSH request handling failed', { error: errorText(failure) })
      return error(errorText(failure))
    }
  }

  private async pushLegacy(channel: ServerChannel, mode: Exclude<HubMode, 'request'>): Promise<void> {
    if (mode === 'legacy-json') {
      if (this.options.legacyJson) {
        const text = await this.options.legacyJson()
        await writeTo(channel, text.endsWith('\n') ? text : `${text}\n`)
        return
      }
      this.options.logger.warn('hub too old for CBOR and no JSON payload configured; sending CBOR')
    }
    await writeTo(channel, await this.options.legacyPayload())
  }
}

// ---------------------------------------------------------------------------------------------
// Listening

type ListenOptions = { path: string } | { host: string | undefined; port: number; ipv6Only: boolean }

function listenOn(net: NetServer, options: ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error)
    net.once('error', onError)
    net.listen({ ...options, exclusive: true }, () => {
      net.removeListener('error', onError)
      resolve()
    })
  })
}

function describeAddress(net: NetServer, unixPath: string | undefined): string {
  if (unixPath) return unixPath
  const bound = net.address() as AddressInfo | null
  if (!bound) return ''
  return bound.family === 'IPv6' ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`
}

/**
 * Removes a socket file left by a crashed agent. A live listener is not stolen (the Go agent
 * removes the file unconditionally), and a path that is not a socket is not deleted.
 */
async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean
  try {
    isSocket = (await lstat(path)).isSocket()
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return
    throw error
  }
  if (!isSocket) throw new Error(`${path} exists and is not a socket; refusing to replace it`)
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect({ path })
    probe.once('connect', () => {
      probe.destroy()
      resolve(true)
    })
    probe.once('error', () => resolve(false))
  })
  if (live) throw new Error(`${path} is in use by another process`)
  await unlink(path)
}
