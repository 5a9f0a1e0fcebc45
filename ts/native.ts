/**
 * Loads the native core: the path in SONAR_AGENT_NATIVE_PATH when set, else a local build
 * (`native/` or the package root), else the npm platform package for this platform, arch and libc.
 * If nothing loads, one error lists every place tried and why each failed.
 */
import { createRequire } from 'node:module'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { NativeBinding } from '../index.js'

export type { NativeBinding, CombinedDataJson, CollectOptions, SettingProblem, SettingSpec, SettingValue } from '../index.js'

export const NATIVE_PATH_ENV = 'SONAR_AGENT_NATIVE_PATH'
const BINARY_NAME = 'sonar-agent'

const require = createRequire(import.meta.url)
/** The package root: one level above ts/ (sources) or dist/ (build output). */
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/**
 * musl's libc is its own dynamic loader (ld-musl-<arch>.so.1), so a musl-built node maps it: reading
 * this process's maps is cheap, where process.report.getReport() (the usual glibc probe) pages in
 * ~1.6 MiB of node that the daemon would then carry for its whole life. The report is the fallback
 * when /proc is not readable.
 */
function isMusl(): boolean {
  if (process.platform !== 'linux') return false
  try {
    return /\/ld-musl-[^/\s]*\.so/.test(readFileSync('/proc/self/maps', 'utf8'))
  } catch {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined
    return !report?.header?.glibcVersionRuntime
  }
}

/**
 * The napi-rs platform triple suffix, e.g. `linux-x64-gnu`, `darwin-arm64`, `win32-x64-gnu`. Windows
 * builds use the MinGW-w64 ABI (they are cross-built and tested on Linux): `-gnu` names it honestly.
 */
export function platformTriple(
  platform: NodeJS.Platform = process.platform,
  arch: string = process.arch,
  musl: boolean = isMusl(),
): string {
  if (platform === 'linux') return `linux-${arch}-${musl ? 'musl' : 'gnu'}`
  if (platform === 'win32') return `win32-${arch}-gnu`
  return `${platform}-${arch}`
}

interface Attempt {
  place: string
  error: string
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0] ?? error.message
  return String(error)
}

function looksLikeBinding(value: unknown): value is NativeBinding {
  const v = value as Partial<NativeBinding> | null
  return typeof v?.collect === 'function' && typeof v.snapshot === 'function' && typeof v.configure === 'function'
}

export class NativeLoadError extends Error {
  constructor(readonly attempts: readonly Attempt[]) {
    super(
      `could not load the SONAR native core for ${platformTriple()}; tried:\n` +
        attempts.map((a) => `  - ${a.place}: ${a.error}`).join('\n') +
        `\nBuild it with \`npm run build:native\`, install the platform package, or set ${NATIVE_PATH_ENV}.`,
    )
    this.name = 'NativeLoadError'
  }
}

/** Candidate locations in the order they are tried. */
export function candidates(env: NodeJS.ProcessEnv = process.env): { place: string; load: () => unknown }[] {
  const override = env[NATIVE_PATH_ENV]
  if (override) return [{ place: `${NATIVE_PATH_ENV}=${override}`, load: () => require(resolve(override)) }]
  const triple = platformTriple()
  const file = `${BINARY_NAME}.${triple}.node`
  const local = [join(packageRoot, 'native', file), join(packageRoot, file)]
  const fileLoaders = local.map((path) => ({
    place: path,
    load: () => {
      if (!existsSync(path)) throw new Error('not built (file does not exist)')
      return require(path)
    },
  }))
  const pkg = `${BINARY_NAME}-${triple}`
  return [...fileLoaders, { place: `npm package ${pkg}`, load: () => require(pkg) }]
}

/** Tries each candidate in order; throws one NativeLoadError listing every failure. */
export function loadFrom(places: readonly { place: string; load: () => unknown }[]): NativeBinding {
  const attempts: Attempt[] = []
  for (const candidate of places) {
    try {
      const binding = candidate.load()
      if (!looksLikeBinding(binding)) throw new Error('loaded, but it is not the SONAR core (no collect/snapshot)')
      return binding
    } catch (error) {
      attempts.push({ place: candidate.place, error: describe(error) })
    }
  }
  throw new NativeLoadError(attempts)
}

let cached: NativeBinding | undefined

/** The process-wide native core (loaded once). */
export function loadNative(env: NodeJS.ProcessEnv = process.env): NativeBinding {
  cached ??= loadFrom(candidates(env))
  return cached
}
