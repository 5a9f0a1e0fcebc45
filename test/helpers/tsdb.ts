/**
 * Real time-series databases for the remote-write tests, from Debian's packages
 * (scripts/setup.sh installs them): VictoriaMetrics single-node and Prometheus 2.42 with its
 * remote-write receiver. Each runs on a free loopback port with its data in a temporary folder;
 * `stop()` and `start()` again reuse both, as a receiver restarted after an outage does.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as z from 'zod/mini'
import { freePort } from './net.js'
import { until } from './until.js'

export const VICTORIA_METRICS = '/usr/bin/victoria-metrics'
export const PROMETHEUS = '/usr/bin/prometheus'

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

async function engine(name: string, args: (port: number, dir: string) => string[], binary: string, writePath: string, ready: string, setup?: (dir: string) => void): Promise<Tsdb> {
  const dir = mkdtempSync(join(tmpdir(), `${name}-`))
  setup?.(dir)
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

/** Prometheus with its remote-write receiver (--web.enable-remote-write-receiver) and nothing to scrape. */
export function startPrometheus(): Promise<Tsdb> {
  return engine(
    'prometheus',
    (port, dir) => [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
      '--log.level=warn',
    ],
    PROMETHEUS,
    '/api/v1/write',
    '/-/ready',
    (dir) => writeFileSync(join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 15s\nscrape_configs: []\n'),
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
