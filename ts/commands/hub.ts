/**
 * `sonar-agent hub`: the embedded DEV hub (agents over WebSocket or dialled over SSH) and its web
 * page on one port, 127.0.0.1 by default. `--agent` also runs one agent of this machine against it
 * (what `npm start` uses). SIGINT/SIGTERM stop the agent first, then the hub, exit 0.
 *
 * The hub modules are imported when the command runs, so `sonar-agent run` never loads them.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { DEFAULT_HUB_VERSION, parseHubVersion, type HubVersion } from '../hub/hub-version.js'
import { createLogger, type LogLevel } from '../log.js'
import { UsageError } from './usage.js'

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const
const AGENT_STOP_MS = 7_000

export const HUB_BANNER = 'DEV HUB — for trying SONAR and for tests: in-memory history, one process, not for production'

interface HubFlags {
  port: number
  host: string
  dataDir: string | undefined
  ssh: string[]
  agent: boolean
  /** the Beszel hub version to play: 0.18.8 (default) or 0.17 */
  beszelVersion: HubVersion
}

export function parseHubFlags(args: readonly string[]): HubFlags {
  const { values } = parseArgs({
    args: [...args],
    options: {
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      data: { type: 'string', short: 'd' },
      ssh: { type: 'string', multiple: true },
      agent: { type: 'boolean' },
      'beszel-version': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  })
  const port = values.port === undefined ? 8090 : Number(values.port)
  if (!/^\d{1,5}$/.test(values.port ?? '8090') || port > 65535) throw new UsageError(`--port ${JSON.stringify(values.port)}: expected a port number 0–65535 (0 picks a free one)`)
  const host = values.host ?? '127.0.0.1'
  if (host === '') throw new UsageError('--host is empty: give an address to listen on, e.g. 127.0.0.1')
  let beszelVersion = DEFAULT_HUB_VERSION
  try {
    if (values['beszel-version'] !== undefined) beszelVersion = parseHubVersion(values['beszel-version'])
  } catch (error) {
    throw new UsageError(`--beszel-version: ${(error as Error).message}`)
  }
  return { port, host, dataDir: values.data, ssh: values.ssh ?? [], agent: values.agent ?? false, beszelVersion }
}

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, onSignal)
      // a second signal while stopping: stop now
      process.once('SIGINT', () => process.exit(130))
      process.once('SIGTERM', () => process.exit(143))
      resolve(signal)
    }
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal)
  })
}

/** One agent of this machine, connected to the hub, in its own process group (Ctrl-C reaches it through us, once). */
function startLocalAgent(hub: { agentUrl: string; key: string; token: string }, dataDir: string): ChildProcess {
  const entry = process.argv[1]
  if (!entry) throw new Error('cannot find the sonar-agent entry point to start an agent from')
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // the highest-priority names, so a developer's own SONAR_AGENT_* settings cannot point it elsewhere
    SONAR_AGENT_KEY: hub.key,
    SONAR_AGENT_TOKEN: hub.token,
    SONAR_AGENT_HUB_URL: hub.agentUrl,
    SONAR_AGENT_DATA_DIR: join(dataDir, 'agent'),
    // WebSocket only: no SSH listener to clash with an agent already serving :45876
    SONAR_AGENT_DISABLE_SSH: 'true',
  }
  // execArgv keeps a loader such as tsx when the hub itself runs from the sources
  return spawn(process.execPath, [...process.execArgv, entry, 'run'], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true })
}

function stopAgent(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode)
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), AGENT_STOP_MS)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve(code)
    })
    child.kill('SIGTERM')
  })
}

export async function hubCommand(args: string[]): Promise<number> {
  const flags = parseHubFlags(args)
  const levelText = process.env.LOG_LEVEL ?? 'info'
  const level: LogLevel = (LOG_LEVELS as readonly string[]).includes(levelText) ? (levelText as LogLevel) : 'info'
  const logger = createLogger(level, process.stderr, 'hub')
  const [{ startDevHub }, { defaultHubDataDir, agentInstructions }, { HubStore }, { createWebHandler }] = await Promise.all([
    import('../hub/hub.js'),
    import('../hub/keys.js'),
    import('../hub/store.js'),
    import('../hub/web/server.js'),
  ])
  const dataDir = flags.dataDir ?? defaultHubDataDir()
  const store = new HubStore()
  const web = createWebHandler(store, { hostNames: flags.host ? [flags.host] : [] })
  const hub = await startDevHub({ dataDir, host: flags.host, port: flags.port, store, logger, ssh: flags.ssh, web, version: flags.beszelVersion })

  // listening for signals before anything is printed: whoever reads the banner may signal at once
  const signalled = waitForSignal()
  const out = process.stdout
  out.write(`\n  ${HUB_BANNER}\n\n`)
  out.write(`  page:  ${hub.url}\n  data:  ${dataDir}\n  plays: Beszel hub ${hub.version} (--beszel-version ${hub.version === '0.17' ? '0.18.8' : '0.17'} for the other)\n\n`)
  out.write(`${agentInstructions({ publicKey: hub.key, token: hub.token }, hub.agentUrl).replace(/^/gm, '  ')}\n\n`)
  if (flags.host !== '127.0.0.1' && flags.host !== 'localhost' && flags.host !== '::1') {
    logger.warn('listening beyond this machine: the page has no login and the token is printed above', { host: flags.host })
  }

  const agent = flags.agent ? startLocalAgent(hub, dataDir) : undefined
  // no orphan: whatever way this process ends, the agent ends with it
  const killAgent = () => agent?.kill('SIGTERM')
  process.on('exit', killAgent)
  if (agent) out.write(`  agent: pid ${agent.pid ?? '?'} (this machine), connecting to ${hub.agentUrl}\n\n`)
  out.write(`  Open ${hub.url} — Ctrl-C stops ${agent ? 'the agent and the hub' : 'the hub'}.\n\n`)

  const agentDied = new Promise<number>((resolve) => {
    agent?.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)))
    agent?.once('error', (error) => {
      logger.error('cannot start the agent', { error: error.message })
      resolve(1)
    })
  })
  const why = await Promise.race([signalled.then((signal) => ({ signal })), agentDied.then((code) => ({ agentCode: code }))])
  let status = 0
  if ('signal' in why) {
    logger.info('stopping', { signal: why.signal })
    if (agent) {
      const code = await stopAgent(agent)
      logger.info('agent stopped', { status: code })
    }
  } else {
    logger.error(`the agent exited with status ${why.agentCode}; stopping the hub (its messages are above)`)
    status = 1
  }
  web.closeStreams()
  await hub.close()
  process.off('exit', killAgent)
  logger.info('stopped')
  return status
}
