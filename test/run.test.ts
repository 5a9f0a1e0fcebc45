/** `sonar-agent run` as users run it: `node dist/bin.cjs run` in a child process, against the test hub. */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { TestHub } from './hub/test-hub.js'

const BIN = new URL('../dist/bin.cjs', import.meta.url).pathname
const dirs: string[] = []
const children: ChildProcess[] = []
const hubs: TestHub[] = []

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sonar-run-'))
  dirs.push(dir)
  return dir
}

/** A clean environment: nothing of the developer's SONAR/BESZEL/KEY settings leaks in. */
function baseEnv(dir: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: dir, TMPDIR: dir, DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'debug' }
}

interface Child {
  process: ChildProcess
  stderr: () => string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

function startCli(args: string[], env: NodeJS.ProcessEnv, nodeArgs: string[] = []): Child {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run build:ts first`)
  const child = spawn(process.execPath, [...nodeArgs, BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  return { process: child, stderr: () => stderr, exited }
}

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL')
  await Promise.all(hubs.splice(0).map((hub) => hub.stop()))
})
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe('sonar-agent run', () => {
  it('connects to the hub, answers GetData, and on SIGTERM closes with 1000 and removes the health file', async () => {
    const hub = await TestHub.start()
    hubs.push(hub)
    const dir = tempDir()
    const agent = startCli(['run'], {
      ...baseEnv(dir),
      SONAR_AGENT_HUB_URL: hub.url,
      BESZEL_AGENT_TOKEN: hub.token,
      KEY: hub.publicKeyLine,
      DISABLE_SSH: 'true',
    })
    const connection = await hub.nextAccepted(15_000)
    // the fingerprint is this machine's (48 hex) and kept in DATA_DIR
    expect(hub.fingerprint).toMatch(/^[0-9a-f]{48}$/)
    expect(readFileSync(join(dir, 'data', 'fingerprint'), 'utf8')).toBe(hub.fingerprint)
    const reply = await connection.getData(60_000)
    expect(reply.response.id).toBe(2)
    expect(reply.response.fields.get(1)).toBeInstanceOf(Map)
    const health = join(dir, 'sonar-agent_health')
    expect(existsSync(health)).toBe(true)

    agent.process.kill('SIGTERM')
    const [exit, closed] = await Promise.all([agent.exited, connection.closed])
    expect(exit).toEqual({ code: 0, signal: null })
    expect(closed.code).toBe(1000)
    expect(existsSync(health)).toBe(false)
    expect(agent.stderr()).toMatch(/stopping signal=SIGTERM/)
    expect(agent.stderr()).not.toContain(hub.token)
  })

  it('CLI flags (-u, -t, single-dash -key) beat the environment; SIGINT also exits 0', async () => {
    const hub = await TestHub.start()
    hubs.push(hub)
    const dir = tempDir()
    const agent = startCli(['run', '-u', hub.url, '-t', hub.token, '-key', hub.publicKeyLine], {
      ...baseEnv(dir),
      HUB_URL: 'http://127.0.0.1:1',
      TOKEN: 'wrong',
      KEY: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea other',
      DISABLE_SSH: 'true',
    })
    const connection = await hub.nextAccepted(15_000)
    expect((await connection.getData(1_000)).response.fields.get(1)).toBeInstanceOf(Map)
    agent.process.kill('SIGINT')
    expect(await agent.exited).toEqual({ code: 0, signal: null })
    expect((await connection.closed).code).toBe(1000)
  })

  it('footprint: with SSH enabled but WebSocket verified, ssh2 and proxy-agent are never loaded', async () => {
    const hub = await TestHub.start()
    hubs.push(hub)
    const dir = tempDir()
    const preload = join(dir, 'modules.cjs')
    const out = join(dir, 'modules.txt')
    writeFileSync(preload, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(out)}, Object.keys(require.cache).join('\\n')))\n`)
    const agent = startCli(['run'], { ...baseEnv(dir), HUB_URL: hub.url, TOKEN: hub.token, KEY: hub.publicKeyLine, LISTEN: '127.0.0.1:45999' }, ['--require', preload])
    const connection = await hub.nextAccepted(15_000)
    await connection.getData(60_000)
    agent.process.kill('SIGTERM')
    expect((await agent.exited).code).toBe(0)
    const modules = readFileSync(out, 'utf8').split('\n')
    // the capture works (the preload itself is listed); ws and the rest are bundled into dist/bin.cjs
    expect(modules.some((m) => m.endsWith('modules.cjs'))).toBe(true)
    expect(modules.filter((m) => /node_modules\/(ssh2|proxy-agent|cpu-features)\//.test(m))).toEqual([])
  })

  it('EXIT_ON_DNS_ERROR=true: a hub name that does not resolve stops the agent with status 1', async () => {
    const dir = tempDir()
    const hub = await TestHub.start()
    hubs.push(hub)
    const env = { ...baseEnv(dir), HUB_URL: 'http://sonar-hub.invalid:8090', TOKEN: 'x', KEY: hub.publicKeyLine, DISABLE_SSH: 'true' }
    const agent = startCli(['run'], { ...env, EXIT_ON_DNS_ERROR: 'true' })
    const exit = await agent.exited
    expect(exit.code).toBe(1)
    expect(agent.stderr()).toMatch(/EXIT_ON_DNS_ERROR=true: exiting/)

    // without it, the same failure is retried
    const retrying = startCli(['run'], env)
    await new Promise((resolve) => setTimeout(resolve, 1500))
    expect(retrying.process.exitCode).toBeNull()
    expect(retrying.stderr()).toMatch(/connect failed/)
    retrying.process.kill('SIGTERM')
    expect((await retrying.exited).code).toBe(0)
  })

  it('without HUB_URL and KEY: one line saying what to set, exit 1', async () => {
    const dir = tempDir()
    const agent = startCli(['run'], baseEnv(dir))
    const exit = await agent.exited
    expect(exit.code).toBe(1)
    const lines = agent.stderr().trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^sonar-agent: /)
    expect(lines[0]).toMatch(/KEY/)
    expect(lines[0]).toMatch(/HUB_URL/)
  })

  it('SMART_DEVICES entries that look like options are refused at start, naming SMART_DEVICES', async () => {
    const hub = await TestHub.start()
    hubs.push(hub)
    const dir = tempDir()
    const agent = startCli(['run'], { ...baseEnv(dir), KEY: hub.publicKeyLine, DISABLE_SSH: 'false', SMART_DEVICES: '/dev/sda,--smart=off' })
    expect((await agent.exited).code).toBe(1)
    expect(agent.stderr()).toMatch(/^sonar-agent: SMART_DEVICES: "\/dev\/sda,--smart=off" lists "--smart=off", which looks like a command-line option/)
  })

  it('silent degradation is said once: a missing HOST_PROC, EXTRA_FILESYSTEMS naming nothing, a DATA_DIR that is a file', async () => {
    const hub = await TestHub.start()
    hubs.push(hub)
    const dir = tempDir()
    const notADir = join(dir, 'data-file')
    writeFileSync(notADir, 'x')
    // the fallback must be the test's own HOME, never the machine's /var/lib/sonar-agent (which,
    // as root, would be created and then shadow every later test's DATA_DIR)
    mkdirSync(join(dir, '.config', 'sonar-agent'), { recursive: true })
    const agent = startCli(['run'], {
      ...baseEnv(dir),
      HUB_URL: hub.url,
      TOKEN: hub.token,
      KEY: hub.publicKeyLine,
      DISABLE_SSH: 'true',
      DATA_DIR: notADir,
      HOST_PROC: join(dir, 'no-such-proc'),
      EXTRA_FILESYSTEMS: 'no-such-disk__Backup',
    })
    const connection = await hub.nextAccepted(15_000)
    await connection.getData(60_000)
    await connection.getData(1000)
    const stderr = agent.stderr()
    agent.process.kill('SIGTERM')
    await agent.exited
    const lines = (needle: string) => stderr.split('\n').filter((line) => line.includes(needle))
    expect(lines(`HOST_PROC: ${join(dir, 'no-such-proc')} does not exist`)).toHaveLength(1)
    expect(lines('EXTRA_FILESYSTEMS: "no-such-disk" matches no')).toHaveLength(1)
    expect(lines(`DATA_DIR=${notADir} is not a directory: using ${join(dir, '.config', 'sonar-agent')} instead`)).toHaveLength(1)
    for (const needle of ['HOST_PROC:', 'EXTRA_FILESYSTEMS:', 'DATA_DIR=']) expect(lines(needle)[0]).toMatch(/ WARN /)
  })

  it('an unknown flag is a usage error', async () => {
    const dir = tempDir()
    const agent = startCli(['run', '--bogus'], baseEnv(dir))
    expect((await agent.exited).code).toBe(2)
    expect(agent.stderr()).toMatch(/bogus/)
  })
})
