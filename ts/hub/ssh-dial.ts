/**
 * `--ssh host:port`: the dev hub dials an agent's SSH server the way a Beszel hub does (spec §3.3–
 * §3.5): user `u`, the hub's Ed25519 key, only curve25519-sha256 / chacha20-poly1305 /
 * hmac-sha2-256-etm, host key not checked, one `shell` session per request carrying one CBOR
 * request without id, one CBOR reply, exit status 0. The connection is kept and redialled with
 * backoff when it drops.
 */
import { connect as netConnect } from 'node:net'
import type { Client, ClientChannel, ConnectConfig } from 'ssh2'
import { Action } from '../protocol/actions.js'
import { decodeResponse, encodeRequest, type AgentResponse } from '../protocol/envelope.js'
import { CborItemScanner } from '../transport/cbor-item.js'
import { Backoff } from '../transport/backoff.js'
import type { Logger } from '../log.js'
import { DEFAULT_HUB_VERSION, hubRules, type HubVersion } from './hub-version.js'
import { Poller } from './poller.js'
import { REQUEST_TIMEOUT_MS } from './requests.js'
import type { SmartFetchLog } from './smart-schedule.js'
import type { HubStore } from './store.js'

export const HUB_SSH_ALGORITHMS = {
  kex: ['curve25519-sha256'],
  cipher: ['chacha20-poly1305@openssh.com'],
  hmac: ['hmac-sha2-256-etm@openssh.com'],
} satisfies ConnectConfig['algorithms']

/** The text after `_` is what agents parse: ≥ 0.13.0 means request/response sessions. */
export function hubSshIdent(version: HubVersion): string {
  return `sonar-dev-hub_${hubRules(version).sshVersion}`
}
const MAX_REPLY_BYTES = 16 * 1024 * 1024

export type SshTarget = { host: string; port: number; label: string } | { path: string; label: string }

/** `host:port`, `[v6]:port` or a unix socket path; the error names the option. */
export function parseSshTarget(text: string): SshTarget {
  if (text.startsWith('/')) return { path: text, label: text }
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text)
  const port = Number(match?.[3])
  const host = match?.[1] ?? match?.[2]
  if (!match || !host || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`--ssh ${JSON.stringify(text)}: expected host:port (e.g. 127.0.0.1:45876), [v6]:port or a unix socket path`)
  }
  return { host, port, label: text }
}

export interface SshDialOptions {
  target: SshTarget
  privateKey: string
  store: HubStore
  logger: Logger
  /** the Beszel hub played (default: hub-version.ts's) */
  version?: HubVersion
  /** the hub's SMART attempts (they outlive connections) */
  smartLog?: SmartFetchLog
  intervalMs?: number
  realtimeMs?: number
  requestTimeoutMs?: number
}

export class SshDial {
  readonly id: string
  private client: Client | undefined
  private poller: Poller | undefined
  private retry: NodeJS.Timeout | undefined
  private readonly backoff = new Backoff({ baseMs: 1_000, capMs: 30_000 })
  private stopped = false
  /** why the last connection ended, for the page */
  private lastError: string | undefined

  readonly version: HubVersion

  constructor(private readonly options: SshDialOptions) {
    this.id = `ssh:${options.target.label}`
    this.version = options.version ?? DEFAULT_HUB_VERSION
  }

  /** The hub's polling of the current connection. */
  get polling(): Poller | undefined {
    return this.poller
  }

  start(): void {
    this.dialSafely()
  }

  /** A dial that fails before connecting (ssh2 not loadable…) is logged and retried. */
  private dialSafely(): void {
    this.dial().catch((error: unknown) => {
      this.lastError = error instanceof Error ? error.message : String(error)
      this.options.logger.warn('SSH dial failed', { target: this.options.target.label, error: this.lastError })
      if (this.stopped) return
      this.retry = setTimeout(() => this.dialSafely(), this.backoff.next())
    })
  }

  get realtimeActive(): boolean {
    return this.poller?.realtimeActive ?? false
  }

  private async dial(): Promise<void> {
    if (this.stopped) return
    const { target, logger } = this.options
    const { Client } = (await import('ssh2')).default
    // stopped while ssh2 was loading
    if (this.stopped) return
    const client = new Client()
    this.client = client
    let agentVersion = ''
    client.on('ready', () => {
      this.lastError = undefined
      this.backoff.reset()
      logger.info('SSH agent connected', { target: target.label })
      this.options.store.upsertSystem({
        id: this.id,
        name: this.options.store.get(this.id)?.name ?? target.label,
        transport: 'ssh',
        address: target.label,
        agentVersion,
        connected: true,
        connectedAt: Date.now(),
        lastSampleAt: this.options.store.get(this.id)?.lastSampleAt ?? null,
        hubVersion: this.version,
      })
      this.poller = new Poller({
        id: this.id,
        store: this.options.store,
        logger,
        version: this.version,
        ...(this.options.smartLog ? { smartLog: this.options.smartLog } : {}),
        transport: {
          // GetData over SSH: the same options object, no request id (beszel-v0.18.md §2)
          getData: async (options) => {
            const response = await this.exchange(client, encodeRequest({ action: Action.GetData, data: options, id: undefined }))
            const version = agentVersionOf(response)
            if (version && version !== agentVersion) {
              agentVersion = version
              const system = this.options.store.get(this.id)
              if (system) this.options.store.upsertSystem({ ...system, agentVersion })
            }
            return response
          },
          getSmartData: (timeoutMs) => this.exchange(client, encodeRequest({ action: Action.GetSmartData, data: undefined, id: undefined }), timeoutMs),
        },
        onFailure: (reason) => {
          this.lastError = reason
          client.end()
        },
        ...(this.options.intervalMs !== undefined ? { intervalMs: this.options.intervalMs } : {}),
        ...(this.options.realtimeMs !== undefined ? { realtimeMs: this.options.realtimeMs } : {}),
      })
      this.poller.start()
    })
    client.on('error', (error) => {
      this.lastError = error.message
      logger.warn('SSH connection failed', { target: target.label, error: error.message })
    })
    client.on('close', () => this.onClose(client))
    const config: ConnectConfig = {
      username: 'u',
      privateKey: this.options.privateKey,
      algorithms: HUB_SSH_ALGORITHMS,
      ident: hubSshIdent(this.version),
      // hubs do not check agent host keys (§3.3)
      hostVerifier: () => true,
      readyTimeout: 4_000,
    }
    if ('path' in target) client.connect({ ...config, sock: netConnect(target.path) })
    else client.connect({ ...config, host: target.host, port: target.port })
  }

  private onClose(client: Client): void {
    if (this.client !== client) return
    this.client = undefined
    this.poller?.stop()
    this.poller = undefined
    this.options.store.markDisconnected(this.id, this.lastError)
    if (this.stopped) return
    const delay = this.backoff.next()
    this.options.logger.debug('SSH redial scheduled', { target: this.options.target.label, delayMs: delay })
    this.retry = setTimeout(() => this.dialSafely(), delay)
  }

  /** One request: a `shell` session, the CBOR request, EOF, one CBOR reply, exit status 0. */
  private exchange(client: Client, request: Buffer, timeoutMs: number = this.options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS): Promise<AgentResponse> {
    return new Promise((resolve, reject) => {
      let channel: ClientChannel | undefined
      const timer = setTimeout(() => {
        channel?.close()
        reject(new Error(`no SSH answer within ${timeoutMs} ms`))
      }, timeoutMs)
      const fail = (error: Error) => {
        clearTimeout(timer)
        reject(error)
      }
      client.shell(false, (error, stream) => {
        if (error) return fail(error)
        channel = stream
        const scanner = new CborItemScanner(MAX_REPLY_BYTES)
        let exitCode: number | undefined
        stream.on('data', (chunk: Buffer) => scanner.push(chunk))
        stream.stderr.resume()
        stream.on('exit', (code: number | null) => (exitCode = code ?? undefined))
        stream.on('close', () => {
          clearTimeout(timer)
          const scan = scanner.push(Buffer.alloc(0))
          if (scan.state !== 'complete') return reject(new Error(`incomplete SSH reply (${scanner.received} bytes, ${scan.state})`))
          if (exitCode !== 0) return reject(new Error(`agent session ended with exit status ${String(exitCode)}`))
          try {
            const response = decodeResponse(scanner.bytes().subarray(0, scan.end))
            if (response.error !== undefined) return reject(new Error(response.error))
            resolve(response)
          } catch (decodeError) {
            reject(decodeError as Error)
          }
        })
        stream.end(request)
      })
    })
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.retry)
    this.poller?.stop()
    this.client?.end()
  }
}

/** Info.v (CombinedData key 1 → key 10) of a GetData reply: the agent's protocol version. */
function agentVersionOf(response: AgentResponse): string | undefined {
  const data = response.fields.get(1)
  const info = data instanceof Map ? data.get(1) : undefined
  const version = info instanceof Map ? info.get(10) : undefined
  return typeof version === 'string' ? version : undefined
}
