/**
 * The running agent: wires the configuration, the native collector and the dispatcher to the
 * transports, and owns the health file. The SSH server module (and ssh2 with it) is imported only
 * when the connection manager first needs it, so a host served over WebSocket never loads it.
 */
import { hostname } from 'node:os'
import { join } from 'node:path'
import { loggingCoreWarnings, type Collector, type SmartState } from './collector.js'
import { listenPort, type AgentConfig } from './config/config.js'
import { ContainerMonitor } from './containers/monitor.js'
import { containerSettings } from './containers/settings.js'
import { Dispatcher } from './dispatch.js'
import type { Capabilities } from './extensions/gate.js'
import { killRunningCommands } from './extensions/commands.js'
import { createHostActions } from './extensions/host-actions.js'
import { CONTAINER_WAIT_MS, collectWithContainers, snapshotWithContainers } from './handlers/data.js'
import { HealthFile, healthFilePath } from './health.js'
import type { Logger } from './log.js'
import { loadNative } from './native.js'
import type { BackoffOptions } from './transport/backoff.js'
import { ConnectionManager, type SshServerFactory } from './transport/connection-manager.js'
import { hubDialSettings } from './transport/hub-dial.js'
import { WebSocketClient } from './transport/websocket-client.js'

export interface AgentOptions {
  config: AgentConfig
  collector: Collector
  fingerprint: string
  /** the resolved data directory (SSH host key); default: DATA_DIR as configured */
  dataDir?: string
  logger: Logger
  /** `sonar-agent/<package version>` */
  userAgent: string
  /** the container engines; default: from DOCKER_HOST / DOCKER_TIMEOUT / EXCLUDE_CONTAINERS */
  containers?: ContainerMonitor
  /** what host actions (6–13) can do; default: the real capabilities (extensions/capabilities.ts) */
  capabilities?: Capabilities
  /** health file path; false: none (tests running several agents) */
  healthFile?: string | false
  /** environment for proxy variables not in the config (lower-case names) */
  env?: NodeJS.ProcessEnv
  /** timings, shortened by tests */
  tuning?: {
    watchdogMs?: number
    verifyTimeoutMs?: number
    handshakeTimeoutMs?: number
    backoff?: BackoffOptions
    sshGraceMs?: number
    maxInFlight?: number
  }
}

const CACHE_TIME_MS = 60_000

export class Agent {
  readonly dispatcher: Dispatcher
  readonly websocket: WebSocketClient | undefined
  readonly manager: ConnectionManager
  /** undefined when DOCKER_HOST is set but empty */
  readonly containers: ContainerMonitor | undefined
  /** the configured collector, its warnings logged after each collection */
  private readonly collector: Collector
  private readonly health: HealthFile | undefined
  private readonly smart: SmartState | undefined
  private started = false

  constructor(readonly options: AgentOptions) {
    const { config, logger } = options
    const collector = loggingCoreWarnings(options.collector, logger.child('core'))
    this.collector = collector
    const tuning = options.tuning ?? {}
    const containers =
      options.containers ??
      new ContainerMonitor({
        settings: containerSettings((name) => config.setting(name), (message) => logger.warn(message)),
        logger: logger.child('containers'),
      })
    this.containers = containers.enabled ? containers : undefined
    const smart = collector.smart.disabled ? undefined : collector.smart
    this.smart = smart
    if (smart && !smart.available) {
      logger.warn('smartctl not found: GetSmartData answers without disks (install smartmontools; SMART_DEVICES="" silences this)')
    }
    // docs/extensions.md: only a hub that signs this connection's nonce is accepted
    const requireHubNonce = config.value('REQUIRE_HUB_NONCE') === true
    this.dispatcher = new Dispatcher({
      collector,
      ...(this.containers ? { containers: this.containers } : {}),
      ...(smart ? { smart } : {}),
      ...(collector.systemd ? { systemd: collector.systemd } : {}),
      keys: () => config.keys,
      token: () => config.token,
      fingerprint: () => options.fingerprint,
      hostname: () => hostname(),
      listenPort: () => listenPort(config.listen),
      systemName: () => config.systemName,
      requireHubNonce: () => requireHubNonce,
      hostActions: createHostActions({
        config,
        keys: () => config.keys,
        fingerprint: () => options.fingerprint,
        dataDir: options.dataDir ?? config.dataDir,
        ...(options.capabilities ? { capabilities: options.capabilities } : {}),
        parseDuration: (text) => loadNative().parseDuration(text),
        logger,
      }),
      logger,
    })

    if (config.hubUrl && config.token) {
      if (requireHubNonce && config.hubFlavor === 'beszel') {
        logger.warn('REQUIRE_HUB_NONCE=true with HUB_FLAVOR=beszel: the Beszel route carries no nonce, so every hub will be refused')
      }
      const env = options.env ?? process.env
      this.websocket = new WebSocketClient({
        hubUrl: config.hubUrl,
        ...(config.hubFlavor ? { hubFlavor: config.hubFlavor } : {}),
        ...hubDialSettings(config, env, { token: config.token, protocolVersion: collector.agentVersion, userAgent: options.userAgent }),
        dispatcher: this.dispatcher,
        logger: logger.child('websocket'),
        ...tuning,
      })
    } else if (config.hubUrl) {
      logger.warn('HUB_URL is set but TOKEN is not: not connecting over WebSocket (set TOKEN or TOKEN_FILE)')
    }

    const ssh: SshServerFactory | undefined = config.disableSsh ? undefined : (onSession) => this.createSshServer(onSession)
    this.manager = new ConnectionManager({
      ...(this.websocket ? { websocket: this.websocket } : {}),
      ...(ssh ? { ssh } : {}),
      collector,
      logger: logger.child('connection'),
      ...(tuning.sshGraceMs !== undefined ? { sshGraceMs: tuning.sshGraceMs } : {}),
    })
    if (options.healthFile !== false) this.health = new HealthFile(options.healthFile ?? healthFilePath(), logger)
  }

  private async createSshServer(onSession: () => void) {
    const { config, logger } = this.options
    const collector = this.collector
    const dataDir = this.options.dataDir ?? config.dataDir
    const [{ SshServer }, { HOST_KEY_FILE }] = await Promise.all([import('./transport/ssh-server.js'), import('./identity/host-key.js')])
    return new SshServer({
      listen: config.listen,
      keys: () => config.keys,
      hostKeyPath: dataDir ? join(dataDir, HOST_KEY_FILE) : undefined,
      dispatcher: this.dispatcher,
      legacyPayload: () => collectWithContainers(collector, CACHE_TIME_MS, this.containers),
      legacyJson: async () => JSON.stringify(await snapshotWithContainers(collector, CACHE_TIME_MS, this.containers, CONTAINER_WAIT_MS)),
      logger: logger.child('ssh'),
      onSession,
      protocolVersion: collector.agentVersion,
    })
  }

  start(): void {
    if (this.started) return
    this.started = true
    const { config, logger, fingerprint } = this.options
    logger.info('starting', {
      version: this.options.userAgent,
      protocol: this.options.collector.agentVersion,
      hub: config.hubUrl ? 'websocket' : 'none',
      ssh: config.disableSsh ? 'disabled' : config.listen.text,
      fingerprint,
    })
    this.health?.start()
    this.manager.start()
    // The first sample starts the GPU pollers and children (NVML, nvidia-smi, intel_gpu_top), so
    // the hub's first GetData already finds readings. Cache time 0 touches no hub baseline.
    this.collector
      .collect({ cacheTimeMs: 0 })
      .catch((error: unknown) => logger.warn('first sample failed', { error: String(error) }))
    this.reportSystemd()
    // smartctl can take seconds per disk: read the disks once now, off the JS thread, so the hub's
    // first GetSmartData (5 s timeout on v0.17 hubs) finds them in memory
    if (this.smart?.available) {
      this.smart.data().catch((error: unknown) => logger.warn('SMART warm-up failed', { error: String(error) }))
    }
  }

  /** One line once the first systemd refresh is done: how many units, or why none and the fix. */
  private reportSystemd(): void {
    const systemd = this.options.collector.systemd
    if (!systemd) return
    const { logger } = this.options
    const check = (triesLeft: number): void => {
      const status = systemd.status()
      if (status.state === 'starting' && triesLeft > 0) {
        setTimeout(() => check(triesLeft - 1), 1000).unref()
      } else if (status.state === 'starting') {
        logger.warn('systemd services: the system bus has not answered for 40 s (a refresh runs every 10 minutes)')
      } else if (status.state === 'available') {
        logger.info('systemd services monitored', { units: status.units ?? 0 })
      } else if (status.state === 'unavailable') {
        logger.warn(
          `systemd services are not monitored: ${status.reason ?? 'no answer'} ` +
            '(set DBUS_SYSTEM_BUS_ADDRESS to the system bus, or SKIP_SYSTEMD=true to silence this)',
        )
      }
    }
    // one refresh gives up after 30 s: look a little longer than that
    setTimeout(() => check(40), 500).unref()
  }

  /** Closes the WebSocket with 1000, stops the SSH server, removes the health file. */
  async stop(): Promise<void> {
    if (!this.started) return
    this.started = false
    await this.manager.stop()
    // a command a hub started must not outlive the agent
    await killRunningCommands()
    this.health?.stop()
  }
}
