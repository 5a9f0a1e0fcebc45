/**
 * The optional YAML config file: a flat map from setting names (any case) to scalar values.
 * Parsed with the YAML failsafe schema so every value stays the exact text written: a TOKEN of
 * `0123` or a NICS of `no` must not turn into a number or a boolean on the way.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

// yaml is loaded only when a config file exists: most agents are configured by environment alone
// and the parser costs memory for the whole life of the daemon.
const requireModule = createRequire(import.meta.url)
const loadYaml = (): typeof import('yaml') => requireModule('yaml') as typeof import('yaml')
import { ConfigError } from './errors.js'

/** Setting name (upper case) → raw value. */
export type FileSettings = ReadonlyMap<string, string>

/** Standard location; read when present and no `--config` is given. */
export const DEFAULT_CONFIG_FILE = '/etc/sonar-agent/config.yml'

const PREFIXES = ['SONAR_AGENT_', 'BESZEL_AGENT_']

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost)
    }
    previous = current
  }
  return previous[b.length] ?? 0
}

/** "did you mean" hint for an unknown name, or '' when nothing is close. */
export function closestSetting(name: string, known: readonly string[]): string {
  for (const prefix of PREFIXES) {
    const bare = name.startsWith(prefix) ? name.slice(prefix.length) : undefined
    if (bare !== undefined && known.includes(bare)) return bare
  }
  let best = ''
  let bestDistance = Infinity
  for (const candidate of known) {
    const distance = editDistance(name, candidate)
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : ''
}

/**
 * Parses config file text. Errors never quote the file's content (it may hold TOKEN or KEY); they
 * give the file, line and what is wrong.
 */
export function parseConfigText(text: string, source: string, known: readonly string[]): FileSettings {
  const { LineCounter, parseDocument, isMap, isScalar, isPair } = loadYaml()
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { schema: 'failsafe', prettyErrors: false, lineCounter, uniqueKeys: true })
  const where = (pos: readonly number[] | undefined): string => {
    const at = pos?.[0]
    return at === undefined ? '' : `, line ${lineCounter.linePos(at).line}`
  }
  const [first] = doc.errors
  if (first) {
    const problem = first.code === 'DUPLICATE_KEY' ? 'a setting is given twice' : `invalid YAML (${first.code})`
    throw new ConfigError(`config file ${source}${where(first.pos)}: ${problem}`)
  }
  const out = new Map<string, string>()
  if (doc.contents === null) return out
  if (!isMap(doc.contents)) {
    throw new ConfigError(`config file ${source}: expected "NAME: value" lines (a YAML mapping), e.g. HUB_URL: https://hub.example.com`)
  }
  for (const item of doc.contents.items) {
    if (!isPair(item) || !isScalar(item.key) || typeof item.key.value !== 'string') {
      throw new ConfigError(`config file ${source}: every key must be a setting name, e.g. HUB_URL: https://hub.example.com`)
    }
    const name = item.key.value.toUpperCase()
    const line = where(item.key.range ?? undefined)
    if (!known.includes(name)) {
      const hint = closestSetting(name, known)
      throw new ConfigError(`config file ${source}${line}: unknown setting ${JSON.stringify(item.key.value)}${hint ? ` (did you mean ${hint}?)` : ''}`)
    }
    if (out.has(name)) throw new ConfigError(`config file ${source}${line}: ${name} is given twice (names are case-insensitive)`)
    // `NAME:` with nothing after it is "set but empty", like NAME= in the environment.
    const value = item.value === null ? '' : isScalar(item.value) && typeof item.value.value === 'string' ? item.value.value : undefined
    if (value === undefined) {
      throw new ConfigError(`config file ${source}${line}: ${name} must be a single value, not a list or map (e.g. NICS: "eth0,eth1"; several KEY lines go in a "|" block)`)
    }
    out.set(name, value)
  }
  return out
}

export interface ConfigFile {
  /** the file that was read; undefined when there was none */
  path?: string
  settings: FileSettings
}

/** Reads the config file: `explicit` must exist; the default location is read only when present. */
export function readConfigFile(explicit: string | undefined, known: readonly string[], defaultPath = DEFAULT_CONFIG_FILE): ConfigFile {
  const path = explicit ?? defaultPath
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error'
    if (explicit === undefined && code === 'ENOENT') return { settings: new Map() }
    throw new ConfigError(`config file ${path}: cannot read it (${code})${explicit !== undefined ? ' (e.g. --config /etc/sonar-agent/config.yml)' : ''}`)
  }
  return { path, settings: parseConfigText(text, path, known) }
}
