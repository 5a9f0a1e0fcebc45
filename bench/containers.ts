/**
 * GetData cost with 0, 10, 50 and 100 running containers on a real (isolated) Podman engine, next
 * to systeminformation's dockerContainerStats over the same engine in the same run.
 *
 *   node --import tsx bench/containers.ts [--samples 5] [--counts 0,10,50,100]
 *
 * "GetData" is the whole path: list + one-shot stats of every container (bounded concurrency) +
 * the native core's collect (host metrics and container math, CBOR encoding). Cache time 0, so
 * no sample is answered from the snapshot cache. CPU is this process's user+system time.
 */
import { parseArgs } from 'node:util'
import { openCollector } from '../ts/collector.js'
import { ContainerMonitor } from '../ts/containers/monitor.js'
import { handleGetData } from '../ts/handlers/data.js'
import { mapLimit } from '../ts/containers/monitor.js'
import { silentLogger } from '../ts/log.js'
import { Podman } from '../test/podman/podman.js'

const { values } = parseArgs({ options: { samples: { type: 'string', default: '5' }, counts: { type: 'string', default: '0,10,50,100' } } })
const samples = Number(values.samples)
const counts = values.counts.split(',').map(Number)

interface Timing {
  wallMs: number
  cpuMs: number
}

async function measure(fn: () => Promise<unknown>): Promise<Timing> {
  const cpu0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  await fn()
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6
  const cpu = process.cpuUsage(cpu0)
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000 }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2
}

async function series(fn: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  await fn() // warm-up (connections, JIT, first-sample baselines)
  const runs: Timing[] = []
  for (let i = 0; i < samples; i++) runs.push(await measure(fn))
  return { wall: median(runs.map((r) => r.wallMs)), cpu: median(runs.map((r) => r.cpuMs)) }
}

const started = await Podman.start()
if (!started.ok) {
  console.error(`cannot run: ${started.reason}`)
  process.exit(1)
}
const podman = started.podman
try {
  process.env.DOCKER_SOCKET = podman.socketPath // systeminformation reads it when loaded
  const si = (await import('systeminformation')).default
  const collector = openCollector({})
  const monitor = new ContainerMonitor({
    settings: { enabled: true, dockerHost: { kind: 'socket', socketPath: podman.socketPath }, timeoutMs: 5000, exclude: undefined },
    logger: silentLogger,
  })
  const rows: string[] = []
  let running = 0
  for (const count of counts) {
    const names = Array.from({ length: count - running }, (_, i) => `bench-${running + i}`)
    await mapLimit(names, 8, (name) => podman.runContainer(name, ['sleep', '100000']))
    running = count
    const listed = (await monitor.sample()).containers?.length ?? 0
    const getData = await series(() => handleGetData({ cacheTimeMs: 0, includeDetails: undefined }, collector, monitor))
    const hostOnly = await series(() => collector.collect({ cacheTimeMs: 0 }))
    const engines = await series(() => monitor.sample())
    const siStats = await series(() => si.dockerContainerStats('*'))
    const siCount = (await si.dockerContainerStats('*')).length
    rows.push(
      `| ${count} (${listed} listed, si ${siCount}) | ${getData.wall.toFixed(1)} | ${getData.cpu.toFixed(1)} | ${engines.wall.toFixed(1)} | ${hostOnly.wall.toFixed(1)} | ${siStats.wall.toFixed(1)} | ${siStats.cpu.toFixed(1)} |`,
    )
    console.error(rows[rows.length - 1])
  }
  console.log(`\nmedian of ${samples} samples per cell, ms; Podman ${await podman.cli('--version')}, node ${process.version}\n`)
  console.log('| containers | GetData wall | GetData CPU | engines only wall | core only wall | systeminformation wall | systeminformation CPU |')
  console.log('|---|---|---|---|---|---|---|')
  for (const row of rows) console.log(row)
} finally {
  await podman.close()
}
