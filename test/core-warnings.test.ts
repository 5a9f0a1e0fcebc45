/**
 * The core's warnings reach the log, once each: a garbled /proc/loadavg (which used to send NaN,
 * Infinity and −1 to the hub in Stats 28 and Info 15/17/19), a HOST_PROC that does not exist, an
 * EXTRA_FILESYSTEMS entry naming nothing. Decoded with cbor-x, as a hub would.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { Decoder } from 'cbor-x'
import { afterAll, describe, expect, it } from 'vitest'
import { loggingCoreWarnings, openCollector } from '../ts/collector.js'
import { createLogger } from '../ts/log.js'

const decoder = new Decoder({ mapsAsObjects: false, int64AsNumber: true } as ConstructorParameters<typeof Decoder>[0])
const dirs: string[] = []
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })))

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sonar-host-'))
  dirs.push(dir)
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true })
    writeFileSync(join(dir, rel), text)
  }
  mkdirSync(join(dir, 'sys/class/net'), { recursive: true })
  return dir
}

/** A collector over `env` whose core warnings land in the returned lines. */
function collectorWithLog(env: Record<string, string>) {
  const lines: string[] = []
  const logger = createLogger('info', { write: (line: string) => lines.push(line) })
  const collector = loggingCoreWarnings(openCollector({ SKIP_GPU: 'true', SKIP_SYSTEMD: 'true', SMART_DEVICES: '', ...env }), logger.child('core'))
  return { collector, lines }
}

/** Every number anywhere in a decoded payload, with its path. */
function numbers(value: unknown, at = '', out: [string, number][] = []): [string, number][] {
  if (typeof value === 'number') out.push([at, value])
  else if (value instanceof Map) for (const [k, v] of value) numbers(v, `${at}.${String(k)}`, out)
  else if (Array.isArray(value) || value instanceof Uint8Array) [...value].forEach((v, i) => numbers(v, `${at}[${i}]`, out))
  return out
}

describe('the core\'s warnings', () => {
  it('garbled /proc/loadavg: no NaN, Infinity or negative reaches the hub, and one warning names the file', async () => {
    const host = tree({
      'proc/stat': 'cpu  100 0 50 800 10 0 0 0 0 0\n',
      'proc/meminfo': 'MemTotal: 16384000 kB\nMemFree: 2048000 kB\nMemAvailable: 8192000 kB\n',
      'proc/loadavg': 'nan inf -1 1/389 12345\n',
      'proc/uptime': '100.5 200.0\n',
      'proc/net/dev': 'h1\nh2\n  eth0: 1000 1 0 0 0 0 0 0 2000 2 0 0 0 0 0 0\n',
      'proc/diskstats': '',
      'proc/1/mountinfo': '',
    })
    const { collector, lines } = collectorWithLog({ HOST_PROC: join(host, 'proc'), HOST_SYS: join(host, 'sys') })
    await collector.collect({ cacheTimeMs: 0 })
    const payload = decoder.decode(await collector.collect({ cacheTimeMs: 0 })) as Map<number, Map<number, unknown>>
    for (const [at, n] of numbers(payload)) expect(Number.isFinite(n) && n >= 0, `${at} = ${n}`).toBe(true)
    const stats = payload.get(0) as Map<number, unknown>
    const info = payload.get(1) as Map<number, unknown>
    expect(stats.get(28)).toHaveLength(3)
    expect(info.get(19)).toHaveLength(3)
    const about = lines.filter((line) => line.includes(join(host, 'proc/loadavg')))
    expect(about).toHaveLength(1)
    expect(about[0]).toMatch(new RegExp(`WARN  core: HOST_PROC: ${join(host, 'proc/loadavg')} is garbled \\("nan inf -1 1/389 12345"\\): load averages come from`))
  })

  it('a HOST_PROC that does not exist and an EXTRA_FILESYSTEMS entry naming nothing: one warning each, however often collected', async () => {
    const missing = join(tree({}), 'no-such-proc')
    const { collector, lines } = collectorWithLog({ HOST_PROC: missing, EXTRA_FILESYSTEMS: 'no-such-disk-x9' })
    for (const cacheTimeMs of [0, 1000, 60_000, 0]) await collector.collect({ cacheTimeMs })
    await collector.snapshot({ cacheTimeMs: 0 })
    expect(lines.filter((line) => line.includes(`HOST_PROC: ${missing}`))).toEqual([expect.stringMatching(new RegExp(`WARN  core: HOST_PROC: ${missing} does not exist: `))])
    expect(lines.filter((line) => line.includes('EXTRA_FILESYSTEMS'))).toEqual([expect.stringMatching(/WARN {2}core: EXTRA_FILESYSTEMS: "no-such-disk-x9" matches no mounted partition/)])
  })

  it('a healthy configuration: nothing to say', async () => {
    const { collector, lines } = collectorWithLog({})
    await collector.collect({ cacheTimeMs: 0 })
    expect(collector.takeWarnings()).toEqual([])
    expect(lines.filter((line) => line.includes('EXTRA_FILESYSTEMS') || line.includes('HOST_PROC'))).toEqual([])
  })
})
