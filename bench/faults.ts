/**
 * Hub and engine faults against `sonar-agent run` (the built CLI), each with the time the agent
 * takes to recover, printed as a table (docs/benchmarks.md keeps the figures):
 *
 *   node --import tsx bench/faults.ts [--outages 5,60,120] [--only restart,silent-tcp,...]
 *
 * - restart: the hub goes away for each outage, then listens again on the same port; time from its
 *   return to a verified connection (the agent's backoff is capped at 30 s, with full jitter).
 * - silent-tcp: the hub's port accepts TCP and never upgrades; how long the agent waits on such a
 *   dial, and the time to a verified connection once a real hub takes the port.
 * - unverified: the hub upgrades but never sends CheckFingerprint (only requests, which the agent
 *   refuses); time from the upgrade to the agent closing it.
 * - watchdog: the hub stops reading and writing mid-connection (a half-open socket); time to the
 *   agent dropping it and to the next verified connection.
 * - ssh-flood: 64 TCP connections that never authenticate, kept up (reopened as the agent drops
 *   them), from another address and from the hub's own; time for a real hub to log in and get a
 *   GetData answer.
 * - engine: a container engine socket that accepts and never answers; GetData latency, uncached
 *   (60 s window) and realtime, with the default DOCKER_TIMEOUT and with 6s (the hub waits 5 s).
 *
 * Linux only. Build first: npm run build:ts.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { encodeRequest, decodeResponse } from '../ts/protocol/envelope.js'
import { startAgentProcess, type AgentProcess } from '../test/helpers/agent-process.js'
import { freePort, waitForPort } from '../test/helpers/net.js'
import ssh2 from 'ssh2'
import { generateSshKeyPair, HUB_ALGORITHMS, shellExchange } from '../test/helpers/ssh.js'
import { TestHub, type HubConnection } from '../test/hub/test-hub.js'

const SCENARIOS = ['restart', 'silent-tcp', 'unverified', 'watchdog', 'ssh-flood', 'engine'] as const
type Scenario = (typeof SCENARIOS)[number]

const { values } = parseArgs({
  options: {
    outages: { type: 'string', default: '5,60,120' },
    only: { type: 'string', default: SCENARIOS.join(',') },
  },
})
const outages = values.outages.split(',').map(Number).filter((s) => s > 0)
const only = new Set(values.only.split(',') as Scenario[])

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`
/** The collectors the scenarios do not need are off, so that each figure is the transport's. */
const QUIET = { SMART_DEVICES: '', SKIP_SYSTEMD: 'true', SKIP_GPU: 'true', DOCKER_HOST: '' }

interface Row {
  scenario: string
  figure: string
  value: string
  note: string
}
const rows: Row[] = []
function record(scenario: string, figure: string, value: string, note = ''): void {
  rows.push({ scenario, figure, value, note })
  console.log(`  ${scenario}: ${figure} = ${value}${note ? `  (${note})` : ''}`)
}

const agents: AgentProcess[] = []
const hubs: TestHub[] = []
function agentFor(hub: TestHub, env: Record<string, string> = {}): AgentProcess {
  const agent = startAgentProcess({ HUB_URL: hub.url, TOKEN: hub.token, KEY: hub.publicKeyLine, DISABLE_SSH: 'true', LOG_LEVEL: 'info', ...QUIET, ...env })
  agents.push(agent)
  return agent
}
async function startHub(options: Parameters<typeof TestHub.start>[0] = {}): Promise<TestHub> {
  const hub = await TestHub.start(options)
  hubs.push(hub)
  return hub
}

/** The retry delays the agent announced ("retry in 12.3 s") after `from` characters of its stderr. */
function retryDelays(agent: AgentProcess, from = 0): number[] {
  return [...agent.stderr().slice(from).matchAll(/retry in ([\d.]+) s/g)].map((m) => Number(m[1]))
}

async function restart(): Promise<void> {
  console.log('restart: the hub goes away and comes back')
  const hub = await startHub()
  const agent = agentFor(hub)
  await (await hub.nextAccepted(30_000)).getData(60_000)
  for (const outage of outages) {
    const before = agent.stderr().length
    const index = hub.connections.length
    await hub.stop()
    await sleep(outage * 1000)
    const back = performance.now()
    await hub.restart()
    const connection = await hub.connection(index, 60_000)
    const accepted = await connection.verdict
    const verified = performance.now() - back
    await connection.getData(60_000)
    const delays = retryDelays(agent, before)
    record('hub away, back', `reconnect after a ${outage} s outage`, seconds(verified), `${delays.length} retries, longest wait ${Math.max(0, ...delays).toFixed(1)} s (cap 30 s)${accepted.accepted ? '' : '; NOT verified'}`)
  }
}

async function silentTcp(): Promise<void> {
  console.log('silent-tcp: the hub port accepts TCP and never upgrades')
  const port = await freePort()
  const held: { socket: Socket; at: number; closedAfter?: number }[] = []
  const silent: Server = createServer((socket) => {
    const entry: { socket: Socket; at: number; closedAfter?: number } = { socket, at: performance.now() }
    held.push(entry)
    socket.on('error', () => undefined)
    // read (and drop) so that the agent's close is seen
    socket.resume()
    socket.once('close', () => (entry.closedAfter = performance.now() - entry.at))
  })
  await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve))
  // the hub that takes the port later: its key, not yet its port
  const identity = await TestHub.start()
  await identity.stop()
  const agent = startAgentProcess({ HUB_URL: `http://127.0.0.1:${port}`, TOKEN: identity.token, KEY: identity.publicKeyLine, DISABLE_SSH: 'true', LOG_LEVEL: 'info', ...QUIET })
  agents.push(agent)
  await sleep(35_000)
  const waits = held.flatMap((h) => (h.closedAfter === undefined ? [] : [h.closedAfter]))
  record('hub accepts TCP, never upgrades', 'agent gives up a dial after', waits.length ? `${seconds(Math.min(...waits))}–${seconds(Math.max(...waits))}` : 'never', `${held.length} dials in 35 s`)
  for (const h of held) h.socket.destroy()
  await new Promise((resolve) => silent.close(resolve))
  const real = await startHub({ port, token: identity.token, signingKey: identity.signingKey })
  const at = performance.now()
  const connection = await real.nextAccepted(60_000)
  record('hub accepts TCP, never upgrades', 'verified after a real hub takes the port', seconds(performance.now() - at))
  await connection.getData(60_000)
}

async function unverified(): Promise<void> {
  console.log('unverified: the hub upgrades and never verifies')
  const hub = await startHub({ challenge: false })
  agentFor(hub)
  const connection = await hub.connection(0, 30_000)
  const at = performance.now()
  // what kept such a connection up before: a request every 15 s feeds the 70 s watchdog
  const feeder = setInterval(() => void connection.getData(1000).catch(() => undefined), 5_000)
  const closed = await connection.closed
  clearInterval(feeder)
  record('hub never verifies', 'agent closes the connection after', seconds(performance.now() - at), `code ${closed.code}`)
  hub.challenge = true
  const verifiedAt = performance.now()
  await hub.nextAccepted(60_000)
  record('hub never verifies', 'verified once the hub sends CheckFingerprint', seconds(performance.now() - verifiedAt))
}

async function watchdog(): Promise<void> {
  console.log('watchdog: the hub goes silent mid-connection (about 70 s)')
  const hub = await startHub()
  agentFor(hub)
  const connection: HubConnection = await hub.nextAccepted(30_000)
  await connection.getData(60_000)
  const index = hub.connections.length
  const at = performance.now()
  connection.silence()
  const next = await hub.connection(index, 120_000)
  const redial = performance.now() - at
  await next.verdict
  record('hub silent mid-connection', 'agent redials after', seconds(redial), 'watchdog 70 s (spec §2.11)')
  record('hub silent mid-connection', 'verified again after', seconds(performance.now() - at))
  connection.terminate()
}

/**
 * `count` TCP connections to `port` that never say a word, spread over `sources` (local addresses);
 * with `reopen`, each one the agent drops is opened again at once (a churning flood).
 */
function flood(port: number, count: number, sources: readonly string[], reopen: boolean): { stop: () => void; opened: () => number } {
  let running = true
  let opened = 0
  const sockets = new Set<Socket>()
  const open = (localAddress: string): void => {
    if (!running) return
    const socket = connect({ port, host: '127.0.0.1', localAddress })
    opened += 1
    sockets.add(socket)
    socket.on('error', () => undefined)
    // read (and drop) the agent's banner, so that its close is seen
    socket.resume()
    socket.once('close', () => {
      sockets.delete(socket)
      if (reopen) setImmediate(() => open(localAddress))
    })
  }
  for (let i = 0; i < count; i++) open(sources[i % sources.length] as string)
  return {
    stop: () => {
      running = false
      for (const socket of sockets) socket.destroy()
    },
    opened: () => opened,
  }
}

/** connectAsHub, but a connection the agent drops mid-handshake fails the attempt at once (as a hub sees it). */
function login(port: number, privateKey: string, timeoutMs: number): Promise<InstanceType<typeof ssh2.Client>> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client()
    client
      .once('ready', () => resolve(client))
      .once('error', reject)
      .once('close', () => reject(new Error('closed during login')))
      .connect({ host: '127.0.0.1', port, username: 'u', privateKey, algorithms: HUB_ALGORITHMS, ident: 'beszel_0.17.0', readyTimeout: timeoutMs })
  })
}

/** A hub's login and GetData, retried at once on failure for up to `limitMs`; undefined if it never got through. */
async function hubGetsIn(port: number, privateKey: string, limitMs: number): Promise<{ ms: number | undefined; attempts: number }> {
  const request = encodeRequest({ action: 0, data: new Map([[0, 60_000]]), id: undefined })
  const at = performance.now()
  let attempts = 0
  while (performance.now() - at < limitMs) {
    attempts += 1
    try {
      const client = await login(port, privateKey, Math.max(1_000, limitMs - (performance.now() - at)))
      client.on('error', () => undefined)
      const { stdout } = await shellExchange(client, request, 10_000)
      client.end()
      if (decodeResponse(stdout).fields.get(1) instanceof Map) return { ms: performance.now() - at, attempts }
    } catch {
      // dropped or refused: a hub retries
    }
  }
  return { ms: undefined, attempts }
}

async function sshFlood(): Promise<void> {
  console.log('ssh-flood: 64 connections that never authenticate, then the hub (from 127.0.0.1)')
  const keys = generateSshKeyPair()
  const port = await freePort()
  const agent = startAgentProcess({ LISTEN: `127.0.0.1:${port}`, KEY: keys.public, LOG_LEVEL: 'warn', ...QUIET })
  agents.push(agent)
  await waitForPort(port)
  const others = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`)
  const variants: [string, readonly string[], boolean][] = [
    ['held, from the hub’s own address', ['127.0.0.1'], false],
    ['held, from 8 other addresses', others, false],
    ['reopened at once, from another address', ['127.0.0.2'], true],
    ['reopened at once, from 8 other addresses', others, true],
    ['reopened at once, from the hub’s own address', ['127.0.0.1'], true],
  ]
  const limitMs = 30_000
  for (const [label, sources, reopen] of variants) {
    const attacker = flood(port, 64, sources, reopen)
    await sleep(2_000)
    const trials: (number | undefined)[] = []
    let attempts = 0
    for (let trial = 0; trial < 3; trial++) {
      const result = await hubGetsIn(port, keys.private, limitMs)
      trials.push(result.ms)
      attempts += result.attempts
      if (result.ms === undefined) break
    }
    attacker.stop()
    const done = trials.filter((t): t is number => t !== undefined)
    const value = done.length === trials.length ? `${seconds(Math.min(...done))}–${seconds(Math.max(...done))}` : `not within ${limitMs / 1000} s`
    record('SSH pre-auth flood', `hub login + GetData answer; flood ${label}`, value, `${trials.length} logins, ${attempts} attempts; ${attacker.opened()} flood connections opened`)
    await sleep(1_000)
  }
}

async function engine(): Promise<void> {
  console.log('engine: a container engine socket that accepts and never answers')
  const dir = mkdtempSync(join(tmpdir(), 'sonar-silent-engine-'))
  const path = join(dir, 'engine.sock')
  const sockets: Socket[] = []
  const server = createServer((socket) => {
    sockets.push(socket)
    socket.on('error', () => undefined)
  })
  await new Promise<void>((resolve) => server.listen(path, resolve))
  try {
    for (const timeout of ['', '6s']) {
      const hub = await startHub()
      const agent = agentFor(hub, { DOCKER_HOST: `unix://${path}`, ...(timeout ? { DOCKER_TIMEOUT: timeout } : {}) })
      const connection = await hub.nextAccepted(30_000)
      const setting = `DOCKER_TIMEOUT=${timeout || 'default (2100ms)'}`
      const first = performance.now()
      const answer = await connection.request(0, new Map([[0, 60_000]]), { timeoutMs: 10_000 }).catch(() => undefined)
      record('engine never answers', `first GetData (60 s window), ${setting}`, seconds(performance.now() - first), answer ? '' : 'no answer within 10 s')
      const latencies: number[] = []
      let late = 0
      for (let i = 0; i < 5; i++) {
        // each one past the 1 s window before it, so none is served from the cache
        await sleep(1_100)
        const at = performance.now()
        const reply = await connection.request(0, new Map([[0, 1_000]]), { timeoutMs: 5_000 }).catch(() => undefined)
        if (reply?.response.fields.get(1) instanceof Map) latencies.push(performance.now() - at)
        else late += 1
      }
      const range = latencies.length ? `${seconds(Math.min(...latencies))}–${seconds(Math.max(...latencies))}` : '—'
      record('engine never answers', `realtime GetData (1 s window), ${setting}`, range, `${late}/5 unanswered within the hub's 5 s`)
      agents.splice(agents.indexOf(agent), 1)
      await agent.stop()
    }
  } finally {
    for (const socket of sockets) socket.destroy()
    server.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

async function main(): Promise<void> {
  console.log(`fault scenarios against dist/bin.cjs (node ${process.version}); outages ${outages.join(', ')} s`)
  const steps: [Scenario, () => Promise<void>][] = [
    ['restart', restart],
    ['silent-tcp', silentTcp],
    ['unverified', unverified],
    ['watchdog', watchdog],
    ['ssh-flood', sshFlood],
    ['engine', engine],
  ]
  try {
    for (const [name, step] of steps) {
      if (!only.has(name)) continue
      try {
        await step()
      } catch (error) {
        record(name, 'scenario failed', (error as Error).message)
        process.exitCode = 1
      }
      for (const agent of agents.splice(0)) {
        if (agent.exit !== undefined) record(name, 'agent exited', JSON.stringify(agent.exit), agent.stderr().slice(-300))
        await agent.stop()
      }
      await Promise.all(hubs.splice(0).map((hub) => hub.stop()))
    }
  } finally {
    for (const agent of agents) await agent.stop()
    for (const hub of hubs) await hub.stop()
  }
  console.log('\n| scenario | figure | value | note |\n|---|---|---|---|')
  for (const row of rows) console.log(`| ${row.scenario} | ${row.figure} | ${row.value} | ${row.note} |`)
}

await main()
