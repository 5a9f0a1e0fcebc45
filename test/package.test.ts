/**
 * The path a real user takes: `npm pack` of sonar-agent and of the linux-x64-gnu platform package
 * (scripts/pack.mjs, the release workflow's packer), `npm install` of both tarballs into an empty
 * project from this machine's npm cache (test/package-install.ts), then `npx sonar-agent snapshot
 * --json`, the programmatic import and the dev hub page from that install. The installed
 * sonar-agent holds no .node of its own, so every success here went through the platform package.
 */
import { execFile, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs'
import { hostname, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { cleanEnv, installIntoEmptyProject, pack, repoRoot, type Packed } from './package-install.js'

const exec = promisify(execFile)
const TRIPLE = 'linux-x64-gnu'
const BINARY = `sonar-agent.${TRIPLE}.node`

const Snapshot = z.object({
  stats: z.object({ cpu: z.number(), m: z.number(), mu: z.number(), d: z.number(), la: z.array(z.number()).length(3) }).passthrough(),
  info: z.object({ h: z.string(), k: z.string(), v: z.string() }).passthrough(),
})

let work: string
let app: string
let cli: Packed
let platform: Packed
let installNote = ''

async function tarList(file: string): Promise<string[]> {
  const { stdout } = await exec('tar', ['tzf', file])
  return stdout.split('\n').filter(Boolean)
}

async function tarJson(file: string, entry: string): Promise<Record<string, unknown>> {
  const { stdout } = await exec('tar', ['xzOf', file, entry], { maxBuffer: 16 * 1024 * 1024 })
  return z.record(z.string(), z.unknown()).parse(JSON.parse(stdout))
}

beforeAll(async () => {
  for (const built of ['dist/bin.cjs', `native/${BINARY}`]) {
    if (!existsSync(join(repoRoot, built))) throw new Error(`${built} is missing: run \`bash scripts/setup.sh\` (or \`npm run build\`) first`)
  }
  work = mkdtempSync(join(tmpdir(), 'sonar-package-'))
  ;[cli, platform] = (await pack(join(work, 'tarballs'), ['sonar-agent', `sonar-agent-${TRIPLE}`])) as [Packed, Packed]
  app = join(work, 'app')
  installNote = await installIntoEmptyProject(app, [cli.file, platform.file])
}, 420_000)

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true })
})

describe('the sonar-agent tarball', () => {
  it('holds the CLI bundle, its runtime files and types, and nothing from the source tree', async () => {
    const files = (await tarList(cli.file)).map((f) => f.replace(/^package\//, ''))
    for (const needed of ['package.json', 'README.md', 'index.d.ts', 'dist/bin.cjs', 'dist/index.js', 'dist/index.d.ts', 'dist/hub-web/app.js', 'dist/hub-web/app.css', 'config.example.yml', 'packaging/systemd/sonar-agent.service', 'packaging/polkit/50-sonar-agent.rules']) {
      expect(files, needed).toContain(needed)
    }
    const stray = files.filter((f) => /\.(map|node|ts)$/.test(f) && !f.endsWith('.d.ts'))
    expect(stray).toEqual([])
    expect(files.filter((f) => /^(ts|crates|test|scripts|npm|native|bench)\//.test(f))).toEqual([])
  })

  it('declares bin, engines and every platform package at its own version', async () => {
    const manifest = await tarJson(cli.file, 'package/package.json')
    expect(manifest.bin).toEqual({ 'sonar-agent': 'dist/bin.cjs' })
    expect(manifest.engines).toEqual({ node: '>=20' })
    const optional = z.record(z.string(), z.string()).parse(manifest.optionalDependencies)
    for (const triple of ['linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl', 'darwin-x64', 'darwin-arm64', 'win32-x64-gnu']) {
      expect(optional[`sonar-agent-${triple}`], triple).toBe(manifest.version)
    }
    // what dist/bin.cjs leaves to node_modules (esbuild --external) must be installed with it
    const deps = z.record(z.string(), z.string()).parse(manifest.dependencies)
    for (const external of ['ssh2', 'proxy-agent', 'yaml', 'dockerode']) expect(deps, external).toHaveProperty(external)
    expect(optional).toHaveProperty('cbor-extract')
  })

  it('has a platform package with only the binary, for linux x64 glibc', async () => {
    expect((await tarList(platform.file)).sort()).toEqual(['package/README.md', 'package/package.json', `package/${BINARY}`].sort())
    const manifest = await tarJson(platform.file, 'package/package.json')
    expect(manifest).toMatchObject({ os: ['linux'], cpu: ['x64'], libc: ['glibc'], main: BINARY })
  })
})

describe('installed from the tarballs into an empty project', () => {
  it('runs `npx sonar-agent snapshot --json` with this machine\'s values', async () => {
    expect(existsSync(join(app, 'node_modules/sonar-agent', BINARY))).toBe(false)
    expect(existsSync(join(app, 'node_modules/sonar-agent/native'))).toBe(false)
    const { stdout } = await exec('npx', ['--offline', 'sonar-agent', 'snapshot', '--json'], { cwd: app, env: cleanEnv(), timeout: 60_000 })
    const snapshot = Snapshot.parse(JSON.parse(stdout))
    expect(snapshot.info.h).toBe(hostname())
    expect(snapshot.stats.m).toBeGreaterThan(0)
    expect(snapshot.stats.m).toBeCloseTo(totalmem() / 1024 ** 3, 1)
    expect(snapshot.stats.d).toBeGreaterThan(0)
    if (installNote) console.warn(`package: ${installNote}`)
  })

  it('exposes the programmatic API through the package name', async () => {
    const script = `import { openCollector, platformTriple } from 'sonar-agent'
const c = openCollector({})
const s = await c.snapshot({ cacheTimeMs: 1000 })
console.log(JSON.stringify({ triple: platformTriple(), h: s.info.h, m: s.stats.m }))`
    const { stdout } = await exec('node', ['--input-type=module', '-e', script], { cwd: app, env: cleanEnv(), timeout: 60_000 })
    expect(JSON.parse(stdout)).toMatchObject({ triple: TRIPLE, h: hostname() })
  })

  it('serves the dev hub page with its bundled assets', async () => {
    const hub = spawn('node', [join(app, 'node_modules/.bin/sonar-agent'), 'hub', '--port', '0', '--data', join(work, 'hub')], {
      cwd: app,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    try {
      let out = ''
      const url = await new Promise<string>((resolveUrl, reject) => {
        const timer = setTimeout(() => reject(new Error(`no page URL within 20 s:\n${out}`)), 20_000)
        hub.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString()
          const match = /page:\s+(http:\/\/\S+)/.exec(out)
          if (match?.[1]) {
            clearTimeout(timer)
            resolveUrl(match[1])
          }
        })
        hub.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()))
        hub.once('exit', (code) => reject(new Error(`hub exited with ${code}:\n${out}`)))
      })
      const page = await (await fetch(url)).text()
      const assets = [...page.matchAll(/(?:src|href)="([^"]+\.(?:js|css))"/g)].map((m) => m[1] ?? '')
      expect(assets.length, page).toBeGreaterThanOrEqual(2)
      for (const asset of assets) {
        const response = await fetch(new URL(asset, url))
        expect(response.status, asset).toBe(200)
        expect((await response.text()).length, asset).toBeGreaterThan(1000)
      }
    } finally {
      hub.kill('SIGTERM')
    }
  })

  it('names every place it looked when the platform package is missing', async () => {
    const pkg = join(app, 'node_modules', `sonar-agent-${TRIPLE}`)
    renameSync(pkg, `${pkg}.away`)
    try {
      const failed = await exec('node', [join(app, 'node_modules/.bin/sonar-agent'), 'snapshot'], { cwd: app, env: cleanEnv(), timeout: 30_000 }).then(
        () => undefined,
        (error: { code?: number; stderr?: string }) => error,
      )
      expect(failed?.code).not.toBe(0)
      expect(failed?.stderr).toContain(`npm package sonar-agent-${TRIPLE}`)
      expect(failed?.stderr).toContain('SONAR_AGENT_NATIVE_PATH')
    } finally {
      renameSync(`${pkg}.away`, pkg)
    }
  })
})
