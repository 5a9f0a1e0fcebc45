/**
 * The dev hub's connection side with real agents: `node dist/bin.cjs run` children dial it over
 * WebSocket (both route prefixes) or are dialled over SSH; verification, pinning and polling are
 * checked through the hub's store and both sides' logs.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, release, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { startDevHub, type DevHub } from '../ts/hub/hub.js'
import { loadHubIdentity } from '../ts/hub/keys.js'
import type { HubSample } from '../ts/hub/store.js'
import { createLogger } from '../ts/log.js'
import { freePort } from './helpers/net.js'
import { until } from './helpers/until.js'

const BIN = new URL('../dist/bin.cjs', import.meta.url).pathname
const dirs: string[] = []
const children: ChildProcess[] = []
const hubs: DevHub[] = []

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sonar-devhub-'))
  dirs.push(dir)
  return dir
}

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  await Promise.all(hubs.splice(0).map((hub) => hub.close()))
})
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

interface Agent {
  process: ChildProcess
  log: () => string
  exited: Promise<number | null>
}

/** A real agent: the built CLI, nothing of the developer's environment, slow sources off. */
function startAgent(env: Record<string, string>, fingerprint?: string): Agent {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run build:ts first`)
  const dir = tempDir()
  const dataDir = join(dir, 'data')
  mkdirSync(dataDir)
  if (fingerprint) writeFileSync(join(dataDir, 'fingerprint'), fingerprint)
  const child = spawn(process.execPath, [BIN, 'run'], {
    env: { PATH: process.env.PATH, HOME: dir, TMPDIR: dir, DATA_DIR: dataDir, LOG_LEVEL: 'debug', DOCKER_HOST: '', SMART_DEVICES: '', SKIP_GPU: 'true', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  children.push(child)
  let log = ''
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { process: child, log: () => log, exited }
}

async function startHub(options: Partial<Parameters<typeof startDevHub>[0]> = {}): Promise<{ hub: DevHub; log: () => string }> {
  let log = ''
  const logger = createLogger('debug', { write: (line: string) => (log += line) })
  const hub = await startDevHub({ dataDir: tempDir(), port: 0, logger, ...options })
  hubs.push(hub)
  return { hub, log: () => log }
}


const agentEnv = (hub: DevHub, extra: Record<string, string> = {}) => ({ HUB_URL: hub.agentUrl, TOKEN: hub.token, KEY: hub.key, DISABLE_SSH: 'true', ...extra })

describe('dev hub: WebSocket agents', () => {
  it('verifies an agent on /api/sonar, pins its fingerprint and stores named samples', async () => {
    // a 0.17 hub stores Info as sent (a 0.18.8 hub clears the legacy fields: the test after this one)
    const { hub } = await startHub({ version: '0.17' })
    const agent = startAgent(agentEnv(hub), 'fp-sonar-route')
    const system = await until('a connected system', () => hub.store.list().find((s) => s.connected && s.lastSampleAt !== null))
    // the version of the upgrade's X-Beszel header: the newest dialect the agent speaks
    expect(system).toMatchObject({ id: 'fp-sonar-route', transport: 'websocket', address: '127.0.0.1', agentVersion: '0.18.8' })
    expect(hub.sessions().map((s) => s.route)).toEqual(['/api/sonar/agent-connect'])
    const sample = hub.store.latest(system.id) as HubSample
    expect(sample.cacheTimeMs).toBe(60_000)
    expect(sample.data.stats.cpu).toBeGreaterThanOrEqual(0)
    expect(sample.data.stats.m).toBeGreaterThan(0)
    expect(sample.data.info.h).not.toBe('')
    expect(system.name).toBe(sample.data.info.h)
    expect(sample.data.info.ct).toBe(2)

    agent.process.kill('SIGTERM')
    expect(await agent.exited).toBe(0)
    await until('the system marked disconnected', () => hub.store.get(system.id)?.connected === false)
  })

  it('by default plays a 0.18.8 hub: asks for Details, stores them (named by their hostname) and clears the legacy Info it saves', async () => {
    const { hub } = await startHub()
    expect(hub.version).toBe('0.18.8')
    startAgent(agentEnv(hub), 'fp-v018')
    const stored = await until('stored details', () => hub.store.details('fp-v018'))
    expect(stored.details).toMatchObject({ Hostname: hostname(), Kernel: release() })
    expect(stored.details.CpuModel).not.toBe('')
    expect(stored.details.MemoryTotal).toBeGreaterThan(0)
    const system = hub.store.get('fp-v018')
    expect(system).toMatchObject({ name: hostname(), hubVersion: '0.18.8' })
    const sample = hub.store.history('fp-v018').find((s) => s.cacheTimeMs === 60_000) as HubSample
    expect(sample.data.info).toMatchObject({ h: '', c: 0, m: '', os: 0 })
    expect(sample.data.info.k).toBeUndefined()
    const polling = hub.sessions()[0]?.polling
    expect(polling?.counts.includeDetailsSent).toBe(1)
    expect(polling?.detailsFetched).toBe(true)
  })

  it('accepts the Beszel prefix (HUB_FLAVOR=beszel) the same way', async () => {
    const { hub } = await startHub()
    startAgent(agentEnv(hub, { HUB_FLAVOR: 'beszel' }), 'fp-beszel-route')
    await until('a sample', () => hub.store.latest('fp-beszel-route'))
    expect(hub.sessions().map((s) => s.route)).toEqual(['/api/beszel/agent-connect'])
  })

  it('signs the agent’s nonce on /api/sonar (REQUIRE_HUB_NONCE=true is satisfied), the token alone on /api/beszel', async () => {
    const { hub, log } = await startHub()
    const strict = startAgent(agentEnv(hub, { REQUIRE_HUB_NONCE: 'true' }), 'fp-nonce')
    await until('a sample from the strict agent', () => hub.store.latest('fp-nonce'))
    expect(strict.log()).toMatch(/hub verified .*hubProof=nonce/)
    expect(log()).toMatch(/agent connected .*fingerprint=fp-nonce .*hubProof=nonce/)

    // another hub: this one has pinned its token to the first agent's fingerprint
    const other = await startHub()
    const beszel = startAgent(agentEnv(other.hub, { HUB_FLAVOR: 'beszel' }), 'fp-token')
    await until('a sample over the Beszel route', () => other.hub.store.latest('fp-token'))
    expect(beszel.log()).toMatch(/hub verified .*hubProof=token-only/)
    expect(other.log()).toMatch(/agent connected .*fingerprint=fp-token .*hubProof=token-only/)
  })

  it('refuses a malformed X-Sonar-Nonce with 400 before the upgrade', async () => {
    const { hub, log } = await startHub()
    const { WebSocket } = await import('ws')
    const status = await new Promise<number | undefined>((resolve) => {
      const socket = new WebSocket(`${hub.agentUrl.replace('http', 'ws')}/api/sonar/agent-connect`, {
        headers: { 'X-Token': hub.token, 'X-Beszel': '0.17.0', 'X-Sonar-Nonce': 'too-short' },
      })
      socket.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode)
        socket.terminate()
      })
      socket.once('open', () => resolve(101))
      socket.once('error', () => resolve(undefined))
    })
    expect(status).toBe(400)
    expect(log()).toMatch(/agent refused: X-Sonar-Nonce must be 32 bytes/)
  })

  it('polls GetData(60000) on the interval', async () => {
    const { hub } = await startHub({ intervalMs: 300 })
    startAgent(agentEnv(hub), 'fp-interval')
    await until('three regular samples', () => hub.store.history('fp-interval').filter((s) => s.cacheTimeMs === 60_000).length >= 3)
  })

  it('polls GetData(1000) every second only while the system is watched', async () => {
    const { hub, log } = await startHub()
    startAgent(agentEnv(hub), 'fp-watch')
    await until('the first sample', () => hub.store.latest('fp-watch'))
    const realtime = () => hub.store.history('fp-watch').filter((s) => s.cacheTimeMs === 1_000)
    expect(realtime()).toHaveLength(0)

    hub.store.watch('fp-watch', true)
    await until('two realtime samples', () => realtime().length >= 2, 5_000)
    const [a, b] = realtime()
    // 1 s apart, give or take a slow answer on a busy machine; never back to back
    expect((b as HubSample).at - (a as HubSample).at).toBeGreaterThanOrEqual(500)
    expect(log()).toMatch(/realtime polling started system=fp-watch/)

    hub.store.watch('fp-watch', false)
    const session = hub.sessions()[0]
    expect(session?.realtimeActive).toBe(false)
    // an answer already on its way may still land; after it, nothing more
    await until('no request in flight', () => session?.requests.inFlight === 0)
    const count = realtime().length
    await new Promise((resolve) => setTimeout(resolve, 1_600))
    expect(realtime()).toHaveLength(count)
  })

  it('refuses a wrong token with 401 before any upgrade', async () => {
    const { hub, log } = await startHub()
    const agent = startAgent(agentEnv(hub, { TOKEN: 'not-the-token' }))
    await until('the agent seeing the 401', () => /401/.test(agent.log()))
    expect(log()).toMatch(/agent refused: invalid token/)
    expect(hub.store.list()).toEqual([])
  })

  it('refuses a second host that presents the same token with another fingerprint', async () => {
    const dataDir = tempDir()
    const { hub, log } = await startHub({ dataDir })
    const first = startAgent(agentEnv(hub), 'fp-original')
    await until('the first agent', () => hub.store.latest('fp-original'))
    first.process.kill('SIGTERM')
    await first.exited

    const impostor = startAgent(agentEnv(hub), 'fp-impostor')
    await until('the refusal', () => /fingerprint mismatch/.test(log()))
    await until('the agent told why', () => /fingerprint mismatch/.test(impostor.log()))
    expect(hub.store.list().map((s) => s.id)).toEqual(['fp-original'])

    // the pin survives a hub restart on the same data folder (the impostor keeps redialling)
    impostor.process.kill('SIGTERM')
    await impostor.exited
    await hub.close()
    const restarted = await startHub({ dataDir })
    startAgent(agentEnv(restarted.hub), 'fp-impostor-again')
    await until('the refusal after the restart', () => /fingerprint mismatch/.test(restarted.log()))
    expect(restarted.hub.store.list()).toEqual([])
  })

  it('an agent whose KEY is another hub’s refuses the hub, and the hub records why', async () => {
    const { hub, log } = await startHub()
    const other = await loadHubIdentity(tempDir())
    const agent = startAgent(agentEnv(hub, { KEY: other.publicKey }), 'fp-wrong-key')
    await until('the agent refusing the hub', () => /hub signature matches no key in KEY/.test(agent.log()))
    await until('the hub told', () => /the agent refused this hub.*error="invalid signature - check KEY value"/.test(log()))
    expect(agent.log()).not.toMatch(/hub verified/)
    expect(hub.store.list()).toEqual([])
  })

  it('an agent that never answers the challenge is dropped after the wait (context deadline exceeded)', async () => {
    const { hub, log } = await startHub({ requestTimeoutMs: 500 })
    // a client that passes admission and then says nothing, as a Go agent with a wrong KEY does
    const { WebSocket } = await import('ws')
    const silent = new WebSocket(`${hub.agentUrl.replace('http', 'ws')}/api/beszel/agent-connect`, { headers: { 'X-Token': hub.token, 'X-Beszel': '0.17.0' } })
    const closed = new Promise<{ code: number; reason: string }>((resolve) => silent.once('close', (code, reason) => resolve({ code, reason: reason.toString() })))
    const frames: Buffer[] = []
    silent.on('message', (data: Buffer) => frames.push(data))
    expect(await closed).toEqual({ code: 1000, reason: 'context deadline exceeded' })
    expect(frames).toHaveLength(1) // the CheckFingerprint request, id 1
    expect(log()).toMatch(/did not answer the signature challenge/)
  })
})

describe('dev hub: SSH dial (--ssh)', () => {
  it('dials the agent’s SSH server with the hub key, polls it, and goes realtime when watched', async () => {
    const dataDir = tempDir()
    const identity = await loadHubIdentity(dataDir)
    const port = await freePort()
    const agent = startAgent({ KEY: identity.publicKey, LISTEN: `127.0.0.1:${port}` })
    await until('the agent listening', () => /SSH server listening/.test(agent.log()))
    const { hub, log } = await startHub({ dataDir, ssh: [`127.0.0.1:${port}`], version: '0.17' })
    const id = `ssh:127.0.0.1:${port}`
    const sample = await until('a sample over SSH', () => hub.store.latest(id))
    expect(hub.store.get(id)).toMatchObject({ transport: 'ssh', connected: true, agentVersion: '0.17.0', name: sample.data.info.h })
    expect(sample.data.stats.m).toBeGreaterThan(0)
    expect(agent.log()).toMatch(/sonar-dev-hub_0\.17\.0/)

    hub.store.watch(id, true)
    await until('realtime samples over SSH', () => hub.store.history(id).filter((s) => s.cacheTimeMs === 1_000).length >= 2, 5_000)
    hub.store.watch(id, false)
    expect(hub.dials()[0]?.realtimeActive).toBe(false)
    expect(log()).toMatch(/SSH agent connected/)
  })

  it('as a 0.18.8 hub over SSH: its banner says so, GetData carries IncludeDetails, details are stored', async () => {
    const dataDir = tempDir()
    const identity = await loadHubIdentity(dataDir)
    const port = await freePort()
    const agent = startAgent({ KEY: identity.publicKey, LISTEN: `127.0.0.1:${port}` })
    await until('the agent listening', () => /SSH server listening/.test(agent.log()))
    const { hub } = await startHub({ dataDir, ssh: [`127.0.0.1:${port}`] })
    const id = `ssh:127.0.0.1:${port}`
    const stored = await until('details over SSH', () => hub.store.details(id))
    expect(stored.details.Hostname).toBe(hostname())
    expect(hub.store.get(id)).toMatchObject({ transport: 'ssh', name: hostname(), hubVersion: '0.18.8' })
    expect(hub.dials()[0]?.polling?.counts.includeDetailsSent).toBe(1)
    expect(agent.log()).toMatch(/sonar-dev-hub_0\.18\.8/)
  })

  it('an SSH agent that does not know the hub key refuses it; the hub keeps redialling', async () => {
    const other = await loadHubIdentity(tempDir())
    const port = await freePort()
    const agent = startAgent({ KEY: other.publicKey, LISTEN: `127.0.0.1:${port}` })
    await until('the agent listening', () => /SSH server listening/.test(agent.log()))
    const { hub, log } = await startHub({ ssh: [`127.0.0.1:${port}`] })
    await until('two failed dials', () => (log().match(/SSH connection failed/g) ?? []).length >= 2, 8_000)
    expect(log()).toMatch(/All configured authentication methods failed/)
    expect(hub.store.latest(`ssh:127.0.0.1:${port}`)).toBeUndefined()
  })

  it('a bad --ssh value is an error naming the option', async () => {
    await expect(startDevHub({ dataDir: tempDir(), port: 0, ssh: ['nohostport'] })).rejects.toThrow(/--ssh "nohostport": expected host:port/)
  })
})
