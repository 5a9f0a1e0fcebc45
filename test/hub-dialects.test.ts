/**
 * The real agent against both Beszel hub generations it meets (spec beszel-v0.18.md): the test hub
 * playing 0.17 and 0.18.8 (test/hub/test-hub.ts, the dev hub's poller), the dev hub dialling over SSH,
 * and one agent serving both. `node dist/bin.cjs run` where the process is what matters (SMART,
 * SMART_INTERVAL, reconnects); the in-process agent where timings must be short. A fake smartctl
 * on PATH answers with the core's SMART fixtures (this VM has no SMART disk).
 *
 * Several tests need the agent's v0.18 shape (Details on IncludeDetails, no legacy Info, key 8);
 * their names say "(v0.18 agent)".
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, release, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { Decoder } from 'cbor-x'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { Agent } from '../ts/agent.js'
import { openCollector } from '../ts/collector.js'
import { loadConfig } from '../ts/config/config.js'
import { startDevHub, type DevHub } from '../ts/hub/hub.js'
import { loadHubIdentity } from '../ts/hub/keys.js'
import { SshDial } from '../ts/hub/ssh-dial.js'
import { HubStore } from '../ts/hub/store.js'
import { parseAuthorizedKeys } from '../ts/identity/keys.js'
import { createLogger, silentLogger } from '../ts/log.js'
import { decodeResponse } from '../ts/protocol/envelope.js'
import { SshServer } from '../ts/transport/ssh-server.js'
import { startAgentProcess, type AgentProcess } from './helpers/agent-process.js'
import { freePort } from './helpers/net.js'
import { dataPayloadBytes, TestHub, type HubConnection } from './hub/test-hub.js'
import { until as pollUntil } from './helpers/until.js'

const FIXTURES = new URL('../crates/sonar-core/tests/fixtures/smart/', import.meta.url).pathname
const SDA = '9C40918040082'
const NVME = '2024031600129'
/** Info keys a v0.18.8 agent never fills (§3.4) */
const LEGACY_INFO_KEYS = [0, 1, 2, 4, 11, 14]
const decoder = new Decoder({ mapsAsObjects: false, int64AsNumber: true } as ConstructorParameters<typeof Decoder>[0])

const dirs: string[] = []
const agents: AgentProcess[] = []
const inProcess: Agent[] = []
const hubs: TestHub[] = []
const devHubs: DevHub[] = []
const cleanups: (() => Promise<void> | void)[] = []

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sonar-dialects-'))
  dirs.push(dir)
  return dir
}

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  await Promise.all(inProcess.splice(0).map((agent) => agent.stop()))
  await Promise.all(agents.splice(0).map((agent) => agent.stop()))
  await Promise.all(hubs.splice(0).map((hub) => hub.stop()))
  await Promise.all(devHubs.splice(0).map((hub) => hub.close()))
})
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/** polls with the shared helper; this file's waits default to 20 s */
const until = <T,>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000) => pollUntil(what, probe, timeoutMs)

/** PRETTY_NAME of /etc/os-release as the agent reads it (§3.1). */
function prettyName(): string {
  const line = readFileSync('/etc/os-release', 'utf8').split('\n').find((l) => l.startsWith('PRETTY_NAME=')) ?? ''
  return line.slice('PRETTY_NAME='.length).replace(/^"+|"+$/g, '')
}

const unameMachine = () => execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim()

/** A smartctl on PATH that scans the serials' devices and answers with the core's fixtures. */
function fakeSmartctl(devices: ('sda' | 'nvme0')[]): { bin: string; scan(devices: ('sda' | 'nvme0')[]): void } {
  const bin = tempDir()
  const scan = (list: ('sda' | 'nvme0')[]) => {
    const entries = list.map((d) => (d === 'sda' ? { name: '/dev/sda', info_name: '/dev/sda [SAT]', type: 'sat', protocol: 'ATA' } : { name: '/dev/nvme0', info_name: '/dev/nvme0', type: 'nvme', protocol: 'NVMe' }))
    writeFileSync(join(bin, 'scan.json'), JSON.stringify({ devices: entries }))
  }
  scan(devices)
  writeFileSync(
    join(bin, 'smartctl'),
    [
      '#!/bin/sh',
      'case "$*" in',
      `  *--scan*) cat "${bin}/scan.json" ;;`,
      `  *--version*) echo "smartctl 7.5 2025-04-30 r5714 [x86_64-linux] (local build)" ;;`,
      `  */dev/nvme0*) cat "${FIXTURES}nvme0.json" ;;`,
      // exit status 64 as captured (an error-log entry, not a failure)
      `  */dev/sda*) cat "${FIXTURES}sda.json"; exit 64 ;;`,
      '  *) exit 2 ;;',
      'esac',
      '',
    ].join('\n'),
    { mode: 0o755 },
  )
  return { bin, scan }
}

/** `node dist/bin.cjs run` against the test hub, WebSocket only, no container engine. */
function runAgent(hub: TestHub, env: Record<string, string> = {}): AgentProcess {
  const agent = startAgentProcess({ HUB_URL: hub.url, TOKEN: hub.token, KEY: hub.publicKeyLine, DISABLE_SSH: 'true', DOCKER_HOST: '', SKIP_GPU: 'true', LOG_LEVEL: 'debug', ...env })
  agents.push(agent)
  return agent
}

/** The CombinedData Maps of a connection's GetData answers, in arrival order. */
function dataReplies(connection: HubConnection): Map<number, unknown>[] {
  return connection.received
    .map((frame) => ({ frame, response: decodeResponse(frame) }))
    .filter(({ response }) => response.fields.get(1) instanceof Map)
    .map(({ frame }) => decoder.decode(dataPayloadBytes(frame)) as Map<number, unknown>)
}

function infoKeys(data: Map<number, unknown>): number[] {
  return [...(data.get(1) as Map<number, unknown>).keys()]
}

function system(connection: HubConnection) {
  const polling = connection.system
  if (!polling) throw new Error('the hub does not play Beszel on this connection')
  return polling
}

describe('a Beszel 0.17 hub (GetData without key 1)', () => {
  it('sees neither key 4 nor key 8, stores today\'s Info fields, and fetches SMART once after the first data write', async () => {
    const hub = await TestHub.start({ beszel: '0.17' })
    hubs.push(hub)
    const smartctl = fakeSmartctl(['sda', 'nvme0'])
    const agent = runAgent(hub, { PATH: `${smartctl.bin}:${process.env.PATH ?? ''}` })
    const connection = await hub.nextAccepted(15_000)
    const polling = system(connection)
    await polling.settled()
    await polling.poll(60_000)
    await polling.poll(1_000)
    await polling.settled()

    expect(polling.counts).toEqual({ includeDetailsSent: 0, detailsReplies: 0, smartRequests: 1, smartCompleteReplies: 0 })
    const replies = dataReplies(connection)
    expect(replies).toHaveLength(3)
    for (const data of replies) expect(data.has(4)).toBe(false)
    for (const fields of connection.received.map((frame) => decodeResponse(frame).fields)) expect(fields.has(8)).toBe(false)

    const stored = hub.stored()
    expect(stored.details).toBeUndefined()
    expect(stored.info).toMatchObject({ h: hostname(), k: release(), os: 0 })
    expect(stored.info?.c).toBeGreaterThan(0)
    expect(stored.info?.m).not.toBe('')
    expect(hub.store.get(hub.fingerprint ?? '')?.name).toBe(hostname())
    // both fixture disks, keyed by serial; nothing pruned ever
    expect([...stored.smart.values()].map((r) => r.key).sort()).toEqual([NVME, SDA])
    expect(agent.exit).toBeUndefined()
  }, 60_000)
})

describe('a Beszel 0.18.8 hub (GetData with key 1)', () => {
  it('(v0.18 agent) gets Details on the first 60 s poll, stores no legacy Info, stops asking once stored; SMART in the background', async () => {
    const hub = await TestHub.start({ beszel: '0.18.8' })
    hubs.push(hub)
    const smartctl = fakeSmartctl(['sda', 'nvme0'])
    runAgent(hub, { PATH: `${smartctl.bin}:${process.env.PATH ?? ''}`, SMART_INTERVAL: '2h' })
    const connection = await hub.nextAccepted(15_000)
    const polling = system(connection)
    await polling.settled()

    const [first] = dataReplies(connection)
    expect(first?.has(4)).toBe(true)
    expect(infoKeys(first ?? new Map()).filter((key) => LEGACY_INFO_KEYS.includes(key))).toEqual([])
    const stored = hub.stored()
    expect(stored.details?.source).toBe('agent')
    expect(stored.details?.details).toMatchObject({
      Hostname: hostname(),
      Kernel: release(),
      Os: 0,
      OsName: prettyName(),
      Arch: unameMachine(),
      MemoryTotal: totalmem(),
      SmartInterval: 7_200_000_000_000,
    })
    expect(unameMachine()).toBe('x86_64')
    expect(stored.details?.details.CpuModel).not.toBe('')
    expect(stored.details?.details.Threads).toBeGreaterThanOrEqual(stored.details?.details.Cores ?? 1)
    expect(stored.info).toMatchObject({ h: '', c: 0, m: '', os: 0 })
    expect(stored.info?.k).toBeUndefined()
    expect(stored.info?.p).toBeUndefined()

    await polling.poll(60_000)
    await polling.poll(1_000)
    await polling.settled()
    expect(polling.counts.includeDetailsSent).toBe(1)
    expect(polling.counts.detailsReplies).toBe(1)
    expect(hub.stored().detailsWrites.map((w) => w.source)).toEqual(['agent'])
    // SMART once details were stored, with key 8; the 2 h interval has not passed
    expect(polling.counts.smartRequests).toBe(1)
    expect(polling.counts.smartCompleteReplies).toBe(1)
    expect([...hub.stored().smart.values()].map((r) => r.key).sort()).toEqual([NVME, SDA])
  }, 60_000)

  it('(v0.18 agent) a reconnect within the agent\'s 30 s cache: the hub still ends up with the agent\'s Details, never synthesized ones', async () => {
    const hub = await TestHub.start({ beszel: '0.18.8' })
    hubs.push(hub)
    runAgent(hub, { SMART_DEVICES: '' })
    const first = await hub.nextAccepted(15_000)
    await system(first).settled()
    const freshAt = Date.now()
    expect(hub.stored().details?.source).toBe('agent')

    hub.dropAll()
    const second = await hub.nextAccepted(15_000)
    const polling = system(second)
    await polling.settled()
    // the scenario: the second connection's first 60 s poll came within the 30 s the answer stays cached
    expect(Date.now() - freshAt).toBeLessThan(30_000)
    expect(polling.counts.includeDetailsSent).toBe(1)
    expect(polling.counts.detailsReplies).toBe(1)
    expect(dataReplies(second)[0]?.has(4)).toBe(true)
    const writes = hub.stored().detailsWrites
    expect(writes.map((w) => w.source)).toEqual(['agent', 'agent'])
    expect(hub.stored().details?.details).toMatchObject({ OsName: prettyName(), Arch: unameMachine() })
  }, 60_000)

  it('(v0.18 agent) SMART_INTERVAL reaches the hub; after a restart without the NVMe disk its row is pruned (key 8)', async () => {
    const hub = await TestHub.start({ beszel: '0.18.8' })
    hubs.push(hub)
    const smartctl = fakeSmartctl(['sda', 'nvme0'])
    const dataDir = tempDir()
    const env = { PATH: `${smartctl.bin}:${process.env.PATH ?? ''}`, SMART_INTERVAL: '1s', DATA_DIR: dataDir }
    const before = runAgent(hub, env)
    const first = await hub.nextAccepted(15_000)
    await system(first).settled()
    expect(hub.stored().details?.details.SmartInterval).toBe(1_000_000_000)
    expect([...hub.stored().smart.values()].map((r) => r.key).sort()).toEqual([NVME, SDA])
    const sdaRecord = [...hub.stored().smart.values()].find((r) => r.key === SDA)
    expect(sdaRecord).toMatchObject({ name: '/dev/sda', model: 'P3-2TB', state: 'PASSED', capacity: 2048408248320, temp: 31, serial: SDA })

    // the disk is gone: a new agent process (same fingerprint) scans only /dev/sda
    await before.stop()
    smartctl.scan(['sda'])
    await new Promise((resolve) => setTimeout(resolve, 1_100))
    runAgent(hub, env)
    const second = await hub.nextAccepted(15_000)
    const polling = system(second)
    await polling.settled()
    expect(polling.counts.smartRequests).toBe(1)
    expect(polling.counts.smartCompleteReplies).toBe(1)
    expect([...hub.stored().smart.values()].map((r) => r.key)).toEqual([SDA])
  }, 60_000)
})

// ---------------------------------------------------------------------------------------------
// One agent, both generations. The connection manager runs the SSH server only while no WebSocket
// session is verified, so an old hub's SSH polls and a new hub's WebSocket polls meet around the
// switch (first test); the second keeps both connections open on one dispatcher to check that
// nothing of one hub's dialect leaks into the other's answers.

interface InProcess {
  agent: Agent
  logText: () => string
}

function startInProcess(env: Record<string, string>, tuning: NonNullable<ConstructorParameters<typeof Agent>[0]['tuning']> = {}): InProcess {
  const settings = { DATA_DIR: tempDir(), DOCKER_HOST: '', SMART_DEVICES: '', SKIP_GPU: 'true', ...env }
  const config = loadConfig({}, settings, { defaultConfigFile: join(tempDir(), 'none.yml') })
  const logs: string[] = []
  const agent = new Agent({
    config,
    collector: openCollector(settings),
    fingerprint: 'b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4',
    logger: createLogger('debug', { write: (line: string) => logs.push(line) }),
    userAgent: 'sonar-agent/9.9.9-test',
    healthFile: false,
    env: {},
    tuning: { backoff: { baseMs: 50, capMs: 400 }, ...tuning },
  })
  inProcess.push(agent)
  agent.start()
  return { agent, logText: () => logs.join('') }
}

describe('one agent, a Beszel 0.17 hub and a Beszel 0.18.8 hub', () => {
  it('(v0.18 agent) one agent: a 0.17 hub over SSH until a 0.18.8 hub admits it over WebSocket; each stores its own shape', async () => {
    const wsHub = await TestHub.start({ beszel: '0.18.8' })
    hubs.push(wsHub)
    const token = wsHub.token
    // the WebSocket hub refuses the agent at first (401): the agent falls back to its SSH server
    wsHub.token = 'not-admitted-yet'
    const devDir = tempDir()
    const devIdentity = await loadHubIdentity(devDir)
    const port = await freePort()
    const { agent, logText } = startInProcess(
      { HUB_URL: wsHub.url, TOKEN: token, KEY: `${wsHub.publicKeyLine}\n${devIdentity.publicKey}`, DISABLE_SSH: 'false', LISTEN: `127.0.0.1:${port}` },
      { sshGraceMs: 100 },
    )
    await until(`the SSH server (log: ${logText()})`, () => /SSH server listening/.test(logText()))
    const sshHub = await startDevHub({ dataDir: devDir, port: 0, version: '0.17', ssh: [`127.0.0.1:${port}`] })
    devHubs.push(sshHub)
    const sshId = `ssh:127.0.0.1:${port}`
    const sshSample = await until('a 60 s sample over SSH', () => sshHub.store.history(sshId).find((s) => s.cacheTimeMs === 60_000))
    expect(sshSample.data.info).toMatchObject({ h: hostname(), k: release() })
    expect(sshSample.data.info.m).not.toBe('')
    const sshPolledAt = Date.now()

    wsHub.token = token
    const connection = await wsHub.nextAccepted(15_000)
    const polling = system(connection)
    await polling.settled()
    // the 0.17 hub's SSH poll was answered moments ago: the 0.18.8 hub's first poll meets the same 60 s snapshot
    expect(Date.now() - sshPolledAt).toBeLessThan(30_000)
    const [first] = dataReplies(connection)
    expect(first?.has(4)).toBe(true)
    expect(infoKeys(first ?? new Map()).filter((key) => LEGACY_INFO_KEYS.includes(key))).toEqual([])
    expect(wsHub.stored().details?.source).toBe('agent')
    expect(wsHub.stored().details?.details).toMatchObject({ Hostname: hostname(), OsName: prettyName(), Arch: unameMachine() })

    // the verified WebSocket session stops the SSH server; what the 0.17 hub stored keeps its shape
    await until('the SSH hub losing the agent', () => sshHub.store.get(sshId)?.connected === false)
    expect(sshHub.store.details(sshId)).toBeUndefined()
    for (const sample of sshHub.store.history(sshId)) expect(sample.data.info.h).toBe(hostname())
    expect(sshHub.dials()[0]?.polling?.counts.detailsReplies ?? 0).toBe(0)
    expect(agent.manager.state).toBe('websocket')
  }, 60_000)

  it('(v0.18 agent) both connections open on one dispatcher, polls interleaved: each answer has its hub\'s shape', async () => {
    const wsHub = await TestHub.start({ beszel: '0.18.8' })
    hubs.push(wsHub)
    const { agent } = startInProcess({ HUB_URL: wsHub.url, TOKEN: wsHub.token, KEY: wsHub.publicKeyLine, DISABLE_SSH: 'true' })
    const connection = await wsHub.nextAccepted(15_000)
    const polling = system(connection)
    await polling.settled()

    // the same agent's dispatcher and collector behind a second transport, as the SSH fallback builds it
    const devDir = tempDir()
    const devIdentity = await loadHubIdentity(devDir)
    const server = new SshServer({
      listen: { network: 'tcp', host: '127.0.0.1', port: 0, text: '127.0.0.1:0' },
      keys: () => parseAuthorizedKeys(devIdentity.publicKey),
      hostKeyPath: undefined,
      dispatcher: agent.dispatcher,
      legacyPayload: () => Promise.reject(new Error('not a legacy hub')),
      protocolVersion: '0.17.0',
      logger: silentLogger,
    })
    await server.start()
    cleanups.push(() => server.stop())
    const port = Number(server.address.slice(server.address.lastIndexOf(':') + 1))
    const store = new HubStore()
    const dial = new SshDial({ target: { host: '127.0.0.1', port, label: `127.0.0.1:${port}` }, privateKey: devIdentity.privateKey, store, logger: silentLogger, version: '0.17', intervalMs: 3_600_000 })
    dial.start()
    cleanups.push(() => dial.stop())
    const sshPolling = await until('the SSH hub polling', () => dial.polling)
    await sshPolling.settled()

    for (let round = 0; round < 2; round++) {
      await polling.poll(60_000)
      await sshPolling.poll(60_000)
      await polling.poll(1_000)
      await sshPolling.poll(1_000)
    }
    await polling.settled()
    await sshPolling.settled()
    expect(connection.open).toBe(true)

    // WebSocket (0.18.8): Details once, never a legacy Info field
    const replies = dataReplies(connection)
    expect(replies).toHaveLength(5)
    expect(replies.map((data) => data.has(4))).toEqual([true, false, false, false, false])
    for (const data of replies) expect(infoKeys(data).filter((key) => LEGACY_INFO_KEYS.includes(key))).toEqual([])
    expect(wsHub.stored().details?.source).toBe('agent')
    // SSH (0.17): the legacy Info fields in every answer, no Details
    const sshSamples = store.history(dial.id)
    expect(sshSamples).toHaveLength(5)
    for (const sample of sshSamples) {
      expect(sample.data.info.h).toBe(hostname())
      expect(sample.data.info.m).not.toBe('')
    }
    expect(sshPolling.counts.detailsReplies).toBe(0)
    expect(store.details(dial.id)).toBeUndefined()
  }, 60_000)
})

describe('the fake smartctl itself', () => {
  it('scans what the test says and answers with the fixtures', () => {
    const smartctl = fakeSmartctl(['nvme0'])
    const run = (...args: string[]) => {
      try {
        return execFileSync(join(smartctl.bin, 'smartctl'), args, { encoding: 'utf8' })
      } catch (error) {
        return (error as { stdout: string }).stdout
      }
    }
    expect(JSON.parse(run('--scan', '-j')) as unknown).toEqual({ devices: [{ name: '/dev/nvme0', info_name: '/dev/nvme0', type: 'nvme', protocol: 'NVMe' }] })
    expect((JSON.parse(run('-d', 'sat', '-a', '--json=c', '/dev/sda')) as { serial_number: string }).serial_number).toBe(SDA)
  })
})
