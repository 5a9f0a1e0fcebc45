/**
 * Watches every container engine that answers: DOCKER_HOST when set, else each well-known socket
 * that exists at sample time. Per sample: list running containers, one-shot stats with bounded
 * concurrency, raw counters out (the native core does the math). A container that vanishes, an
 * engine that errors or times out: skipped for this sample, never an error for GetData, which
 * never waits for a slow engine past a fixed share of the hub's deadline (`recent`).
 * dockerode is loaded on the first sample that finds an engine socket.
 */
import type { Logger } from '../log.js'
import { candidateSockets, existingSockets } from './discovery.js'
import { Engine, ENGINE_CONCURRENCY, NoSuchContainer, describeError, readStampUs, type DockerodeClass } from './engine.js'
import { ContainerExcluder } from './glob.js'
import { redactInspect } from './inspect.js'
import { decodeLogs } from './logs.js'
import { RecentSamples, type RecentContainerSample } from './recent.js'
import type { EngineStats, ListedContainer } from './schemas.js'
import type { ContainerSettings } from './settings.js'
import type { ContainerSample, ContainerSampleInput } from './types.js'

export interface ContainerMonitorOptions {
  settings: ContainerSettings
  logger: Logger
  /** sockets probed when DOCKER_HOST is unset (default: Docker's and Podman's well-known paths) */
  candidates?: readonly string[]
  /** loads dockerode (tests and benchmarks may count the loads) */
  loadDockerode?: () => Promise<DockerodeClass>
}

/** Runs `fn` over `items`, at most `limit` at a time; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await fn(items[index] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

/** `health`: the engine's health status when it gave one (list or Podman inspect). */
export function toSampleInput(listed: ListedContainer, stats: EngineStats, health?: string): ContainerSampleInput {
  const name = listed.Names?.[0]
  let netRx = 0
  let netTx = 0
  for (const network of Object.values(stats.networks ?? {})) {
    netRx += network.rx_bytes
    netTx += network.tx_bytes
  }
  const memory = stats.memory_stats.stats ?? {}
  const engineHealth = health || listed.Health?.Status || undefined
  const readUs = readStampUs(stats.read)
  return {
    id: listed.Id,
    name: name ? name.replace(/^\//, '') : listed.Id.slice(0, 12),
    image: listed.Image,
    status: listed.Status,
    ports: (listed.Ports ?? []).flatMap((p) => (p.PublicPort ? [{ ip: p.IP ?? '', publicPort: p.PublicPort }] : [])),
    cpuTotal: stats.cpu_stats.cpu_usage.total_usage,
    cpuSystem: stats.cpu_stats.system_cpu_usage,
    onlineCpus: stats.cpu_stats.online_cpus,
    memUsage: stats.memory_stats.usage,
    memInactiveFile: nonNegative(memory.inactive_file),
    memCache: nonNegative(memory.cache),
    netRx,
    netTx,
    ...(engineHealth ? { health: engineHealth } : {}),
    ...(readUs ? { readUs } : {}),
  }
}

const nonNegative = (value: number | undefined): number => (value !== undefined && value > 0 ? value : 0)

type EngineResult = { ok: true; containers: ContainerSampleInput[]; podman: boolean } | { ok: false }

export class ContainerMonitor {
  private readonly logger: Logger
  private readonly excluder: ContainerExcluder
  private readonly engines = new Map<string, Engine>()
  /** engines whose last sample failed (logged once per outage) */
  private readonly down = new Set<string>()
  /** full container id → the engine that listed it last (GetContainerLogs/Info go there first) */
  private owners = new Map<string, Engine>()
  private docker: Promise<DockerodeClass> | undefined
  private inflight: Promise<ContainerSample> | undefined
  private readonly recentSamples = new RecentSamples()
  private podmanSeen = false
  private readonly podmanListeners = new Set<() => void>()

  constructor(private readonly options: ContainerMonitorOptions) {
    this.logger = options.logger
    this.excluder = new ContainerExcluder(options.settings.exclude)
    for (const bad of this.excluder.invalid) this.logger.warn(`EXCLUDE_CONTAINERS: "${bad}" is not a valid glob; ignored`)
  }

  get enabled(): boolean {
    return this.options.settings.enabled
  }

  /**
   * Whether a Podman engine has been seen (Info.p, v0.18 Details.Podman). Once true it stays true
   * for the life of the process, as v0.18.8's flag does: an engine outage does not flip it back.
   */
  get podman(): boolean {
    return this.podmanSeen
  }

  /**
   * Calls `listener` once, when `podman` turns true. A v0.18 hub that already has Details with
   * Podman false must get them again (beszel-v0.18.md §3.2–3.3). Returns the unsubscribe.
   */
  onPodmanDetected(listener: () => void): () => void {
    this.podmanListeners.add(listener)
    return () => this.podmanListeners.delete(listener)
  }

  private notePodman(seen: boolean): void {
    if (!seen || this.podmanSeen) return
    this.podmanSeen = true
    this.logger.info('container engine is Podman')
    for (const listener of [...this.podmanListeners]) {
      try {
        listener()
      } catch (error) {
        this.logger.warn(`Podman detection listener failed: ${describeError(error)}`)
      }
    }
  }

  private loadDocker(): Promise<DockerodeClass> {
    this.docker ??= (this.options.loadDockerode ?? (async () => (await import('dockerode')).default))()
    this.docker.catch(() => (this.docker = undefined))
    return this.docker
  }

  /** The engines to ask now, in priority order (the first to list a container owns it). */
  private async activeEngines(): Promise<Engine[]> {
    if (!this.enabled) return []
    const { settings } = this.options
    const wanted: { key: string; make: (Docker: DockerodeClass) => Engine }[] = []
    if (settings.dockerHost) {
      const address = settings.dockerHost
      const label = address.kind === 'socket' ? address.socketPath : `${address.protocol}://${address.host}:${address.port}`
      wanted.push({ key: 'DOCKER_HOST', make: (Docker) => new Engine(label, address, Docker, settings.timeoutMs) })
    } else {
      for (const socket of existingSockets(this.options.candidates ?? candidateSockets())) {
        wanted.push({ key: socket.real, make: (Docker) => new Engine(socket.path, { kind: 'socket', socketPath: socket.real }, Docker, settings.timeoutMs) })
      }
    }
    if (wanted.length === 0) return []
    const Docker = await this.loadDocker()
    return wanted.map(({ key, make }) => {
      let engine = this.engines.get(key)
      if (!engine) this.engines.set(key, (engine = make(Docker)))
      return engine
    })
  }

  /** One sample across all engines; concurrent callers share the sample in flight. */
  sample(): Promise<ContainerSample> {
    this.inflight ??= this.sampleAll()
      .then((sample) => {
        this.recentSamples.record(sample)
        return sample
      })
      .finally(() => (this.inflight = undefined))
    return this.inflight
  }

  /**
   * For GetData: a sample if the engines answer within `waitMs`, else the last one read with its
   * age, else none; the sample in flight finishes in the background either way.
   */
  recent(waitMs: number): Promise<RecentContainerSample> {
    return this.recentSamples.within(this.sample(), waitMs)
  }

  private async sampleAll(): Promise<ContainerSample> {
    let engines: Engine[]
    try {
      engines = await this.activeEngines()
    } catch (error) {
      this.logger.warn(`container engines unavailable: ${describeError(error)}`)
      return { containers: null, podman: this.podmanSeen }
    }
    const results = await Promise.all(engines.map((engine) => this.sampleEngine(engine)))
    const owners = new Map<string, Engine>()
    const containers: ContainerSampleInput[] = []
    let answered = false
    let podman = false
    results.forEach((result, index) => {
      if (!result.ok) return
      answered = true
      podman ||= result.podman
      const engine = engines[index] as Engine
      for (const container of result.containers) {
        if (owners.has(container.id)) continue // the same engine behind two sockets
        owners.set(container.id, engine)
        containers.push(container)
      }
    })
    this.owners = owners
    this.notePodman(podman)
    return { containers: answered ? containers : null, podman: this.podmanSeen }
  }

  private async sampleEngine(engine: Engine): Promise<EngineResult> {
    let listed: ListedContainer[]
    try {
      listed = await engine.list()
      await engine.checkVersion()
    } catch (error) {
      if (!this.down.has(engine.label)) this.logger.warn(`container engine ${engine.label} not answering: ${describeError(error)}`)
      this.down.add(engine.label)
      engine.reset()
      return { ok: false }
    }
    if (this.down.delete(engine.label)) this.logger.info(`container engine ${engine.label} answers again`)
    const wanted = this.excluder.empty ? listed : listed.filter((c) => !this.excluder.excludes(c.Names?.[0]?.replace(/^\//, '') ?? ''))

    const retry: ListedContainer[] = []
    const fetch = async (container: ListedContainer, firstPass: boolean): Promise<ContainerSampleInput | undefined> => {
      try {
        const stats = await engine.stats(container.Id)
        return stats ? toSampleInput(container, stats, await this.healthOf(engine, container)) : undefined
      } catch (error) {
        // Docker 24's one-shot stats sometimes fail once; a timeout is not worth a second wait.
        if (firstPass && describeError(error) !== 'timed out') retry.push(container)
        else this.logger.debug(`stats of ${container.Id.slice(0, 12)} skipped: ${describeError(error)}`, { engine: engine.label })
        return undefined
      }
    }
    const first = await mapLimit(wanted, ENGINE_CONCURRENCY, (c) => fetch(c, true))
    const second = await mapLimit(retry, ENGINE_CONCURRENCY, (c) => fetch(c, false))
    const containers = [...first, ...second].filter((c): c is ContainerSampleInput => c !== undefined)
    return { ok: true, containers, podman: engine.podman }
  }

  /** The list's Health.Status, else (Podman, whose list has none) the inspect's; "" when unknown. */
  private async healthOf(engine: Engine, container: ListedContainer): Promise<string> {
    const listed = container.Health?.Status
    if (listed || !engine.podman) return listed ?? ''
    return engine.podmanHealth(container.Id).catch((error: unknown) => {
      this.logger.debug(`health of ${container.Id.slice(0, 12)} unknown: ${describeError(error)}`, { engine: engine.label })
      return ''
    })
  }

  /** Engines to ask about `id`: the one that listed it first, then the others. */
  private async enginesFor(id: string): Promise<Engine[]> {
    const engines = await this.activeEngines()
    if (engines.length === 0) throw new Error('no container engine found (DOCKER_HOST, /var/run/docker.sock, Podman sockets)')
    const lower = id.toLowerCase()
    const owner = [...this.owners].find(([full]) => full.startsWith(lower))?.[1]
    return owner ? [owner, ...engines.filter((e) => e !== owner)] : engines
  }

  private async ask<T>(id: string, request: (engine: Engine) => Promise<T>): Promise<T> {
    let lastError: unknown
    for (const engine of await this.enginesFor(id)) {
      try {
        return await request(engine)
      } catch (error) {
        lastError = error
        if (!(error instanceof NoSuchContainer)) this.logger.debug(`${engine.label}: ${describeError(error)}`)
      }
    }
    throw lastError instanceof NoSuchContainer ? lastError : new Error(describeError(lastError))
  }

  /** GetContainerLogs: the last 200 lines, decoded and stripped of ANSI escapes. */
  async logs(id: string): Promise<string> {
    return decodeLogs(await this.ask(id, (engine) => engine.logs(id)))
  }

  /** GetContainerInfo: inspect JSON without Config.Env. */
  async info(id: string): Promise<string> {
    return redactInspect(await this.ask(id, (engine) => engine.inspect(id)))
  }
}
