/**
 * What the package tests share: packing with scripts/pack.mjs and installing tarballs into an
 * empty project the way a user does, from this machine's npm cache.
 *
 * Offline needs every dependency tarball in the cache. `npm install` of this repository caches the
 * locked versions, but a fresh project resolves ranges anew (protobufjs wants any @types/node, so
 * npm picks the newest). When the cache lacks one, the install is retried with --prefer-offline
 * (only the missing tarballs are fetched) and the note says which ones.
 */
import { execFile } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { z } from 'zod'

const exec = promisify(execFile)
export const repoRoot = resolve(import.meta.dirname, '..')

/** The child's environment: none of the npm_* variables of an enclosing `npm test` (npm_config_local_prefix would point an install at this repository) and no agent settings. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) || /^(SONAR_AGENT|BESZEL_AGENT)_/.test(key)) continue
    env[key] = value
  }
  return env
}

const Packed = z.object({ file: z.string(), size: z.number(), unpackedSize: z.number(), entryCount: z.number() })
export type Packed = z.infer<typeof Packed>

/** Runs scripts/pack.mjs into `out`; returns the tarball of `name` for each name asked. */
export async function pack(out: string, names: readonly string[]): Promise<Packed[]> {
  const { stdout } = await exec('node', [join(repoRoot, 'scripts/pack.mjs'), '--out', out], {
    cwd: repoRoot,
    env: cleanEnv(),
    timeout: 120_000,
  })
  const packed = stdout.split('\n').filter(Boolean).map((line) => Packed.parse(JSON.parse(line)))
  for (const p of packed) console.log(`package: ${p.file.split('/').pop()} ${p.size} bytes packed, ${p.unpackedSize} unpacked, ${p.entryCount} files`)
  return names.map((name) => {
    const found = packed.find((p) => new RegExp(`/${name}-\\d+\\.\\d+\\.\\d+[^/]*\\.tgz$`).test(p.file))
    if (!found) throw new Error(`scripts/pack.mjs made no ${name} tarball:\n${stdout}`)
    return found
  })
}

async function npmInstall(app: string, mode: string, args: readonly string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await exec('npm', ['install', mode, '--no-audit', '--no-fund', '--loglevel=http', ...args], {
      cwd: app,
      env: cleanEnv(),
      timeout: 240_000,
      maxBuffer: 64 * 1024 * 1024,
    })
    return { ok: true, output: stdout + stderr }
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string }
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? e.message}` }
  }
}

/**
 * Makes `app` an empty project and installs `args` (tarballs and flags) into it. Returns a note
 * when --offline was not enough; throws with npm's output when the install fails.
 */
export async function installIntoEmptyProject(app: string, args: readonly string[]): Promise<string> {
  mkdirSync(app, { recursive: true })
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'sonar-user', private: true }))
  const started = Date.now()
  let note = ''
  let install = await npmInstall(app, '--offline', args)
  if (!install.ok && /ENOTCACHED/.test(install.output)) {
    const missing = [...install.output.matchAll(/request to (\S+) failed: cache mode/g)].map((m) => m[1])
    note = `--offline lacked ${missing.join(', ') || 'a tarball'} in the npm cache; retried with --prefer-offline`
    console.warn(`package: ${note}`)
    install = await npmInstall(app, '--prefer-offline', args)
  }
  if (!install.ok) throw new Error(`npm install ${args.join(' ')} failed:\n${install.output}`)
  const fetched = [...install.output.matchAll(/fetch GET 200 (\S+) .*\(cache miss\)/g)].map((m) => m[1])
  const shown = fetched.length > 5 ? `${fetched.slice(0, 5).join(', ')} and ${fetched.length - 5} more` : fetched.join(', ')
  console.log(`package: installed in ${Date.now() - started} ms; from the registry: ${shown || 'nothing'}`)
  return note
}
