/**
 * METRICS_WEB_CONFIG: TLS and basic auth of /metrics in the web config format of Prometheus's own
 * exporters (prometheus/exporter-toolkit: tls_server_config, http_server_config, basic_auth_users),
 * so an operator reuses the file node_exporter reads. Keys this agent does not implement are
 * refused by name, never silently ignored. bcrypt (hash-wasm) and node:tls load only when the file asks.
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { dirname, isAbsolute, resolve } from 'node:path'
import type { SecureContextOptions, TLSSocket } from 'node:tls'
import { parse as parseYaml } from 'yaml'
// zod/mini, as everywhere in ts/: the classic API would bundle ~600 KB more into dist/bin.cjs
import * as z from 'zod/mini'
import { settingError, type ConfigError } from '../config/errors.js'
import { HEADER_VALUE } from './http1.js'

const SETTING = 'METRICS_WEB_CONFIG'
const EXAMPLE = '/etc/sonar-agent/web-config.yml'

/** exporter-toolkit's client_auth_type values (Go's tls.ClientAuthType names). */
const CLIENT_AUTH = ['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'] as const
export type ClientAuth = (typeof CLIENT_AUTH)[number]
const TLS_VERSIONS = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const
/** the response headers exporter-toolkit lets the file set */
const HEADERS = ['Content-Security-Policy', 'X-Frame-Options', 'X-Content-Type-Options', 'X-XSS-Protection', 'Strict-Transport-Security'] as const
/** a bcrypt hash as Go's x/crypto/bcrypt and bcryptjs write it */
const BCRYPT_HASH = /^\$2[abxy]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/

const nonEmpty = z.string().check(z.minLength(1))
const tlsVersion = z.enum(Object.keys(TLS_VERSIONS) as [keyof typeof TLS_VERSIONS])
const tlsSchema = z.strictObject({
  cert_file: nonEmpty,
  key_file: nonEmpty,
  client_auth_type: z.optional(z.enum(CLIENT_AUTH)),
  client_ca_file: z.optional(nonEmpty),
  min_version: z.optional(tlsVersion),
  max_version: z.optional(tlsVersion),
})
const fileSchema = z.nullable(
  z.strictObject({
    tls_server_config: z.nullish(tlsSchema),
    http_server_config: z.nullish(
      z.strictObject({
        // Accepted for the file's sake: this server speaks HTTP/1.1, which is what scrapers use.
        http2: z.optional(z.boolean()),
        headers: z.optional(z.partialRecord(z.enum(HEADERS), z.string().check(z.regex(HEADER_VALUE, 'is not a header value (a line break or control character)')))),
      }),
    ),
    basic_auth_users: z.nullish(z.record(nonEmpty, z.string().check(z.regex(BCRYPT_HASH, 'is not a bcrypt hash')))),
  }),
)

export interface WebTls {
  /** for https.createServer */
  options: SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean }
  clientAuth: ClientAuth
  /** whether a handshaken connection meets client_auth_type (the checks Node's options cannot say) */
  admits(socket: TLSSocket): boolean
}

/**
 * Checks an Authorization header: 'ok' when it names a user of the file with their password,
 * 'busy' when too many checks are already waiting.
 */
export type BasicAuth = (authorization: string | undefined) => Promise<'ok' | 'denied' | 'busy'>

export interface WebConfig {
  tls?: WebTls
  basicAuth?: BasicAuth
  headers: Record<string, string>
}

/** Reads and checks the file; every problem is a ConfigError naming METRICS_WEB_CONFIG, the file and the key. */
export async function loadWebConfig(path: string): Promise<WebConfig> {
  const fail = (problem: string): ConfigError => settingError(SETTING, `${path}: ${problem}`, EXAMPLE)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw fail(`cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`)
  }
  let raw: unknown
  try {
    raw = parseYaml(text)
  } catch (error) {
    throw fail(`is not YAML: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`)
  }
  const parsed = fileSchema.safeParse(raw ?? null)
  if (!parsed.success) {
    const [issue] = parsed.error.issues
    if (issue?.code === 'unrecognized_keys') {
      const at = issue.path.length > 0 ? `${issue.path.join('.')}.` : ''
      throw fail(`${issue.keys.map((key) => at + key).join(', ')} is not supported by this agent`)
    }
    throw fail(`${issue?.path.join('.') || 'the file'}: ${issue?.message ?? 'invalid'}`)
  }
  const file = parsed.data ?? {}
  // exporter-toolkit reads relative paths from the file's own folder
  const near = (p: string) => (isAbsolute(p) ? p : resolve(dirname(path), p))
  const read = async (key: string, p: string): Promise<Buffer> => {
    try {
      return await readFile(near(p))
    } catch (error) {
      throw fail(`${key} ${p} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`)
    }
  }

  const config: WebConfig = { headers: { ...(file.http_server_config?.headers ?? {}) } as Record<string, string> }
  const tls = file.tls_server_config
  if (tls) {
    // as exporter-toolkit: a CA without a type means verify the client's certificate
    const clientAuth: ClientAuth = tls.client_auth_type ?? (tls.client_ca_file ? 'RequireAndVerifyClientCert' : 'NoClientCert')
    const verifies = clientAuth === 'VerifyClientCertIfGiven' || clientAuth === 'RequireAndVerifyClientCert'
    if (verifies && !tls.client_ca_file) throw fail(`tls_server_config.client_auth_type ${clientAuth} needs tls_server_config.client_ca_file`)
    if (tls.client_ca_file && !verifies) throw fail(`tls_server_config.client_ca_file is given but client_auth_type ${clientAuth} verifies no certificate`)
    const options: WebTls['options'] = {
      cert: await read('tls_server_config.cert_file', tls.cert_file),
      key: await read('tls_server_config.key_file', tls.key_file),
      // Go's default minimum for servers is TLS 1.2, exporter-toolkit's too
      minVersion: TLS_VERSIONS[tls.min_version ?? 'TLS12'],
      ...(tls.max_version ? { maxVersion: TLS_VERSIONS[tls.max_version] } : {}),
      ...(tls.client_ca_file ? { ca: await read('tls_server_config.client_ca_file', tls.client_ca_file) } : {}),
      requestCert: clientAuth !== 'NoClientCert',
      rejectUnauthorized: clientAuth === 'RequireAndVerifyClientCert',
    }
    // the key and certificate must make a context now, not at the first scrape
    try {
      const { createSecureContext } = await import('node:tls')
      createSecureContext(options)
    } catch (error) {
      throw fail(`tls_server_config: ${error instanceof Error ? error.message : String(error)}`)
    }
    const admits = (socket: TLSSocket): boolean => {
      const presented = Object.keys(socket.getPeerCertificate() ?? {}).length > 0
      if (clientAuth === 'RequireAnyClientCert') return presented
      if (clientAuth === 'VerifyClientCertIfGiven') return !presented || socket.authorized
      return true
    }
    config.tls = { options, clientAuth, admits }
  }
  const users = file.basic_auth_users
  if (users && Object.keys(users).length > 0) config.basicAuth = await basicAuth(users)
  return config
}

/** Verified credentials kept, as exporter-toolkit caches them: a scrape every 15 s pays bcrypt once. */
const VERIFIED_CACHE_SIZE = 100
/** Verifications waiting beyond this are answered "busy" (429) rather than queued. */
const MAX_WAITING = 8
/** bcrypt reads at most this many bytes of a password. */
const BCRYPT_MAX_BYTES = 72

/**
 * bcrypt runs in WebAssembly (hash-wasm): the daemon runs JavaScript without V8's optimising
 * compilers (DAEMON_V8_FLAGS), where bcryptjs takes ~8 s for one cost-10 check against ~0.1 s
 * here. One wasm call is synchronous, so checks run one at a time with the event loop turning
 * between them, and only when no cached verification answers.
 */
async function basicAuth(users: Record<string, string>): Promise<BasicAuth> {
  const { bcryptVerify } = (await import('hash-wasm/dist/bcrypt.umd.min.js')).default
  const known = new Map(Object.entries(users))
  // Unknown users are checked against a real user's hash (then refused): the same cost, so
  // timing does not tell names apart.
  const decoy = [...known.values()][0] ?? ''
  const verified = new Set<string>()
  const cacheKey = (user: string, hash: string, password: string) => createHash('sha256').update(`${user}\0${hash}\0${password}`).digest('hex')
  let queue: Promise<unknown> = Promise.resolve()
  let waiting = 0
  const check = (password: string, hash: string): Promise<boolean> => {
    const bytes = Buffer.from(password, 'utf8').subarray(0, BCRYPT_MAX_BYTES)
    const turn = queue.then(async () => {
      await new Promise<void>((resolve) => setImmediate(resolve))
      // hash-wasm refuses an empty password: it matches no hash (the decoy keeps the cost)
      const matches = await bcryptVerify({ password: bytes.length > 0 ? bytes : Buffer.from([0]), hash })
      return matches && bytes.length > 0
    })
    queue = turn.catch(() => false)
    return turn
  }
  return async (authorization) => {
    const credentials = parseBasic(authorization)
    if (!credentials) return 'denied'
    const hash = known.get(credentials.user)
    const key = cacheKey(credentials.user, hash ?? decoy, credentials.password)
    if (hash !== undefined && verified.has(key)) return 'ok'
    if (waiting >= MAX_WAITING) return 'busy'
    waiting++
    try {
      const matches = await check(credentials.password, hash ?? decoy)
      if (!matches || hash === undefined) return 'denied'
    } finally {
      waiting--
    }
    if (verified.size >= VERIFIED_CACHE_SIZE) verified.clear()
    verified.add(key)
    return 'ok'
  }
}

/** `Basic base64(user:password)`; undefined when the header is anything else. */
export function parseBasic(authorization: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '')
  if (!match?.[1]) return undefined
  const decoded = Buffer.from(match[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) return undefined
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}
