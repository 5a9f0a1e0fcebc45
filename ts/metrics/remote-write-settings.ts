/**
 * Remote write's settings, checked once at start: every problem is one ConfigError naming the
 * setting. Durations and lists come typed from the core's grammar (config.value); what only this
 * side can check — the URL, label names, sizes, the credential files — is checked here.
 */
import { readFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import * as z from 'zod/mini'
import type { AgentConfig } from '../config/config.js'
import { settingError } from '../config/errors.js'
import { parseByteSize } from './write-queue.js'

export interface RemoteWriteSettings {
  url: URL
  intervalMs: number
  /** [name, value] pairs added to every series (an empty value removes a label) */
  labels: [string, string][]
  maxAgeMs: number
  maxBytes: number
  /** where the Authorization header comes from; the file is read again for every request, so a rotated secret is picked up */
  auth: { kind: 'none' } | { kind: 'basic'; username: string; passwordFile: string } | { kind: 'bearer'; tokenFile: string }
}

/** The catalog's defaults (crates/sonar-core/src/settings/catalog.rs), applied when a setting is unset. */
const DEFAULT_INTERVAL_MS = 15_000
const DEFAULT_MAX_AGE_MS = 30 * 60_000
const DEFAULT_MAX_BYTES = '8MiB'

/** Prometheus's label-name grammar; `__` names are its own (`__name__` would rename the series). */
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

const headerSafe = z.string().check(z.regex(/^[\u0020-\u007e\u0080-\u00ff]*$/, 'contains a line break or a character that cannot be sent in an HTTP header'))

const receiverUrl = z.pipe(
  z.string(),
  z.transform((text, ctx): URL => {
    let url: URL | undefined
    try {
      url = new URL(text.trim())
    } catch {
      url = undefined
    }
    const problem =
      url === undefined
        ? 'is not a valid URL'
        : url.protocol !== 'http:' && url.protocol !== 'https:'
          ? `scheme ${JSON.stringify(url.protocol.slice(0, -1))} is not supported; use http or https`
          : url.hostname === ''
            ? 'has no host'
            : undefined
    if (problem !== undefined || url === undefined) {
      ctx.issues.push({ code: 'custom', message: problem ?? 'is not a valid URL', input: text })
      return z.NEVER
    }
    return url
  }),
)

/** `REMOTE_WRITE_LABELS` items (`name=value`) over the defaults job=sonar-agent, instance=<hostname>. */
export function parseLabels(items: readonly string[], host: string = hostname()): [string, string][] {
  const labels = new Map<string, string>([
    ['job', 'sonar-agent'],
    ['instance', host],
  ])
  const seen = new Set<string>()
  for (const item of items) {
    const at = item.indexOf('=')
    const name = at < 0 ? item.trim() : item.slice(0, at).trim()
    const value = at < 0 ? '' : item.slice(at + 1).trim()
    if (at < 0) throw settingError('REMOTE_WRITE_LABELS', `${JSON.stringify(item)} is not name=value`, 'instance=web-01,env=prod')
    if (!LABEL_NAME.test(name) || name.startsWith('__')) {
      throw settingError('REMOTE_WRITE_LABELS', `${JSON.stringify(name)} is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)`, 'instance=web-01,env=prod')
    }
    if (seen.has(name)) throw settingError('REMOTE_WRITE_LABELS', `${JSON.stringify(name)} is given twice`, 'instance=web-01,env=prod')
    seen.add(name)
    labels.set(name, value)
  }
  return [...labels]
}

async function readableFile(setting: string, path: string, example: string): Promise<string> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw settingError(setting, `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, example)
  }
  const secret = text.trim()
  if (secret === '') throw settingError(setting, `${path} is empty`, example)
  if (!headerSafe.safeParse(secret).success) throw settingError(setting, `${path} holds a line break or a character that cannot be sent in an HTTP header`, example)
  return secret
}

/** A credential file's secret, read now (the sender reads it for every request). */
export function readSecret(setting: string, path: string): Promise<string> {
  return readableFile(setting, path, setting === 'REMOTE_WRITE_PASSWORD_FILE' ? '/run/secrets/remote-write-password' : '/run/secrets/remote-write-token')
}

export async function remoteWriteSettings(config: Pick<AgentConfig, 'setting' | 'value'>, host?: string): Promise<RemoteWriteSettings> {
  const text = (name: string): string | undefined => {
    const raw = config.setting(name)
    return raw === undefined || raw.trim() === '' ? undefined : raw.trim()
  }
  const number = (name: string, fallback: number): number => {
    const value = config.value(name)
    return typeof value === 'number' && value > 0 ? value : fallback
  }

  const rawUrl = text('REMOTE_WRITE_URL') ?? ''
  const url = receiverUrl.safeParse(rawUrl)
  if (!url.success) {
    throw settingError('REMOTE_WRITE_URL', `${JSON.stringify(rawUrl)} ${url.error.issues[0]?.message ?? 'is not a valid URL'}`, 'https://vm.example.com/api/v1/write')
  }
  if (url.data.username !== '' || url.data.password !== '') {
    // credentials in the URL would be logged with it; the settings keep them in files
    throw settingError('REMOTE_WRITE_URL', 'must not hold credentials: use REMOTE_WRITE_USERNAME with REMOTE_WRITE_PASSWORD_FILE, or REMOTE_WRITE_BEARER_TOKEN_FILE', 'https://vm.example.com/api/v1/write')
  }

  const labelItems = config.value('REMOTE_WRITE_LABELS')
  const labels = parseLabels(Array.isArray(labelItems) ? labelItems : [], host)

  const username = text('REMOTE_WRITE_USERNAME')
  const passwordFile = text('REMOTE_WRITE_PASSWORD_FILE')
  const tokenFile = text('REMOTE_WRITE_BEARER_TOKEN_FILE')
  let auth: RemoteWriteSettings['auth'] = { kind: 'none' }
  if (tokenFile !== undefined && (username !== undefined || passwordFile !== undefined)) {
    throw settingError('REMOTE_WRITE_BEARER_TOKEN_FILE', 'is set together with basic auth (REMOTE_WRITE_USERNAME, REMOTE_WRITE_PASSWORD_FILE): use one of them')
  }
  if (tokenFile !== undefined) {
    await readSecret('REMOTE_WRITE_BEARER_TOKEN_FILE', tokenFile)
    auth = { kind: 'bearer', tokenFile }
  } else if (username !== undefined || passwordFile !== undefined) {
    if (username === undefined) throw settingError('REMOTE_WRITE_USERNAME', 'not set; it is required when REMOTE_WRITE_PASSWORD_FILE is set', 'sonar')
    if (passwordFile === undefined) throw settingError('REMOTE_WRITE_PASSWORD_FILE', 'not set; it is required when REMOTE_WRITE_USERNAME is set', '/run/secrets/remote-write-password')
    if (username.includes(':') || !headerSafe.safeParse(username).success) {
      throw settingError('REMOTE_WRITE_USERNAME', `${JSON.stringify(username)} contains ":" or a character that cannot be sent in an HTTP header`, 'sonar')
    }
    await readSecret('REMOTE_WRITE_PASSWORD_FILE', passwordFile)
    auth = { kind: 'basic', username, passwordFile }
  }

  return {
    url: url.data,
    intervalMs: number('REMOTE_WRITE_INTERVAL', DEFAULT_INTERVAL_MS),
    labels,
    maxAgeMs: number('REMOTE_WRITE_QUEUE_MAX_AGE', DEFAULT_MAX_AGE_MS),
    maxBytes: parseByteSize(text('REMOTE_WRITE_QUEUE_MAX_BYTES') ?? DEFAULT_MAX_BYTES, 'REMOTE_WRITE_QUEUE_MAX_BYTES'),
    auth,
  }
}
