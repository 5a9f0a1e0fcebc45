/**
 * A real Prometheus (Debian's 2.42) for the end-to-end tests: its own temporary config and TSDB,
 * on a free loopback port, and its HTTP API (/api/v1/query, /api/v1/targets).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'
import { freePort } from './net.js'
import { until } from './until.js'

export const PROMETHEUS = '/usr/bin/prometheus'
export const PROMTOOL = '/usr/bin/promtool'

/** Why the Prometheus tests cannot run here, or undefined when they can. */
export function prometheusMissing(): string | undefined {
  for (const tool of [PROMETHEUS, PROMTOOL]) if (!existsSync(tool)) return `${tool} is not installed (apt-get install prometheus)`
  return undefined
}

const vectorSchema = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.literal('vector'),
    result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: z.tuple([z.number(), z.string()]) })),
  }),
})
export type VectorSample = z.infer<typeof vectorSchema>['data']['result'][number]

const targetsSchema = z.object({
  status: z.literal('success'),
  data: z.object({
    activeTargets: z.array(z.object({ labels: z.record(z.string(), z.string()), health: z.string(), lastError: z.string(), scrapeUrl: z.string() })),
  }),
})
export type Target = z.infer<typeof targetsSchema>['data']['activeTargets'][number]

export interface Prometheus {
  url: string
  query(promql: string): Promise<VectorSample[]>
  targets(): Promise<Target[]>
  stderr(): string
  stop(): Promise<void>
}

/**
 * Starts Prometheus with `config` (prometheus.yml text) in `dir`, plus `flags` (e.g.
 * --web.enable-remote-write-receiver); resolves once /-/ready answers.
 */
export async function startPrometheus(config: string, flags: readonly string[] = []): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'sonar-prometheus-'))
  writeFileSync(join(dir, 'prometheus.yml'), config)
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const child: ChildProcess = spawn(
    PROMETHEUS,
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn', ...flags],
    { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir },
  )
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-20_000)))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await until(
      'Prometheus to be ready',
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}: ${stderr}`)
        return fetch(`${url}/-/ready`).then(
          (res) => res.ok,
          () => false,
        )
      },
      30_000,
      100,
    )
  } catch (error) {
    await stop()
    throw error
  }
  return {
    url,
    async query(promql) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`)
      return vectorSchema.parse(await res.json()).data.result
    },
    async targets() {
      const res = await fetch(`${url}/api/v1/targets?state=active`)
      return targetsSchema.parse(await res.json()).data.activeTargets
    },
    stderr: () => stderr,
    stop,
  }
}
