/**
 * One container engine (Docker or Podman) behind the Docker API, through dockerode. Every request
 * has DOCKER_TIMEOUT as its deadline; the engine JSON is checked with zod before it goes further.
 */
import type { Readable } from 'node:stream'
import type Dockerode from 'dockerode'
import { MAX_LOG_BYTES, LOG_TAIL_LINES } from './logs.js'
import { ContainerListSchema, ListedContainerSchema, StatsSchema, VersionSchema, type EngineStats, type ListedContainer } from './schemas.js'
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
  /** undefined until the engine has answered /version once since it (re)appeared */
  private podmanFlag: boolean | undefined

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
    if (address.kind === 'socket' && address.socketPath.includes('podman')) this.podmanFlag = true
  }

  private signal(): AbortSignal {
    return AbortSignal.timeout(this.timeoutMs)
  }

  /** Whether this is Podman (asks /version once; Components[].Name "Podman Engine"). */
  async isPodman(): Promise<boolean> {
    if (this.podmanFlag !== undefined) return this.podmanFlag
    // dockerode reads an abortSignal from version()'s options; its typings lack that overload
    const version = VersionSchema.parse(await (this.docker.version as (options: object) => Promise<unknown>).call(this.docker, { abortSignal: this.signal() }))
    this.podmanFlag = (version.Components ?? []).some((c) => c.Name?.startsWith('Podman') === true)
    return this.podmanFlag
  }

  /** Forget what /version said: the engine went away and may come back as something else. */
  reset(): void {
    if (!this.label.includes('podman')) this.podmanFlag = undefined
  }

  /** Running containers; entries the schema rejects are dropped. */
  async list(): Promise<ListedContainer[]> {
    const raw = ContainerListSchema.parse(await this.docker.listContainers({ abortSignal: this.signal() }))
    const out: ListedContainer[] = []
    for (const entry of raw) {
      const parsed = ListedContainerSchema.safeParse(entry)
      if (parsed.success) out.push(parsed.data)
    }
    return out
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
