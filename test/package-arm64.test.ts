/**
 * The linux-arm64-gnu addon built here by `npm run build:arm64` (Debian's cross toolchain), loaded
 * and exercised by Debian's arm64 node under qemu-user: the CBOR it sends must decode and agree
 * with this (x86-64) machine, whose /proc and /sys qemu-user passes through unchanged. Skipped,
 * with the reason printed, where the arm64 build or its runtime has not been made.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cpus, hostname, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'

const run = promisify(execFile)
const root = resolve(import.meta.dirname, '..')
const addon = join(root, 'native/sonar-agent.linux-arm64-gnu.node')
const sysroot = join(process.env.SONAR_CROSS_DIR ?? join(root, 'target/cross-arm64'), 'sysroot')
const node = join(sysroot, 'usr/bin/node')
const qemu = '/usr/bin/qemu-aarch64-static'

function missing(): string | undefined {
  if (!existsSync(qemu)) return `${qemu} is not installed`
  if (!existsSync(addon)) return `${addon} is not built`
  if (!existsSync(node)) return `no arm64 node at ${node}`
  return undefined
}
const skipReason = missing()
if (skipReason) console.warn(`package-arm64: skipped: ${skipReason} (run \`npm run build:arm64\`)`)

const Probe = z.object({
  arch: z.string(),
  node: z.string(),
  cborBytes: z.number(),
  cborTopKeys: z.array(z.number()),
  cbor: z.object({
    hostname: z.string(),
    kernel: z.string(),
    agentVersion: z.string(),
    cpu: z.number(),
    memTotalGiB: z.number(),
    perCoreBytes: z.number(),
  }),
  snapshot: z.object({
    stats: z.object({ cpu: z.number(), m: z.number(), d: z.number(), du: z.number() }).passthrough(),
    info: z.object({ h: z.string(), v: z.string() }).passthrough(),
  }),
})

describe.skipIf(skipReason !== undefined)('linux-arm64-gnu addon under qemu-user', () => {
  it('loads in arm64 node, collects, and its CBOR describes this machine', async () => {
    const started = Date.now()
    const { stdout } = await run(qemu, ['-L', sysroot, node, join(root, 'test/package-arm64-probe.mjs'), addon], {
      cwd: root,
      timeout: 120_000,
    })
    const probe = Probe.parse(JSON.parse(stdout))
    console.log(
      `package-arm64: ${probe.arch} node ${probe.node} under qemu, ${probe.cborBytes} CBOR bytes, ` +
        `cpu ${probe.cbor.cpu.toFixed(1)} %, ${probe.cbor.memTotalGiB} GiB, ${Date.now() - started} ms`,
    )
    expect(probe.arch).toBe('arm64')
    expect(probe.cborTopKeys.sort()).toEqual([0, 1, 2])
    expect(probe.cbor.hostname).toBe(hostname())
    expect(probe.cbor.agentVersion).toBe('0.17.0')
    expect(probe.cbor.perCoreBytes).toBe(cpus().length)
    expect(probe.cbor.cpu).toBeGreaterThanOrEqual(0)
    expect(probe.cbor.cpu).toBeLessThanOrEqual(100)
    // Total memory is rounded to 0.01 GiB on the wire.
    expect(probe.cbor.memTotalGiB).toBeCloseTo(totalmem() / 1024 ** 3, 1)
    expect(probe.snapshot.info.h).toBe(hostname())
    expect(probe.snapshot.stats.m).toBe(probe.cbor.memTotalGiB)
    expect(probe.snapshot.stats.d).toBeGreaterThan(0)
  }, 150_000)

  it('passes the binding smoke test (async work, threads, panics, worker) in arm64 node', async () => {
    const smoke = join(root, 'crates/sonar-node/tests/smoke.mjs')
    const { stdout } = await run(qemu, ['-L', sysroot, node, smoke, addon], { cwd: root, timeout: 150_000 })
    const summary = /^(\d+)\/(\d+) checks passed$/m.exec(stdout)
    expect(summary, stdout).not.toBeNull()
    expect(summary?.[1]).toBe(summary?.[2])
  }, 180_000)
})
