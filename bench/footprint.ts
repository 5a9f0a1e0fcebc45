/**
 * Footprint of `sonar-agent run` connected to the test hub, next to a bare `node` that does nothing
 * (the floor): RSS (VmRSS) sampled every second and CPU (utime+stime) over each phase.
 *
 *   node --import tsx bench/footprint.ts [--idle 180] [--realtime 180] [--ssh]
 *
 * Phases: idle = the hub's 60 s GetData poll only; realtime = plus a 1 s GetData (a browser watching
 * the realtime chart). Durations in seconds. The product promises < 50 MB and < 1 % CPU; the target
 * for RSS is within 10 MB of the floor. Linux only (/proc). Build first: npm run build:ts.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { freePort } from '../test/helpers/net.js'
import { TestHub, type HubConnection } from '../test/hub/test-hub.js'

const { values } = parseArgs({
  options: {
    idle: { type: 'string', default: '180' },
    realtime: { type: 'string', default: '180' },
    /** leave the SSH server enabled (it stays unloaded while WebSocket is verified) */
    ssh: { type: 'boolean', default: false },
    /** extra node flags for the agent (e.g. --max-semi-space-size=1), to try memory settings */
    'node-options': { type: 'string', default: '' },
  },
})
const idleSeconds = Number(values.idle)
const realtimeSeconds = Number(values.realtime)
const BIN = new URL('../dist/bin.js', import.meta.url).pathname
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

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

/** RssAnon (heaps) and RssFile (mapped binaries: node itself, the addon) at the end of a phase. */
function rssSplitMiB(pid: number): { anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0)
  return { anon: kib('RssAnon') / 1024, file: kib('RssFile') / 1024 }
}

interface PhaseFigures {
  anonMiB: number
  fileMiB: number
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
    const split = rssSplitMiB(pid)
    out[name] = {
      anonMiB: split.anon,
      fileMiB: split.file,
      rssMinMiB: Math.min(...samples) / 1024,
      rssAvgMiB: samples.reduce((a, b) => a + b, 0) / samples.length / 1024,
      rssMaxMiB: Math.max(...samples) / 1024,
      cpuPct: ((cpuSeconds(pid) - (cpuStart[name] ?? 0)) / wall) * 100,
    }
  }
  return out
}

function print(title: string, figures: Record<string, PhaseFigures>): void {
  console.log(`\n${title}`)
  console.log('process        RSS min   RSS avg   RSS max    CPU      at end: anon    file')
  for (const [name, f] of Object.entries(figures)) {
    console.log(
      `${name.padEnd(12)} ${f.rssMinMiB.toFixed(1).padStart(7)} MiB ${f.rssAvgMiB.toFixed(1).padStart(6)} MiB ${f.rssMaxMiB.toFixed(1).padStart(6)} MiB ${f.cpuPct.toFixed(3).padStart(6)} %  ${f.anonMiB.toFixed(1).padStart(6)} MiB ${f.fileMiB.toFixed(1).padStart(5)} MiB`,
    )
  }
  const agent = figures.agent
  const floor = figures['bare node']
  if (agent && floor) {
    console.log(`agent − floor: RSS avg +${(agent.rssAvgMiB - floor.rssAvgMiB).toFixed(1)} MiB, max +${(agent.rssMaxMiB - floor.rssMaxMiB).toFixed(1)} MiB; CPU +${(agent.cpuPct - floor.cpuPct).toFixed(3)} %`)
  }
}


async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sonar-footprint-'))
  const hub = await TestHub.start()
  const children: ChildProcess[] = []
  try {
    const floor = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)'], { stdio: 'ignore' })
    children.push(floor)
    const nodeFlags = values['node-options'].split(/\s+/).filter(Boolean)
    const agent = spawn(process.execPath, [...nodeFlags, BIN, 'run'], {
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        TMPDIR: dir,
        DATA_DIR: join(dir, 'data'),
        HUB_URL: hub.url,
        TOKEN: hub.token,
        KEY: hub.publicKeyLine,
        LISTEN: `127.0.0.1:${await freePort()}`,
        ...(values.ssh ? {} : { DISABLE_SSH: 'true' }),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    })
    children.push(agent)
    const connection: HubConnection = await hub.nextAccepted(30_000)
    await connection.getData(60_000)
    // Let start-up garbage settle before the idle phase, as a long-running agent would be.
    await sleep(5_000)
    const pids = { agent: agent.pid ?? 0, 'bare node': floor.pid ?? 0 }
    console.log(`sonar-agent footprint (node ${process.version}, ${process.arch}); idle ${idleSeconds} s, realtime ${realtimeSeconds} s`)

    let failures = 0
    const poll = (cacheTimeMs: number) => {
      connection.getData(cacheTimeMs).catch(() => (failures += 1))
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
  } finally {
    for (const child of children) child.kill('SIGTERM')
    await hub.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
