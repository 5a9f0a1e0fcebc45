/**
 * The agent's configuration: CLI flags > environment (SONAR_AGENT_ > BESZEL_AGENT_ > bare) > YAML
 * file, validated once at start-up. Every failure is one ConfigError line naming the setting, the
 * problem and a good example; secret values (TOKEN, KEY contents, HUB_URL credentials) are never
 * quoted.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs'
import * as z from 'zod/mini'
import { KeyParseError, parseAuthorizedKeys, type HubKey } from '../identity/keys.js'
import type { HostIdRoots } from '../identity/fingerprint.js'
import type { LogLevel } from '../log.js'
import { settingError } from './errors.js'
import { DEFAULT_CONFIG_FILE, readConfigFile } from './file.js'
import { DEFAULT_LISTEN, ListenError, parseListen, type ListenAddress, type ListenNetwork } from './listen.js'
import { lookupSetting, type Environment } from './lookup.js'
import { knownSettings, problemError, settingCatalog, type SettingValue } from './catalog.js'
import { loadNative, type NativeBinding } from '../native.js'

export { ConfigError, settingError } from './errors.js'
export type { HostIdRoots } from '../identity/fingerprint.js'
export { formatListen, listenPort, parseListen, type ListenAddress, type ListenNetwork } from './listen.js'

export { knownSettings } from './catalog.js'

export interface AgentConfig {
  hubUrl?: URL
  token?: string
  keys: HubKey[]
  listen: ListenAddress
  disableSsh: boolean
  /** EXIT_ON_DNS_ERROR: exit (status 1) when the hub's name does not resolve, for supervisors that restart */
  exitOnDnsError: boolean
  dataDir?: string
  systemName?: string
  logLevel: LogLevel
  hubFlavor?: 'sonar' | 'beszel'
  caCertFile?: string
  tlsInsecureSkipVerify: boolean
  roots: HostIdRoots
  /** the config file that was read, if any (for logs) */
  configFile?: string
  /** any raw setting after flags > env > file (flags only for KEY, LISTEN, HUB_URL, TOKEN) */
  setting(name: string): string | undefined
  /** a setting's value typed by the core's grammar (booleans, durations in ms, lists); undefined when unset or blank */
  value(name: string): SettingValue | undefined
  /** raw collector settings (env > file), only the names that are set: for the native core */
  collectorSettings(names: readonly string[]): Record<string, string | undefined>
}

export interface CliFlags {
  key?: string
  listen?: string
  url?: string
  token?: string
  config?: string
  /** `--read-only`: READ_ONLY=true whatever the environment and the file say */
  readOnly?: boolean
}

export interface LoadOptions {
  /**
   * false for commands that do not talk to the hub (`fingerprint`): KEY, KEY_FILE, TOKEN and
   * TOKEN_FILE are then neither read nor required (keys [] and no token); every other setting is
   * still checked. Default true.
   */
  hubSettings?: boolean
  /** where to look for the config file when `--config` is not given (tests) */
  defaultConfigFile?: string
  /** the addon whose settings table and grammar apply (default: the loaded one) */
  native?: NativeBinding
}

/** A value that failed validation: the problem and a good example (never the user's value if secret). */
class Problem extends Error {
  constructor(
    message: string,
    readonly example?: string,
  ) {
    super(message)
  }
}

/** undefined/'' → undefined; otherwise `parse`, whose Problem becomes a zod issue. */
function field<T>(parse: (value: string) => T) {
  return z.pipe(
    z.optional(z.string()),
    z.transform((value: string | undefined, ctx): T | undefined => {
      if (value === undefined || value.trim() === '') return undefined
      try {
        return parse(value)
      } catch (error) {
        if (!(error instanceof Problem)) throw error
        ctx.issues.push({ code: 'custom', message: error.message, params: { example: error.example }, input: value })
        return z.NEVER
      }
    }),
  )
}

function parseHubUrl(value: string): URL {
  const text = value.trim()
  if (!text.includes('://')) throw new Problem('needs a scheme: http://, https://, ws:// or wss://', 'https://hub.example.com')
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new Problem('is not a valid URL', 'https://hub.example.com')
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol)) {
    throw new Problem(`scheme ${JSON.stringify(url.protocol.slice(0, -1))} is not supported; use http, https, ws or wss`, 'https://hub.example.com')
  }
  if (url.hostname === '') throw new Problem('has no host', 'https://hub.example.com')
  return url
}

function parseToken(value: string): string {
  const token = value.trim()
  // It travels in the X-Token header; a control character would break the request later and obscurely.
  if (/[\u0000-\u001f\u007f]/.test(token)) throw new Problem('contains a line break or control character')
  if (/[^\u0020-\u00ff]/.test(token)) throw new Problem('contains characters that cannot be sent in an HTTP header')
  return token
}

function readablePath(example: string) {
  return (value: string): string => {
    try {
      if (!statSync(value).isFile()) throw new Problem(`${value} is not a file`, example)
      accessSync(value, constants.R_OK)
    } catch (error) {
      if (error instanceof Problem) throw error
      throw new Problem(`cannot read ${value} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, example)
    }
    return value
  }
}

/** The raw strings the schema checks; keys are the setting names the messages use. */
/** Booleans, enums, durations and lists are the core's (one grammar for every setting); these
 * are the checks only this side can make: a URL, a header-safe token, a readable file. */
const schema = z.object({
  HUB_URL: field(parseHubUrl),
  TOKEN: field(parseToken),
  DATA_DIR: field((v) => v),
  SYSTEM_NAME: field((v) => v.trim()),
  CA_CERT_FILE: field(readablePath('/etc/sonar-agent/hub-ca.pem')),
})

const nonEmpty = (value: string | undefined): value is string => value !== undefined && value.trim() !== ''

/** One source of a secret: where it came from (for messages) and its text. */
interface Sourced {
  label: string
  text: string
}

function readSecretFile(setting: string, path: string, example: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    throw settingError(setting, `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, example)
  }
}

/**
 * A secret that can be given directly or as a file: flag, then per layer (env, then config file) the
 * value before the file, so a TOKEN_FILE in the environment beats a TOKEN in the config file.
 */
function layeredSecret(
  name: 'KEY' | 'TOKEN',
  flag: { label: string; value: string | undefined },
  layers: readonly ((name: string) => string | undefined)[],
  fileExample: string,
): Sourced | undefined {
  if (nonEmpty(flag.value)) return { label: flag.label, text: flag.value }
  for (const get of layers) {
    const direct = get(name)
    if (nonEmpty(direct)) return { label: name, text: direct }
    const path = get(`${name}_FILE`)
    if (nonEmpty(path)) return { label: `${name}_FILE`, text: readSecretFile(`${name}_FILE`, path.trim(), fileExample) }
  }
  return undefined
}

const KEY_EXAMPLE = '"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA… hub"'

function parseKeys(source: Sourced): HubKey[] {
  try {
    return parseAuthorizedKeys(source.text)
  } catch (error) {
    if (error instanceof KeyParseError) {
      throw settingError(source.label, error.message, source.label === 'KEY_FILE' ? '/etc/sonar-agent/hub.pub' : KEY_EXAMPLE)
    }
    throw error
  }
}

export function loadConfig(flags: CliFlags, env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): AgentConfig {
  const hubSettings = options.hubSettings ?? true
  const native = options.native ?? loadNative()
  const catalog = settingCatalog(native)
  const { path: configFile, settings: file } = readConfigFile(flags.config, knownSettings(native), options.defaultConfigFile ?? DEFAULT_CONFIG_FILE)
  const fromEnv = (name: string): string | undefined => lookupSetting(name, env as Environment)
  const fromFile = (name: string): string | undefined => file.get(name)
  const merged = (name: string): string | undefined => fromEnv(name) ?? fromFile(name)
  const flagValues: Record<string, string | undefined> = { KEY: flags.key, LISTEN: flags.listen, HUB_URL: flags.url, TOKEN: flags.token, READ_ONLY: flags.readOnly ? 'true' : undefined }
  const setting = (name: string): string | undefined => {
    const upper = name.toUpperCase()
    const flag = flagValues[upper]
    return flag !== undefined ? flag : merged(upper)
  }

  // Every value through the core's grammar first (secrets stay on this side: nothing to parse).
  const rawValues: Record<string, string | undefined> = {}
  for (const spec of catalog) if (spec.kind !== 'secret') rawValues[spec.name] = setting(spec.name)
  const core = native.parseSettings(rawValues)
  const [problem] = core.errors
  if (problem !== undefined) throw problemError(problem)
  const typed = core.values
  const flag = (name: string): boolean => typed[name] === true
  const text = (name: string): string | undefined => {
    const value = typed[name]
    return typeof value === 'string' ? value : undefined
  }

  const raw: Record<string, string | undefined> = {}
  for (const name of Object.keys(schema.shape)) raw[name] = setting(name)
  const labels: Record<string, string> = { HUB_URL: nonEmpty(flags.url) ? '--url' : 'HUB_URL', TOKEN: 'TOKEN' }

  const token = hubSettings ? layeredSecret('TOKEN', { label: '--token', value: flags.token }, [fromEnv, fromFile], '/run/secrets/sonar-token') : undefined
  raw.TOKEN = token?.text
  labels.TOKEN = token?.label ?? 'TOKEN'

  const parsed = schema.safeParse(raw)
  if (!parsed.success) {
    const [issue] = parsed.error.issues
    const name = String(issue?.path[0] ?? 'config')
    const params = issue && 'params' in issue ? (issue.params as { example?: string } | undefined) : undefined
    throw settingError(labels[name] ?? name, issue?.message ?? 'invalid value', params?.example)
  }
  const values = parsed.data

  // Listen address: --listen > LISTEN > legacy PORT > default, NETWORK overriding the inferred network.
  const listenSource = [
    { label: '--listen', value: flags.listen },
    { label: 'LISTEN', value: merged('LISTEN') },
    { label: 'PORT', value: merged('PORT') },
  ].find((s) => nonEmpty(s.value)) ?? { label: 'LISTEN', value: DEFAULT_LISTEN }
  let listen: ListenAddress
  try {
    listen = parseListen(listenSource.value ?? DEFAULT_LISTEN, text('NETWORK') as ListenNetwork | undefined)
  } catch (error) {
    if (error instanceof ListenError) throw settingError(listenSource.label, error.message, error.example)
    throw error
  }

  const keySource = hubSettings ? layeredSecret('KEY', { label: '--key', value: flags.key }, [fromEnv, fromFile], '/etc/sonar-agent/hub.pub') : undefined
  const keys = keySource ? parseKeys(keySource) : []
  const disableSsh = flag('DISABLE_SSH')

  if (hubSettings) {
    if (keys.length === 0) {
      const problem = keySource
        ? `has no key lines, only blank or # lines`
        : values.HUB_URL
          ? 'not set; the hub\'s public key is needed to verify the hub at HUB_URL (set KEY, KEY_FILE or --key)'
          : 'not set, and neither is HUB_URL: set KEY (or KEY_FILE, --key) to the public key from the hub\'s "Add system" dialog, and HUB_URL plus TOKEN to connect to the hub'
      throw settingError(keySource?.label ?? 'KEY', problem, KEY_EXAMPLE)
    }
    if (values.HUB_URL && values.TOKEN === undefined) {
      if (token?.label === 'TOKEN_FILE') throw settingError('TOKEN_FILE', 'the file is empty', '/run/secrets/sonar-token')
      throw settingError('TOKEN', 'not set; it is required when HUB_URL is set (or use TOKEN_FILE, --token)', '<the token from the hub\'s "Add system" dialog>')
    }
    if (!values.HUB_URL && disableSsh) {
      throw settingError('HUB_URL', 'not set and DISABLE_SSH=true, so the hub has no way to reach this agent', 'https://hub.example.com')
    }
  }

  return {
    ...(values.HUB_URL ? { hubUrl: values.HUB_URL } : {}),
    ...(values.TOKEN !== undefined ? { token: values.TOKEN } : {}),
    keys,
    listen,
    disableSsh,
    exitOnDnsError: flag('EXIT_ON_DNS_ERROR'),
    ...(values.DATA_DIR !== undefined ? { dataDir: values.DATA_DIR } : {}),
    ...(values.SYSTEM_NAME !== undefined ? { systemName: values.SYSTEM_NAME } : {}),
    logLevel: (text('LOG_LEVEL') as LogLevel | undefined) ?? 'info',
    ...(text('HUB_FLAVOR') !== undefined ? { hubFlavor: text('HUB_FLAVOR') as 'sonar' | 'beszel' } : {}),
    ...(values.CA_CERT_FILE !== undefined ? { caCertFile: values.CA_CERT_FILE } : {}),
    tlsInsecureSkipVerify: flag('TLS_INSECURE_SKIP_VERIFY'),
    roots: { proc: text('HOST_PROC') ?? '/proc', sys: text('HOST_SYS') ?? '/sys', etc: text('HOST_ETC') ?? '/etc' },
    ...(configFile !== undefined ? { configFile } : {}),
    setting,
    value: (name) => typed[name],
    collectorSettings(names) {
      const out: Record<string, string | undefined> = {}
      for (const name of names) {
        const value = merged(name)
        if (value !== undefined) out[name] = value
      }
      return out
    },
  }
}
