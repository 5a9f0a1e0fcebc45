/**
 * `sonar-agent run`: the daemon. Reads the configuration, opens the native core, starts the
 * transports, and on SIGINT/SIGTERM closes the WebSocket with 1000, stops the SSH server, removes the
 * health file and exits 0.
 */
import { cpus, hostname } from 'node:os'
import { parseArgs } from 'node:util'
import { setFlagsFromString } from 'node:v8'
import { packageVersion } from '../package-version.js'
import { openCollector } from '../collector.js'
import { coreSettingNames } from '../config/catalog.js'
import { loadConfig, type CliFlags } from '../config/config.js'
import { resolveDataDir } from '../identity/data-dir.js'
import { loadFingerprint } from '../identity/fingerprint.js'
import { createLogger } from '../log.js'
import { loadNative } from '../native.js'
import { Agent } from '../agent.js'
import { metricsWanted } from '../metrics/wanted.js'

const FLAGS = ['key', 'listen', 'url', 'token', 'config'] as const
/** A second signal during shutdown, or a shutdown that hangs, ends the process anyway. */
const FORCED_EXIT_MS = 5_000

/** The Go agent accepts single-dash long flags (`-key`, `-listen`); so do we. */
function normaliseArgs(args: readonly string[]): string[] {
  return args.map((arg) => {
    const match = /^-([a-z]+)(=.*)?$/.exec(arg)
    return match && (FLAGS as readonly string[]).includes(match[1] ?? '') ? `-${arg}` : arg
  })
}

/** `run`'s flags; `doctor` takes the same ones so it checks exactly what `run` would use. */
export const RUN_FLAG_OPTIONS = {
  key: { type: 'string', short: 'k' },
  listen: { type: 'string', short: 'l' },
  url: { type: 'string', short: 'u' },
  token: { type: 'string', short: 't' },
  config: { type: 'string', short: 'c' },
  'read-only': { type: 'boolean' },
} as const

/** The run flags given in parsed `values` (absent ones left out). */
export function runFlagsFrom(values: Partial<Record<(typeof FLAGS)[number] | 'read-only', string | boolean | undefined>>): CliFlags {
  const flags: CliFlags = {}
  for (const name of FLAGS) {
    const value = values[name]
    if (typeof value === 'string') flags[name] = value
  }
  if (values['read-only'] === true) flags.readOnly = true
  return flags
}

export function parseRunFlags(args: readonly string[]): CliFlags {
  const { values } = parseArgs({ args: normaliseArgs(args), options: RUN_FLAG_OPTIONS, strict: true, allowPositionals: false })
  return runFlagsFrom(values)
}

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      process.once('SIGINT', () => process.exit(130))
      process.once('SIGTERM', () => process.exit(143))
      resolve(signal)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
}

/**
 * The daemon's JavaScript is glue — the core collects and encodes — so V8's optimising and baseline
 * compilers buy no measurable CPU here, while the compiler code they page in and the machine code
 * they keep cost ~4.5 MiB of RSS for the agent's whole life (bench:footprint). Set before anything
 * is hot, they simply never run; the interpreter does the rest.
 */
export const DAEMON_V8_FLAGS = ['--no-opt', '--no-sparkplug'] as const

/** When the daemon drops the executable's and the addon's unused pages (sonar_core::resident). */
const TRIM_AFTER_MS = 5_000

export async function runCommand(args: string[]): Promise<number> {
  for (const flag of DAEMON_V8_FLAGS) setFlagsFromString(flag)
  const flags = parseRunFlags(args)
  const native = loadNative()
  const config = loadConfig(flags, process.env, { native })
  const logger = createLogger(config.logLevel)
  // Prometheus (METRICS_LISTEN, REMOTE_WRITE_URL): its module is loaded only when one is set, and
  // its settings are checked before anything starts, like every other setting.
  const metricsModule = metricsWanted(config) ? await import('../metrics/start.js') : undefined
  await metricsModule?.checkMetricsSettings(config)
  // The core gets the merged settings (flags > env > file), not just the environment.
  const collector = openCollector(config.collectorSettings(coreSettingNames(native)), native)
  // an explicit DATA_DIR passed over (read-only, not a directory) is said, never silent
  const dataDir = resolveDataDir(config.dataDir, process.env, { onWarning: (message) => logger.warn(message) })
  if (!dataDir) logger.warn('no writable data directory: the fingerprint and SSH host key are not saved (set DATA_DIR)')
  const fingerprint = loadFingerprint({
    ...(dataDir ? { dataDir } : {}),
    roots: config.roots,
    hostname: hostname(),
    cpuModel: cpus()[0]?.model ?? '',
    onWarning: (message) => logger.warn(message),
  })

  const agent = new Agent({ config, collector, fingerprint, logger, userAgent: `sonar-agent/${packageVersion}`, ...(dataDir ? { dataDir } : {}) })
  const stop = new Promise<{ signal?: NodeJS.Signals; dnsFailure?: string; parentGone?: boolean }>((resolve) => {
    void waitForSignal().then((signal) => resolve({ signal }))
    // Started by a parent with an IPC channel (the dev hub's --agent): its end, however the parent
    // died, stops this agent too — no orphan redialling a dead hub.
    if (process.channel) {
      process.channel.unref()
      process.once('disconnect', () => resolve({ parentGone: true }))
    }
    if (config.exitOnDnsError) {
      agent.websocket?.on('failed', ({ dns, reason }) => {
        if (dns) resolve({ dnsFailure: reason })
      })
    }
  })
  // Prometheus (METRICS_LISTEN, REMOTE_WRITE_URL): its module is loaded only when one is set, and
  // started before the agent so a bad setting (METRICS_WEB_CONFIG, an address in use) stops the
  // process with its one line instead of leaving the agent running without it.
  const metrics = await metricsModule?.startMetrics({ config, native, logger, ...(agent.containers ? { containers: agent.containers } : {}), ...(dataDir ? { dataDir } : {}) })
  agent.start()
  // Once start-up's code has run: drop the pages of node and the addon that fault-around and
  // readahead mapped without this process ever using them (~22 MiB of RSS, bench:footprint).
  const trim = setTimeout(() => logger.debug('resident pages trimmed', { mappedBytes: native.trimResidentPages() }), TRIM_AFTER_MS)
  trim.unref()
  const why = await stop
  clearTimeout(trim)
  if (why.dnsFailure !== undefined) {
    logger.error('the hub name did not resolve and EXIT_ON_DNS_ERROR=true: exiting', { reason: why.dnsFailure })
  } else if (why.parentGone) {
    logger.info('stopping: the parent process is gone')
  } else {
    logger.info('stopping', { signal: why.signal })
  }
  setTimeout(() => {
    logger.error(`shutdown took over ${FORCED_EXIT_MS / 1000} s; exiting anyway`)
    process.exit(1)
  }, FORCED_EXIT_MS).unref()
  await Promise.all([agent.stop(), metrics?.close()])
  logger.info('stopped')
  return why.dnsFailure !== undefined ? 1 : 0
}
