/**
 * The linux-arm64-gnu addon built here by `npm run build:arm64` (Debian's cross toolchain), loaded
 * and exercised by Debian's arm64 node under qemu-user: the CBOR it sends must decode and agree
 * with this (x86-64) machine, whose /proc and /sys qemu-user passes through unchanged. Then the
 * user's path on an arm64 host: the packed tarballs installed into an empty project, and
 * `sonar-agent snapshot --json` run from there by arm64 node. Skipped, with the reason printed,
 * where the arm64 build or its runtime has not been made. Debian's arm64 node is 18 (bookworm);
 * the addon is Node-API, so its Node version does not matter, and dist/bin.cjs runs on 18 too.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { cpus, hostname, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { cleanEnv, installIntoEmptyProject, pack } from './package-install.js'
import { newestSource } from './helpers/stale-build.js'

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
  const source = newestSource()
  if (source.mtimeMs > statSync(addon).mtimeMs) return `${addon} is older than ${source.path}`
  return undefined
}
const skipReason = missing()
if (skipReason && process.env.SONAR_REQUIRE_CROSS === '1') {
  // scripts/test.sh (and so CI) after scripts/setup.sh: the build must be there
  throw new Error(`package-arm64: required (SONAR_REQUIRE_CROSS=1) but ${skipReason} (run \`npm run build:arm64\`)`)
}
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
    const env = { ...process.env, SONAR_SMOKE_SKIP_FILES: 'qemu-user -L maps "/" to the arm64 sysroot: the file jail cannot reach the test folder' }
    const { stdout } = await run(qemu, ['-L', sysroot, node, smoke, addon], { cwd: root, timeout: 150_000, env })
    const summary = /^(\d+)\/(\d+) checks passed$/m.exec(stdout)
    expect(summary, stdout).not.toBeNull()
    expect(summary?.[1]).toBe(summary?.[2])
  }, 180_000)

  let work: string | undefined
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true })
  })

  it('installs from the tarballs for arm64 and runs `sonar-agent snapshot --json` in arm64 node', async () => {
    work = mkdtempSync(join(tmpdir(), 'sonar-package-arm64-'))
    const [cli, platform] = await pack(join(work, 'tarballs'), ['sonar-agent', 'sonar-agent-linux-arm64-gnu'])
    const app = join(work, 'app')
    // --cpu/--libc pick the arm64 optional dependencies; npm still checks a tarball named on the
    // command line against this x64 machine, hence --force (an arm64 host needs neither).
    await installIntoEmptyProject(app, ['--cpu=arm64', '--os=linux', '--libc=glibc', '--force', cli?.file ?? '', platform?.file ?? ''])
    expect(existsSync(join(app, 'node_modules/sonar-agent-linux-arm64-gnu/sonar-agent.linux-arm64-gnu.node'))).toBe(true)
    expect(existsSync(join(app, 'node_modules/sonar-agent-linux-x64-gnu'))).toBe(false)
    const { stdout } = await run(qemu, ['-L', sysroot, node, join(app, 'node_modules/.bin/sonar-agent'), 'snapshot', '--json'], {
      cwd: app,
      env: cleanEnv(),
      timeout: 120_000,
    })
    const snapshot = Probe.shape.snapshot.parse(JSON.parse(stdout))
    expect(snapshot.info.h).toBe(hostname())
    expect(snapshot.stats.m).toBeGreaterThan(0)
    expect(snapshot.stats.m).toBeCloseTo(totalmem() / 1024 ** 3, 1)
  }, 420_000)
})
