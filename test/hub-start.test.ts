/**
 * `npm start` end to end, as a newcomer runs it: the start script in its own process group (what a
 * terminal's Ctrl-C reaches), the printed page URL, a real agent of this machine showing up on the
 * page's API, and a clean stop of both processes — no orphan left behind.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { freePort } from './helpers/net.js'
import { until as pollUntil } from './helpers/until.js'

const ROOT = new URL('..', import.meta.url).pathname
const dirs: string[] = []
const groups: ChildProcess[] = []

afterEach(() => {
  for (const child of groups.splice(0)) {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
})
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** polls with the shared helper; this file's waits default to 15 s */
const until = <T,>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000) => pollUntil(what, probe, timeoutMs, 100)

interface Started {
  child: ChildProcess
  output: () => string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  pageUrl: string
  agentPid: number
}

async function start(command: string, args: string[]): Promise<Started> {
  if (!existsSync(join(ROOT, 'dist/bin.cjs'))) throw new Error('dist/bin.cjs is missing: run npm run build:ts first')
  const home = mkdtempSync(join(tmpdir(), 'sonar-start-'))
  dirs.push(home)
  const port = await freePort()
  const child = spawn(command, [...args, '--port', String(port), '--data', join(home, 'hub')], {
    cwd: ROOT,
    detached: true, // its own process group, as a shell job is
    env: { PATH: process.env.PATH, HOME: home, TMPDIR: home, DOCKER_HOST: '', SMART_DEVICES: '', SKIP_GPU: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  groups.push(child)
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  const pageUrl = await until('the page URL', () => /Open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output)?.[1])
  expect(pageUrl).toBe(`http://127.0.0.1:${port}/`)
  const agentPid = Number(/agent: pid (\d+)/.exec(output)?.[1])
  expect(agentPid).toBeGreaterThan(0)
  return { child, output: () => output, exited, pageUrl, agentPid }
}

/** The page answers, and this machine's agent reached the hub with a sample. */
async function checkRunning(started: Started): Promise<void> {
  const page = await fetch(started.pageUrl)
  expect(page.status).toBe(200)
  expect(await page.text()).toMatch(/DEV HUB/i)
  const systems = await until('a connected system with a sample', async () => {
    const list = (await (await fetch(new URL('/api/systems', started.pageUrl))).json()) as { connected: boolean; lastSampleAt: number | null }[]
    return list.find((s) => s.connected && s.lastSampleAt !== null)
  })
  expect(systems).toBeDefined()
  expect(started.output()).toMatch(/DEV HUB — for trying SONAR and for tests/)
  expect(started.output()).toMatch(/KEY="ssh-ed25519 AAAA/)
}

describe('npm start', () => {
  it('Ctrl-C (SIGINT to the process group) stops the agent first, then the hub; exit 0, nothing left', async () => {
    const started = await start(process.execPath, [join(ROOT, 'scripts/start.mjs')])
    await checkRunning(started)
    process.kill(-(started.child.pid as number), 'SIGINT')
    expect(await started.exited).toEqual({ code: 0, signal: null })
    const output = started.output()
    expect(output).toMatch(/agent stopped status=0/)
    expect(output.indexOf('agent stopped')).toBeLessThan(output.indexOf('hub: stopped'))
    expect(alive(started.agentPid)).toBe(false)
  })

  it('SIGTERM to the hub alone also stops its agent (no orphan)', async () => {
    const started = await start(process.execPath, [join(ROOT, 'scripts/start.mjs')])
    await until('the agent connected', () => (/agent connected/.test(started.output()) ? true : undefined))
    process.kill(started.child.pid as number, 'SIGTERM')
    expect(await started.exited).toEqual({ code: 0, signal: null })
    expect(alive(started.agentPid)).toBe(false)
  })

  it('agent-orphan: a hub killed with SIGKILL takes its agent with it (the IPC channel closes)', async () => {
    const started = await start(process.execPath, [join(ROOT, 'dist/bin.cjs'), 'hub', '--agent'])
    await until('the agent connected', () => (/agent connected/.test(started.output()) ? true : undefined))
    process.kill(started.child.pid as number, 'SIGKILL')
    await started.exited
    await until('the agent to stop', () => (alive(started.agentPid) ? undefined : true), 10_000)
  })

  it('through npm itself: the page answers and Ctrl-C leaves no process behind', async () => {
    const started = await start('npm', ['start', '--silent', '--'])
    await checkRunning(started)
    process.kill(-(started.child.pid as number), 'SIGINT')
    await started.exited // npm reports the interrupt as its own signal exit; the hub's log says how it ended
    expect(started.output()).toMatch(/hub: stopped/)
    expect(alive(started.agentPid)).toBe(false)
  })

  it('runs scripts/setup.sh only while something is missing, then the hub with --agent and the user’s arguments', () => {
    // A copy of the start script in a scratch checkout whose setup.sh is a stand-in: the real one
    // installs packages and builds for minutes. The stand-in "builds" what start looks for.
    const root = mkdtempSync(join(tmpdir(), 'sonar-start-setup-'))
    dirs.push(root)
    mkdirSync(join(root, 'scripts'))
    copyFileSync(join(ROOT, 'scripts/start.mjs'), join(root, 'scripts/start.mjs'))
    writeFileSync(
      join(root, 'scripts/setup.sh'),
      [
        'set -e',
        'cd "$(dirname "$0")/.."',
        'echo ran >> setup-runs',
        'mkdir -p native dist node_modules/ssh2 node_modules/yaml',
        'touch native/sonar-agent.linux-x64-gnu.node',
        `echo 'require("node:fs").writeFileSync(require("node:path").join(__dirname, "../argv.json"), JSON.stringify(process.argv.slice(2)))' > dist/bin.cjs`,
      ].join('\n'),
    )
    const run = () => spawnSync(process.execPath, [join(root, 'scripts/start.mjs'), '--port', '9999'], { encoding: 'utf8' })
    const first = run()
    expect(first.status).toBe(0)
    expect(first.stderr).toMatch(/the native addon is missing: running scripts\/setup\.sh/)
    expect(JSON.parse(readFileSync(join(root, 'argv.json'), 'utf8'))).toEqual(['hub', '--agent', '--port', '9999'])
    const second = run()
    expect(second.status).toBe(0)
    expect(second.stderr).not.toMatch(/setup/)
    expect(readFileSync(join(root, 'setup-runs'), 'utf8')).toBe('ran\n')

    rmSync(join(root, 'node_modules'), { recursive: true })
    expect(run().stderr).toMatch(/node_modules is missing/)
    writeFileSync(join(root, 'scripts/setup.sh'), 'echo broken >&2; exit 3')
    rmSync(join(root, 'dist'), { recursive: true })
    const failed = run()
    expect(failed.status).toBe(1)
    expect(failed.stderr).toMatch(/scripts\/setup\.sh failed \(status 3\)/)
  })
})
