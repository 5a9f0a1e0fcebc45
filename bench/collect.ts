/**
 * collect() cost per sample, next to the same metric set gathered by systeminformation (Node) and
 * psutil (Python) in the same run. Samples of one cache time are spaced so the snapshot cache is
 * never what is timed: >= 1 s apart for 1000 ms, >= 30 s apart for 60000 ms.
 *
 *   npm run bench -- [--samples 20] [--slow-samples 4] [--quick]
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, statSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'
import si from 'systeminformation'
import { openCollector } from '../ts/collector.js'
import { candidates } from '../ts/native.js'

const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '20' },
    'slow-samples': { type: 'string', default: '4' },
    quick: { type: 'boolean', default: false },
  },
})
const samples = values.quick ? 5 : Number(values.samples)
const slowSamples = values.quick ? 1 : Number(values['slow-samples'])

interface Series {
  wall: number[]
  cpu: number[]
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2
}

async function timed(series: Series, fn: () => Promise<unknown>): Promise<void> {
  const cpu0 = process.cpuUsage()
  const wall0 = process.hrtime.bigint()
  await fn()
  const wall = Number(process.hrtime.bigint() - wall0) / 1e6
  const cpu = process.cpuUsage(cpu0)
  series.wall.push(wall)
  series.cpu.push((cpu.user + cpu.system) / 1000)
}

/** CPU of reaped child processes (systeminformation spawns tools), in ms, from /proc/self/stat. */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // fields[0] is field 3 (state); cutime and cstime are fields 16 and 17, in 1/100 s ticks
  return (Number(fields[13]) + Number(fields[14])) * 10
}

async function benchSonar(): Promise<{ fast: Series; slow: Series }> {
  const collector = openCollector()
  const fast: Series = { wall: [], cpu: [] }
  const slow: Series = { wall: [], cpu: [] }
  await collector.collect({ cacheTimeMs: 1000 })
  await collector.collect({ cacheTimeMs: 60000 })
  let nextSlow = Date.now() + 30_500
  let fastDone = 0
  while (fastDone < samples || slow.wall.length < slowSamples) {
    await sleep(1050)
    if (fastDone < samples) {
      await timed(fast, () => collector.collect({ cacheTimeMs: 1000 }))
      fastDone++
    }
    if (slow.wall.length < slowSamples && Date.now() >= nextSlow) {
      await timed(slow, () => collector.collect({ cacheTimeMs: 60000 }))
      nextSlow = Date.now() + 30_500
    }
  }
  return { fast, slow }
}

async function siSample(): Promise<void> {
  await Promise.all([
    si.currentLoad(),
    si.mem(),
    si.fsSize(),
    si.disksIO(),
    si.networkStats('*'),
    si.cpuTemperature(),
    si.battery(),
  ])
  si.time()
}

async function benchSystemInformation(): Promise<{ series: Series; childCpuMsPerSample: number }> {
  const series: Series = { wall: [], cpu: [] }
  await siSample()
  const children0 = childrenCpuMs()
  for (let i = 0; i < samples; i++) {
    await sleep(1000)
    await timed(series, siSample)
  }
  return { series, childCpuMsPerSample: (childrenCpuMs() - children0) / samples }
}

function benchPsutil(): Series | string {
  try {
    const out = execFileSync('/usr/bin/python3', [new URL('./psutil_peer.py', import.meta.url).pathname, String(samples), '1'], {
      encoding: 'utf8',
    })
    const parsed = JSON.parse(out) as { wall_ms: number[]; cpu_ms: number[] }
    return { wall: parsed.wall_ms, cpu: parsed.cpu_ms }
  } catch (error) {
    return `psutil unavailable (${(error as Error).message.split('\n')[0]})`
  }
}

function fmt(ms: number): string {
  return ms < 10 ? `${ms.toFixed(3)} ms` : `${ms.toFixed(1)} ms`
}

function line(name: string, s: Series, base?: Series): string {
  const ratio = base ? `   ${(median(s.wall) / median(base.wall)).toFixed(1)}x wall, ${(median(s.cpu) / median(base.cpu)).toFixed(1)}x cpu vs SONAR(1000)` : ''
  return `${name.padEnd(32)} median wall ${fmt(median(s.wall)).padStart(10)}   median cpu ${fmt(median(s.cpu)).padStart(10)}   (n=${s.wall.length})${ratio}`
}

console.log(`bench: ${samples} samples per series, 1 s apart (60000 ms series: ${slowSamples} samples, 30.5 s apart)`)
const sonar = await benchSonar()
const sys = await benchSystemInformation()
const py = benchPsutil()
console.log(line('sonar collect() cacheTimeMs=1000', sonar.fast))
console.log(line('sonar collect() cacheTimeMs=60000', sonar.slow))
console.log(line('systeminformation (same set)', sys.series, sonar.fast))
console.log(`${''.padEnd(32)} + ${sys.childCpuMsPerSample.toFixed(1)} ms cpu per sample in child processes it spawned`)
console.log(typeof py === 'string' ? py : line('psutil (same set)', py, sonar.fast))
const addon = candidates({}).find((c) => {
  try {
    statSync(c.place)
    return true
  } catch {
    return false
  }
})
if (addon) console.log(`native addon ${addon.place}: ${(statSync(addon.place).size / 1024).toFixed(0)} KiB (release build, symbols stripped)`)
