/**
 * A real VictoriaMetrics single-node (Debian's victoria-metrics; scripts/setup.sh installs it) for
 * the remote-write tests, on a free loopback port with its data in a temporary folder; `stop()`
 * and `start()` again reuse both, as a receiver restarted after an outage does. (Prometheus:
 * test/helpers/prometheus.ts.)
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as z from 'zod/mini'
import { freePort } from './net.js'
import { until } from './until.js'

export const VICTORIA_METRICS = '/usr/bin/victoria-metrics'

/** Why the engine cannot run here ('' when it can). */
export function missing(binary: string, pkg: string): string {
  return existsSync(binary) ? '' : `${binary} is missing: install it with apt-get install ${pkg} (scripts/setup.sh does)`
}

export interface Tsdb {
  /** http://127.0.0.1:<port> */
  readonly base: string
  /** where remote write goes */
  readonly writeUrl: string
  start(): Promise<void>
  /** SIGTERM, and waits for the exit (the data is flushed) */
  stop(): Promise<void>
  /** stops and removes the data */
  dispose(): Promise<void>
  log(): string
}

async function engine(name: string, args: (port: number, dir: string) => string[], binary: string, writePath: string, ready: string): Promise<Tsdb> {
  const dir = mkdtempSync(join(tmpdir(), `${name}-`))
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()
  let output = ''
  const tsdb: Tsdb = {
    base,
    writeUrl: `${base}${writePath}`,
    async start() {
      const proc = spawn(binary, args(port, dir), { stdio: ['ignore', 'pipe', 'pipe'] })
      child = proc
      exited = new Promise((resolve) => proc.once('exit', () => resolve()))
      const keep = (chunk: Buffer) => {
        output = (output + chunk.toString('utf8')).slice(-64 * 1024)
      }
      proc.stdout?.on('data', keep)
      proc.stderr?.on('data', keep)
      await until(
        `${name} ready at ${base}${ready}`,
        async () => {
          if (proc.exitCode !== null) throw new Error(`${name} exited (${proc.exitCode}): ${output.slice(-2000)}`)
          try {
            return (await fetch(`${base}${ready}`)).ok
          } catch {
            return false
          }
        },
        30_000,
        100,
      )
    },
    async stop() {
      if (child === undefined || child.exitCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child?.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(timer)
    },
    async dispose() {
      await tsdb.stop()
      rmSync(dir, { recursive: true, force: true })
    },
    log: () => output,
  }
  await tsdb.start()
  return tsdb
}

/** VictoriaMetrics: remote write at /api/v1/write; data searchable at once (no latency offset, no cache). */
export function startVictoriaMetrics(): Promise<Tsdb> {
  return engine(
    'victoria-metrics',
    (port, dir) => [`-storageDataPath=${join(dir, 'data')}`, `-httpListenAddr=127.0.0.1:${port}`, '-retentionPeriod=1d', '-search.latencyOffset=0s', '-search.disableCache', '-loggerLevel=ERROR'],
    VICTORIA_METRICS,
    '/api/v1/write',
    '/health',
  )
}

const vector = z.object({
  status: z.literal('success'),
  data: z.object({ result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: z.tuple([z.number(), z.string()]) })) }),
})

/** An instant query's series (Prometheus HTTP API, which both engines serve). */
export async function instantQuery(base: string, query: string): Promise<{ metric: Record<string, string>; value: number }[]> {
  const res = await fetch(`${base}/api/v1/query?${new URLSearchParams({ query })}`)
  const body = vector.parse(await res.json())
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }))
}

const exported = z.object({ metric: z.record(z.string(), z.string()), values: z.array(z.number()), timestamps: z.array(z.number()) })

/** Every raw sample VictoriaMetrics stored for `match` (its /api/v1/export), per series, oldest first. */
export async function exportRaw(base: string, match: string, startMs: number): Promise<{ metric: Record<string, string>; samples: { timestamp: number; value: number }[] }[]> {
  const res = await fetch(`${base}/api/v1/export?${new URLSearchParams({ 'match[]': match, start: String(Math.floor(startMs / 1000)) })}`)
  const text = await res.text()
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const row = exported.parse(JSON.parse(line))
      const samples = row.timestamps.map((timestamp, i) => ({ timestamp, value: row.values[i] as number })).sort((a, b) => a.timestamp - b.timestamp)
      return { metric: row.metric, samples }
    })
}
