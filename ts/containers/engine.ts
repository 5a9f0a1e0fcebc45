/**
 * One container engine (Docker or Podman) behind the Docker API, through dockerode. Every request
 * has DOCKER_TIMEOUT as its deadline; the engine JSON is checked with zod before it goes further.
 *
 * Podman is recognised as v0.18.8 does (beszel-v0.18.md §3.3): a `Server` header starting with
 * "Libpod" on /containers/json or /version, or a /version component named "Podman…"; and, as
 * v0.17 did, a socket path naming podman.
 */
import type { IncomingMessage } from 'node:http'
import { addAbortSignal, type Readable } from 'node:stream'
import type Dockerode from 'dockerode'
import { MAX_LOG_BYTES, LOG_TAIL_LINES } from './logs.js'
import {
  ContainerListSchema,
  HealthInspectSchema,
  ListedContainerSchema,
  StatsSchema,
  VersionSchema,
  type EngineStats,
  type ListedContainer,
} from './schemas.js'
import type { EngineAddress } from './settings.js'

export type DockerodeClass = typeof Dockerode

/** At most this many requests to one engine at a time (one-shot stats of 200 containers included). */
export const ENGINE_CONCURRENCY = 8

/** An engine answered 404: the container is gone (or never was there). */
export class NoSuchContainer extends Error {
  constructor(id: string) {
    super(`no such container: ${id}`)
    this.name = 'NoSuchContainer'
  }
}

function statusCode(error: unknown): number | undefined {
  const code = (error as { statusCode?: unknown } | null)?.statusCode
  return typeof code === 'number' ? code : undefined
}

/** v0.18.8's header test: Podman's API server names itself "Libpod/<version> (<os>)". */
export function isLibpodServer(server: string | undefined): boolean {
  return server?.startsWith('Libpod') === true
}

/** How long a Podman container without a healthcheck is not inspected again (`podman update` can add one). */
export const NO_HEALTHCHECK_RECHECK_MS = 5 * 60_000

/** A Go RFC 3339 time (`read` of one-shot stats) in µs since the epoch; undefined when absent, odd or Go's zero time. */
export function readStampUs(read: string | undefined): number | undefined {
  const match = read ? /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(read) : null
  if (!match) return undefined
  const ms = Date.parse(`${match[1]}${match[3]}`)
  if (!Number.isFinite(ms) || ms <= 0) return undefined
  return ms * 1000 + Number((match[2] ?? '').slice(0, 6).padEnd(6, '0'))
}

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'timed out'
    return typeof code === 'string' && !error.message.includes(code) ? `${code}: ${error.message}` : error.message
  }
  return String(error)
}

export class Engine {
  private readonly docker: Dockerode
  /** the socket path names podman: Podman for v0.17, whatever the engine says */
  private readonly podmanByPath: boolean
  private podmanFlag: boolean
  /** /version answered since the engine (re)appeared */
  private versionChecked = false
  /** Podman containers found without a healthcheck (full id → when), not inspected again for a while */
  private readonly noHealthcheck = new Map<string, number>()

  constructor(
    readonly label: string,
    address: EngineAddress,
    Docker: DockerodeClass,
    private readonly timeoutMs: number,
  ) {
    // No custom http.Agent: with one, docker-modem costs ~4x the CPU per request (measured);
    // mapLimit already keeps at most ENGINE_CONCURRENCY requests open per engine.
    const options: Dockerode.DockerOptions =
      address.kind === 'socket'
        ? { socketPath: address.socketPath, timeout: timeoutMs }
        : { protocol: address.protocol, host: address.host, port: address.port, timeout: timeoutMs }
    this.docker = new Docker(options)
    // v0.17 takes a socket path naming podman to be Podman without asking.
    this.podmanByPath = address.kind === 'socket' && address.socketPath.includes('podman')
    this.podmanFlag = this.podmanByPath
  }

  private signal(): AbortSignal {
    return AbortSignal.timeout(this.timeoutMs)
  }

  /** Whether this engine is known to be Podman (from its answers so far, or its socket path). */
  get podman(): boolean {
    return this.podmanFlag
  }

  /**
   * Asks /version once per appearance of the engine (v0.18.8 retries it after each list until it
   * answers): its Server header or a "Podman…" component marks Podman. Never throws.
   */
  async checkVersion(): Promise<void> {
    if (this.versionChecked) return
    try {
      const { body, server } = await this.getJson('/version')
      const version = VersionSchema.parse(body)
      if (isLibpodServer(server) || (version.Components ?? []).some((c) => c.Name?.startsWith('Podman') === true)) this.podmanFlag = true
      this.versionChecked = true
    } catch {
      // asked again after the next list that succeeds
    }
  }

  /** Forget what the engine said: it went away and may come back as something else. */
  reset(): void {
    this.podmanFlag = this.podmanByPath
    this.versionChecked = false
    this.noHealthcheck.clear()
  }

  /** Running containers; entries the schema rejects are dropped. A Libpod Server header marks Podman. */
  async list(): Promise<ListedContainer[]> {
    const { body, server } = await this.getJson('/containers/json')
    if (isLibpodServer(server)) this.podmanFlag = true
    const raw = ContainerListSchema.parse(body)
    const out: ListedContainer[] = []
    for (const entry of raw) {
      const parsed = ListedContainerSchema.safeParse(entry)
      if (parsed.success) out.push(parsed.data)
    }
    const listed = new Set(out.map((c) => c.Id))
    for (const id of this.noHealthcheck.keys()) if (!listed.has(id)) this.noHealthcheck.delete(id)
    return out
  }

  /**
   * A Podman container's health status from inspect ("" without a healthcheck), as v0.18.8 asks
   * for it; a container found without a healthcheck is not asked again for NO_HEALTHCHECK_RECHECK_MS.
   */
  async podmanHealth(id: string, now: number = performance.now()): Promise<string> {
    const checked = this.noHealthcheck.get(id)
    if (checked !== undefined && now - checked < NO_HEALTHCHECK_RECHECK_MS) return ''
    const inspect = HealthInspectSchema.parse(await this.inspect(id))
    const status = inspect.State?.Health?.Status ?? ''
    const test = inspect.Config?.Healthcheck?.Test
    if (status === '' && (!test || test.length === 0 || test[0] === 'NONE')) this.noHealthcheck.set(id, now)
    else this.noHealthcheck.delete(id)
    return status
  }

  /** GET `path`: the parsed JSON body and the Server header (dockerode's helpers hide headers). */
  private getJson(path: string): Promise<{ body: unknown; server: string | undefined }> {
    const signal = this.signal()
    return new Promise((resolve, reject) => {
      this.docker.modem.dial(
        { path, method: 'GET', options: {}, abortSignal: signal, isStream: true, statusCodes: { 200: true, 400: 'bad parameter', 500: 'server error' } } as Parameters<Dockerode['modem']['dial']>[0],
        (error: unknown, response: unknown) => {
          if (error) {
            reject(error)
            return
          }
          const res = response as IncomingMessage
          addAbortSignal(signal, res)
          readAll(res).then((bytes) => {
            try {
              const server = res.headers.server
              resolve({ body: JSON.parse(bytes.toString('utf8')) as unknown, server: Array.isArray(server) ? server[0] : server })
            } catch (parseError) {
              reject(parseError instanceof Error ? parseError : new Error(String(parseError)))
            }
          }, reject)
        },
      )
    })
  }

  /** One-shot stats; undefined when the container is no longer running. */
  async stats(id: string): Promise<EngineStats | undefined> {
    let raw: unknown
    try {
      raw = await this.docker.getContainer(id).stats({ stream: false, 'one-shot': true, abortSignal: this.signal() } as { stream: false })
    } catch (error) {
      if (statusCode(error) === 404 || statusCode(error) === 409) return undefined
      throw error
    }
    const stats = StatsSchema.parse(raw)
    // Docker answers a container that stopped meanwhile with zeroed stats read at Go's zero time.
    if (stats.read?.startsWith('0001-') && stats.cpu_stats.cpu_usage.total_usage === 0) return undefined
    return stats
  }

  async inspect(id: string): Promise<unknown> {
    try {
      return await this.docker.getContainer(id).inspect({ abortSignal: this.signal() } as object)
    } catch (error) {
      if (statusCode(error) === 404) throw new NoSuchContainer(id)
      throw error
    }
  }

  /** The raw log stream (multiplexed or TTY), last LOG_TAIL_LINES lines, read up to the byte cap. */
  logs(id: string, maxBytes: number = MAX_LOG_BYTES): Promise<Buffer> {
    const signal = this.signal()
    return new Promise((resolve, reject) => {
      this.docker.modem.dial(
        {
          path: `/containers/${encodeURIComponent(id)}/logs?`,
          method: 'GET',
          options: { stdout: true, stderr: true, tail: LOG_TAIL_LINES },
          abortSignal: signal,
          isStream: true,
          statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
        } as Parameters<Dockerode['modem']['dial']>[0],
        (error: unknown, stream: unknown) => {
          if (error) {
            reject(statusCode(error) === 404 ? new NoSuchContainer(id) : error)
            return
          }
          readCapped(stream as Readable, maxBytes + 64 * 1024).then(resolve, reject)
        },
      )
    })
  }
}

/** The whole body. */
function readAll(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.once('end', () => resolve(Buffer.concat(chunks)))
    stream.once('error', reject)
  })
}

/** Reads until the end or `limit` bytes (frame headers included), then lets the rest go. */
function readCapped(stream: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const finish = () => {
      stream.off('data', onData)
      resolve(Buffer.concat(chunks))
    }
    const onData = (chunk: Buffer) => {
      chunks.push(chunk)
      size += chunk.length
      if (size >= limit) {
        finish()
        stream.destroy()
      }
    }
    stream.on('data', onData)
    stream.once('end', finish)
    stream.once('error', (error) => (size >= limit ? undefined : reject(error)))
  })
}
