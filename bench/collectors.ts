/**
 * GetData latency with the slow sources on vs off. Slow sources (smartctl, nvidia-smi) are sampled
 * on their own cadence off the JS thread and read from memory, so turning them on must not move
 * collect()'s latency. This machine has no GPU and no SMART disk, so the "on" phase puts stand-ins
 * on PATH: a smartctl that takes 2 s per call and an nvidia-smi streaming a CSV line a second.
 * systemd is the real systemd 252 of the tests (Podman, test/systemd/systemd.ts), all its units.
 *
 *   node --import tsx bench/collectors.ts [--samples 15]
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'
import { openCollector, type Collector } from '../ts/collector.js'
import { RealSystemd } from '../test/systemd/systemd.js'

const { values } = parseArgs({ options: { samples: { type: 'string', default: '15' } } })
const samples = Number(values.samples)
const fixtures = new URL('../crates/sonar-core/tests/fixtures/smart/', import.meta.url).pathname

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? 0
}

async function time<T>(fn: () => Promise<T>): Promise<number> {
  const t0 = process.hrtime.bigint()
  await fn()
  return Number(process.hrtime.bigint() - t0) / 1e6
}

async function series(collector: Collector): Promise<number[]> {
  await collector.collect({ cacheTimeMs: 1000 })
  const walls: number[] = []
  for (let i = 0; i < samples; i++) {
    await sleep(1000)
    walls.push(await time(() => collector.collect({ cacheTimeMs: 1000 })))
  }
  return walls
}

const off = await series(openCollector({ SKIP_GPU: 'true', SMART_DEVICES: '', SKIP_SYSTEMD: 'true' }))
const systemd = await RealSystemd.start()
if (!systemd.ok) console.log(`(no real systemd: ${systemd.reason})`)

const bin = mkdtempSync(join(tmpdir(), 'sonar-bench-bin-'))
writeFileSync(
  join(bin, 'smartctl'),
  `#!/bin/sh\nsleep 2\ncase "$*" in\n  *--scan*) echo '{"devices":[{"name":"/dev/sda","type":"sat","protocol":"ATA"}]}' ;;\n  *) cat ${fixtures}sda.json; exit 64 ;;\nesac\n`,
)
writeFileSync(
  join(bin, 'nvidia-smi'),
  `#!/bin/sh\nwhile :; do echo "0, NVIDIA GeForce RTX 3050, 48, 1024, 4096, 37, 21.5"; sleep 1; done\n`,
)
chmodSync(join(bin, 'smartctl'), 0o755)
chmodSync(join(bin, 'nvidia-smi'), 0o755)
process.env.PATH = `${bin}:${process.env.PATH ?? ''}`
const on = openCollector({
  GPU_COLLECTOR: 'nvidia-smi',
  ...(systemd.ok ? { DBUS_SYSTEM_BUS_ADDRESS: systemd.systemd.address } : { SKIP_SYSTEMD: 'true' }),
})
// the first GetSmartData waits for the (slow) smartctl; GetData must not
const firstSmart = time(() => on.smart.data())
const onWalls = await series(on)
const smartFirst = await firstSmart
const smartLater = await time(() => on.smart.data())
// the 60 s answer carries the services list; it is read from memory like everything slow
const withServices = await time(() => on.collect({ cacheTimeMs: 60000 }))
const services = (await on.snapshot({ cacheTimeMs: 60000 })).info.sv // the cached 60 s answer
const infoWalls: number[] = []
for (let i = 0; i < 10 && on.systemd; i++) infoWalls.push(await time(() => on.systemd!.info('dbus.service')))
if (systemd.ok) await systemd.systemd.close()
const gpus = Object.values((await on.snapshot({ cacheTimeMs: 0 })).stats.g ?? {}).map((gpu) => gpu.n)

console.log(`collect() cacheTimeMs=1000, ${samples} samples 1 s apart, median wall:`)
console.log(`  slow sources off (SKIP_GPU, SMART_DEVICES="", SKIP_SYSTEMD)   ${median(off).toFixed(3)} ms   (max ${Math.max(...off).toFixed(3)} ms)`)
console.log(`  slow sources on (nvidia-smi stream, 2 s smartctl${systemd.ok ? ', real systemd' : ''}) ${median(onWalls).toFixed(3)} ms   (max ${Math.max(...onWalls).toFixed(3)} ms)`)
console.log(`  collect() cacheTimeMs=60000 with the services list: ${withServices.toFixed(3)} ms; Info.sv ${JSON.stringify(services ?? null)}`)
if (infoWalls.length) console.log(`GetSystemdInfo(dbus.service) over D-Bus: median ${median(infoWalls).toFixed(2)} ms (off the JS thread)`)
console.log(`  GPUs in the payload: ${gpus.join(', ') || 'none'}`)
console.log(`GetSmartData: first call ${smartFirst.toFixed(0)} ms (waits for smartctl: scan + one disk), later calls ${smartLater.toFixed(3)} ms (from memory)`)
process.exit(0)
