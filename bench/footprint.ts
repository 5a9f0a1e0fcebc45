/**
 * Footprint of `sonar-agent run` connected to the test hub, next to a bare `node` that does nothing
 * (the floor), all in one run: RSS (VmRSS) sampled every second, CPU (utime+stime) over each phase,
 * and where the memory is at the end of each phase (smaps: node's own file pages, other libraries,
 * the addon, anonymous memory).
 *
 *   node --import tsx bench/footprint.ts [--idle 120] [--realtime 600] [--levels info,debug] [--no-ssh]
 *     [--env NAME=value,…] [--compare "NAME=value,…|NAME=value,…"] [--node-options=…]
 *
 * One agent per log level runs with the default configuration (the SSH fallback enabled: it listens
 * whenever the WebSocket is down). Phases: idle = the hub's 60 s GetData poll only; realtime = plus a
 * 1 s GetData (a browser watching the realtime chart). Durations in seconds. Targets (the product
 * promises < 50 MB): RSS < 50 MiB at every realtime sample, realtime average ≤ floor + 10 MiB, idle
 * CPU ≤ 0.05 %; each is printed as met or missed, and a miss makes the exit status 1.
 * Linux only (/proc). Build first: npm run build:ts.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { freePort } from '../test/helpers/net.js'
import { TestHub, type HubConnection } from '../test/hub/test-hub.js'

const { values } = parseArgs({
  options: {
    idle: { type: 'string', default: '120' },
    realtime: { type: 'string', default: '600' },
    /** the agents' LOG_LEVELs, one agent each */
    levels: { type: 'string', default: 'info,debug' },
    /** DISABLE_SSH=true instead of the default configuration */
    'no-ssh': { type: 'boolean', default: false },
    /** extra node flags for the agents (e.g. --max-semi-space-size=1), to try memory settings */
    'node-options': { type: 'string', default: '' },
    /** extra environment for the agents (NAME=value,NAME=value), to try memory settings */
    env: { type: 'string', default: '' },
    /**
     * more agents beside each level's, one per variant (`|`-separated; each NAME=value,NAME=value),
     * to compare settings under the same conditions in one run
     */
    compare: { type: 'string', default: '' },
  },
})
const idleSeconds = Number(values.idle)
const realtimeSeconds = Number(values.realtime)
const levels = values.levels.split(',').map((l) => l.trim()).filter(Boolean)
/** `NAME=value,NAME=value` → an environment */
const envOf = (text: string): Record<string, string> =>
  Object.fromEntries(
    text
      .split(',')
      .filter((pair) => pair.includes('='))
      .map((pair) => [pair.slice(0, pair.indexOf('=')).trim(), pair.slice(pair.indexOf('=') + 1)]),
  )
const extraEnv = envOf(values.env)
const variants = ['', ...values.compare.split('|').map((v) => v.trim()).filter(Boolean)]
const BIN = new URL('../dist/bin.cjs', import.meta.url).pathname
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const RSS_CEILING_MIB = 50
const OVER_FLOOR_MIB = 10
const IDLE_CPU_PCT = 0.05

function rssKiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(match?.[1] ?? 0)
}

/** utime + stime in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name (which may contain spaces) start at state (field 3).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
}

interface Breakdown {
  /** file pages of the node executable */
  node: number
  /** the native addon's file pages */
  addon: number
  /** other mapped files (libc, libstdc++, …) */
  libs: number
  /** anonymous memory: the V8 heap, malloc, stacks */
  anon: number
}

/** Rss per mapping from /proc/PID/smaps, in MiB, by what is mapped. */
function breakdown(pid: number): Breakdown {
  const out: Breakdown = { node: 0, addon: 0, libs: 0, anon: 0 }
  let kind: keyof Breakdown = 'anon'
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const mapping = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line)
    if (mapping) {
      const name = mapping[1] ?? ''
      kind = name.endsWith('.node') || name.includes('.node ') ? 'addon' : name === process.execPath ? 'node' : name.startsWith('/') ? 'libs' : 'anon'
      continue
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line)
    if (rss) out[kind] += Number(rss[1]) / 1024
  }
  return out
}

interface PhaseFigures {
  breakdown: Breakdown
  rssMinMiB: number
  rssAvgMiB: number
  rssMaxMiB: number
  cpuPct: number
}

async function measure(pids: Record<string, number>, seconds: number, tick: (second: number) => void): Promise<Record<string, PhaseFigures>> {
  const rss: Record<string, number[]> = {}
  const cpuStart: Record<string, number> = {}
  for (const [name, pid] of Object.entries(pids)) {
    rss[name] = []
    cpuStart[name] = cpuSeconds(pid)
  }
  const started = process.hrtime.bigint()
  for (let second = 0; second < seconds; second++) {
    tick(second)
    await sleep(1_000)
    for (const [name, pid] of Object.entries(pids)) rss[name]?.push(rssKiB(pid))
  }
  const wall = Number(process.hrtime.bigint() - started) / 1e9
  const out: Record<string, PhaseFigures> = {}
  for (const [name, pid] of Object.entries(pids)) {
    const samples = rss[name] ?? [0]
    out[name] = {
      breakdown: breakdown(pid),
      rssMinMiB: Math.min(...samples) / 1024,
      rssAvgMiB: samples.reduce((a, b) => a + b, 0) / samples.length / 1024,
      rssMaxMiB: Math.max(...samples) / 1024,
      cpuPct: ((cpuSeconds(pid) - (cpuStart[name] ?? 0)) / wall) * 100,
    }
  }
  return out
}

const mib = (n: number, width = 6) => `${n.toFixed(1).padStart(width)} MiB`

function print(title: string, figures: Record<string, PhaseFigures>): void {
  console.log(`\n${title}`)
  console.log('process          RSS min    RSS avg    RSS max     CPU     at end: node file   libs      addon     anon')
  for (const [name, f] of Object.entries(figures)) {
    const b = f.breakdown
    console.log(
      `${name.padEnd(14)} ${mib(f.rssMinMiB)} ${mib(f.rssAvgMiB)} ${mib(f.rssMaxMiB)} ${f.cpuPct.toFixed(3).padStart(6)} %   ${mib(b.node)} ${mib(b.libs, 5)} ${mib(b.addon, 5)} ${mib(b.anon, 5)}`,
    )
  }
  const floor = figures['bare node']
  for (const [name, f] of Object.entries(figures)) {
    if (name === 'bare node' || !floor) continue
    console.log(`${name} − floor: RSS avg +${(f.rssAvgMiB - floor.rssAvgMiB).toFixed(1)} MiB, max +${(f.rssMaxMiB - floor.rssMaxMiB).toFixed(1)} MiB; CPU +${(f.cpuPct - floor.cpuPct).toFixed(3)} %`)
  }
}

/** One line per target and agent; returns how many were missed. */
function verdicts(idle: Record<string, PhaseFigures>, realtime: Record<string, PhaseFigures>): number {
  const floor = realtime['bare node']
  let missed = 0
  const check = (ok: boolean, text: string) => {
    if (!ok) missed++
    console.log(`${ok ? 'met   ' : 'MISSED'} ${text}`)
  }
  console.log('\ntargets')
  for (const name of Object.keys(realtime)) {
    if (name === 'bare node') continue
    const r = realtime[name]
    const i = idle[name]
    if (!r || !i || !floor) continue
    check(r.rssMaxMiB < RSS_CEILING_MIB, `${name}: RSS < ${RSS_CEILING_MIB} MiB at every realtime sample (max ${r.rssMaxMiB.toFixed(1)} MiB)`)
    check(r.rssAvgMiB <= floor.rssAvgMiB + OVER_FLOOR_MIB, `${name}: realtime RSS avg ≤ floor + ${OVER_FLOOR_MIB} MiB (${r.rssAvgMiB.toFixed(1)} ≤ ${(floor.rssAvgMiB + OVER_FLOOR_MIB).toFixed(1)} MiB)`)
    check(i.cpuPct <= IDLE_CPU_PCT, `${name}: idle CPU ≤ ${IDLE_CPU_PCT} % (${i.cpuPct.toFixed(3)} %)`)
  }
  return missed
}

interface RunningAgent {
  name: string
  child: ChildProcess
  connection: HubConnection
}

async function startAgent(hub: TestHub, dir: string, level: string, nodeFlags: string[], variant = ''): Promise<RunningAgent> {
  const name = variant ? `${level}, ${variant}` : level
  const home = join(dir, name.replace(/[^\w.-]+/g, '_'))
  mkdirSync(home, { recursive: true })
  // the agent's own log goes to a file, as a journal would take it (debug writes a line per request)
  const log = openSync(join(home, 'agent.log'), 'a')
  const child = spawn(process.execPath, [...nodeFlags, BIN, 'run'], {
    env: {
      PATH: process.env.PATH,
      HOME: home,
      TMPDIR: home,
      DATA_DIR: join(home, 'data'),
      HUB_URL: hub.url,
      TOKEN: hub.token,
      KEY: hub.publicKeyLine,
      LISTEN: `127.0.0.1:${await freePort()}`,
      ...(values['no-ssh'] ? { DISABLE_SSH: 'true' } : {}),
      LOG_LEVEL: level,
      ...extraEnv,
      ...envOf(variant),
    },
    stdio: ['ignore', log, log],
  })
  const connection = await hub.nextAccepted(30_000)
  await connection.getData(60_000)
  return { name: `agent (${name})`, child, connection }
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'sonar-footprint-'))
  const hub = await TestHub.start()
  const children: ChildProcess[] = []
  try {
    const floor = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)'], { stdio: 'ignore' })
    children.push(floor)
    const nodeFlags = values['node-options'].split(/\s+/).filter(Boolean)
    const agents: RunningAgent[] = []
    for (const level of levels) {
      for (const variant of variants) {
        const agent = await startAgent(hub, dir, level, nodeFlags, variant)
        children.push(agent.child)
        agents.push(agent)
      }
    }
    // Let start-up garbage settle before the idle phase, as a long-running agent would be.
    await sleep(5_000)
    const pids: Record<string, number> = { 'bare node': floor.pid ?? 0 }
    for (const agent of agents) pids[agent.name] = agent.child.pid ?? 0
    console.log(
      `sonar-agent footprint (node ${process.version}, ${process.arch}); idle ${idleSeconds} s, realtime ${realtimeSeconds} s; SSH fallback ${values['no-ssh'] ? 'disabled' : 'enabled'}${nodeFlags.length ? `; node ${nodeFlags.join(' ')}` : ''}${values.env ? `; env ${values.env}` : ''}`,
    )

    let failures = 0
    const poll = (cacheTimeMs: number) => {
      for (const agent of agents) agent.connection.getData(cacheTimeMs).catch(() => (failures += 1))
    }
    const idle = await measure(pids, idleSeconds, (second) => {
      if (second % 60 === 0) poll(60_000)
    })
    print('idle (GetData 60000 every 60 s)', idle)
    const realtime = await measure(pids, realtimeSeconds, (second) => {
      poll(1_000)
      if (second % 60 === 0) poll(60_000)
    })
    print('realtime (GetData 1000 every 1 s, plus the 60 s poll)', realtime)
    if (failures > 0) console.log(`\n${failures} requests failed`)
    return verdicts(idle, realtime) > 0 || failures > 0 ? 1 : 0
  } finally {
    for (const child of children) child.kill('SIGTERM')
    await hub.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

process.exitCode = await main()
