/**
 * The agent's own prerequisites — the native addon, the config file, every setting, KEY and TOKEN —
 * and the context the other check groups read (settings, parsed config, the addon). Each step
 * goes on when an earlier one failed, so one bad setting does not hide the rest of the report.
 */
import { readFile } from 'node:fs/promises'
import { coreSettingNames, knownSettings, parseOne, problemError } from '../config/catalog.js'
import { ConfigError, loadConfig, type AgentConfig, type CliFlags } from '../config/config.js'
import { readConfigFile, type FileSettings } from '../config/file.js'
import { lookupSetting, type Environment } from '../config/lookup.js'
import { KeyParseError, parseAuthorizedKeys, type HubKey } from '../identity/keys.js'
import { candidates, loadFrom, type NativeBinding } from '../native.js'
import { errorCode, result, type CheckResult } from './check.js'

export interface DoctorContext {
  env: NodeJS.ProcessEnv
  /** a raw setting as the agent reads it: flags > environment > config file */
  setting(name: string): string | undefined
  /** a boolean setting as the core reads it (false when unset, or when it does not parse: the settings check says so) */
  flag(name: string): boolean
  /** the parsed configuration, hub settings included when they parsed */
  config?: AgentConfig
  /** KEY parsed (also when another setting stopped loadConfig) */
  keys: HubKey[]
  native?: NativeBinding
  /** the raw values of the settings the core reads, as the agent hands them to it (the parsed config's, else raw); empty without the addon */
  coreSettings: Readonly<Record<string, string>>
  uid: number
}

export interface CoreOptions {
  flags: CliFlags
  env: NodeJS.ProcessEnv
  /** replaces /etc/sonar-agent/config.yml (tests) */
  defaultConfigFile?: string
  uid?: number
}

const GROUP = 'core'
const HUB_SETTINGS = new Set(['KEY', 'KEY_FILE', '--key', 'TOKEN', 'TOKEN_FILE', '--token'])

/** "X: problem (e.g. X=example)" → the problem, and a fix naming the setting with the example. */
function splitConfigError(error: ConfigError): { message: string; fix: string } {
  const example = /\(e\.g\. (.*)\)$/.exec(error.message)
  const message = example ? error.message.slice(0, example.index).trimEnd() : error.message
  const setting = error.setting ?? 'the config file'
  const fix = example?.[1] !== undefined ? `set ${setting} correctly, e.g. ${example[1]}` : `correct ${setting}`
  return { message, fix }
}

function describeKeys(keys: readonly HubKey[]): string {
  const comments = keys.map((k) => k.comment).filter((c) => c !== '')
  return `${keys.length} hub key${keys.length === 1 ? '' : 's'}${comments.length > 0 ? ` (${comments.join(', ')})` : ''}`
}

export async function checkCore(options: CoreOptions): Promise<{ results: CheckResult[]; context: DoctorContext }> {
  const { flags, env } = options
  const results: CheckResult[] = []
  const loadOptions = options.defaultConfigFile !== undefined ? { defaultConfigFile: options.defaultConfigFile } : {}

  // Native addon: without it nothing is collected.
  let native: NativeBinding | undefined
  try {
    native = loadFrom(candidates(env))
    results.push(result(GROUP, 'native addon', 'ok', `loaded (protocol ${native.agentVersion})`))
  } catch (error) {
    const lines = (error instanceof Error ? error.message : String(error)).split('\n')
    results.push(
      result(GROUP, 'native addon', 'fail', `${lines[0] ?? 'cannot load'} ${lines.slice(1, -1).map((l) => l.trim()).join('; ')}`, 'npm run build:native (from a checkout), or npm install the platform package (e.g. sonar-agent-linux-x64-gnu), or set SONAR_AGENT_NATIVE_PATH to the .node file'),
    )
  }

  // Config file (YAML, known names only: the core's settings table has them).
  let file: FileSettings = new Map()
  try {
    if (!native) throw new ConfigError('not checked: the native addon did not load (its settings table names what the file may hold)')
    const read = readConfigFile(flags.config, knownSettings(native), options.defaultConfigFile)
    file = read.settings
    results.push(
      read.path !== undefined
        ? result(GROUP, 'config file', 'ok', `${read.path}: ${read.settings.size} setting${read.settings.size === 1 ? '' : 's'}`)
        : result(GROUP, 'config file', 'skip', 'none (settings come from the environment only)'),
    )
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    results.push(result(GROUP, 'config file', 'fail', error.message, 'correct the config file (YAML "NAME: value" lines with the names in config.example.yml), or pass another with -c'))
  }

  const flagValues: Record<string, string | undefined> = { KEY: flags.key, LISTEN: flags.listen, HUB_URL: flags.url, TOKEN: flags.token }
  const setting = (name: string): string | undefined => flagValues[name] ?? lookupSetting(name, env as Environment) ?? file.get(name)

  // Every setting the TypeScript side validates, hub secrets aside.
  let config: AgentConfig | undefined
  try {
    if (!native) throw new ConfigError('not checked: the native addon did not load (it parses every setting)')
    config = loadConfig(flags, env, { ...loadOptions, hubSettings: false, native })
    results.push(result(GROUP, 'settings', 'ok', 'every setting parses'))
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    const { message, fix } = splitConfigError(error)
    results.push(result(GROUP, 'settings', 'fail', message, fix))
  }

  // KEY and TOKEN (and the HUB_URL/DISABLE_SSH combination), with the hub settings on.
  let keys: HubKey[] = []
  let hubError: ConfigError | undefined
  if (config !== undefined) {
    try {
      config = loadConfig(flags, env, { ...loadOptions, hubSettings: true, ...(native ? { native } : {}) })
      keys = config.keys
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      hubError = error
    }
  }
  if (hubError !== undefined && HUB_SETTINGS.has(hubError.setting ?? '')) {
    const { message, fix } = splitConfigError(hubError)
    const name = hubError.setting?.replace(/^--/, '').replace(/_FILE$/, '').toUpperCase() ?? 'KEY'
    results.push(result(GROUP, name, 'fail', message, fix))
    if (name === 'TOKEN') keys = await rawKeys(setting, results)
    else if (config?.hubUrl !== undefined) results.push(result(GROUP, 'TOKEN', 'skip', 'not checked until KEY parses'))
  } else if (hubError !== undefined) {
    const { message, fix } = splitConfigError(hubError)
    results.push(result(GROUP, 'hub settings', 'fail', message, fix))
  } else if (config !== undefined) {
    results.push(result(GROUP, 'KEY', 'ok', describeKeys(keys)))
    if (config.hubUrl !== undefined) results.push(result(GROUP, 'TOKEN', 'ok', 'set'))
  } else {
    // another setting stopped loadConfig: KEY is still worth checking on its own
    keys = await rawKeys(setting, results)
  }

  // Every setting the core reads, each problem on its own line (loadConfig stops at the first),
  // then the core's own configure for what only the whole set shows (NVML=false with nvml listed).
  const names = native ? coreSettingNames(native) : []
  const values: Record<string, string> = {}
  for (const name of names) {
    const value = config ? config.collectorSettings([name])[name] : setting(name)
    if (value !== undefined) values[name] = value
  }
  if (native) {
    const set = Object.keys(values).length
    const { errors } = native.parseSettings(values)
    for (const problem of errors) {
      const { message, fix } = splitConfigError(problemError(problem))
      results.push(result(GROUP, 'collector settings', 'fail', message, problem.example === undefined ? `remove ${problem.name}` : fix))
    }
    if (errors.length === 0) {
      try {
        // GPU collectors stay off in the doctor: configure would start their pollers and children;
        // the core still validates GPU_COLLECTOR and INTEL_GPU_DEVICE with SKIP_GPU on.
        native.configure({ ...values, SKIP_GPU: 'true' })
        results.push(result(GROUP, 'collector settings', 'ok', `the core accepts them (${set} of ${names.length} set)`))
      } catch (error) {
        const text = error instanceof Error ? error.message : String(error)
        const example = /\(for example (.*)\)$/.exec(text)
        const message = example ? text.slice(0, example.index).trimEnd() : text
        const name = /^([A-Z_]+)/.exec(text)?.[1] ?? 'the setting named above'
        results.push(result(GROUP, 'collector settings', 'fail', message, example?.[1] !== undefined ? `set ${name} correctly, e.g. ${example[1]}` : `correct ${name}`))
      }
    }
  } else {
    results.push(result(GROUP, 'collector settings', 'skip', 'not checked: the native addon did not load'))
  }

  const flag = (name: string): boolean => (native ? parseOne(name, setting(name), native) === true : false)
  return {
    results,
    context: { env, setting, flag, keys, coreSettings: values, uid: options.uid ?? process.getuid?.() ?? 0, ...(config ? { config } : {}), ...(native ? { native } : {}) },
  }
}

/** KEY (or KEY_FILE) checked without loadConfig, when another setting stopped it. */
async function rawKeys(setting: (name: string) => string | undefined, results: CheckResult[]): Promise<HubKey[]> {
  const direct = setting('KEY')
  const path = setting('KEY_FILE')
  let text = direct
  let label = 'KEY'
  if ((text === undefined || text.trim() === '') && path !== undefined && path.trim() !== '') {
    label = 'KEY_FILE'
    try {
      text = await readFile(path.trim(), 'utf8')
    } catch (error) {
      results.push(result(GROUP, 'KEY', 'fail', `KEY_FILE: cannot read ${path.trim()} (${errorCode(error)})`, 'set KEY_FILE to a readable file holding the hub\'s public key line'))
      return []
    }
  }
  if (text === undefined || text.trim() === '') {
    results.push(result(GROUP, 'KEY', 'fail', 'KEY: not set', 'set KEY to the public key from the hub\'s "Add system" dialog, e.g. KEY="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA… hub"'))
    return []
  }
  try {
    const keys = parseAuthorizedKeys(text)
    results.push(result(GROUP, 'KEY', keys.length > 0 ? 'ok' : 'fail', keys.length > 0 ? describeKeys(keys) : `${label}: no key lines`, keys.length > 0 ? undefined : `put the hub's "ssh-ed25519 …" line in ${label}`))
    return keys
  } catch (error) {
    if (!(error instanceof KeyParseError)) throw error
    results.push(result(GROUP, 'KEY', 'fail', `${label}: ${error.message}`, `set ${label} to the hub's public key line, e.g. KEY="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA… hub"`))
    return []
  }
}
