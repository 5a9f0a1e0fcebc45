/**
 * GET /metrics on METRICS_LISTEN: each scrape asks the core for one reading rendered as the text
 * exposition format 0.0.4 or, when the scraper prefers it, OpenMetrics 1.0.0; gzipped by the core
 * when accepted.
 * Scrapes that arrive while a reading is in flight share it. TLS and basic auth come from
 * METRICS_WEB_CONFIG (web-config.ts, loaded only when set). The HTTP/1.1 itself is http1.ts.
 */
import type { AddressInfo, Server, Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { AgentConfig } from '../config/config.js'
import { settingError } from '../config/errors.js'
import type { Logger } from '../log.js'
import type { NativeBinding } from '../../index.js'
import { http1Connections, type Http1Request, type Http1Response } from './http1.js'
import type { MetricsPart, ReadingOptions } from './part.js'
import type { WebConfig } from './web-config.js'

export type ExpositionFormat = 'text' | 'openmetrics'

export interface MetricsServerDeps {
  config: Pick<AgentConfig, 'setting'>
  native: Pick<NativeBinding, 'metricsExposition' | 'metricsContentTypes'> & Partial<Pick<NativeBinding, 'trimResidentPages'>>
  logger: Logger
}

export interface MetricsServer extends MetricsPart {
  /** where it listens (the port the system chose when METRICS_LISTEN asked for port 0) */
  readonly address: { host: string; port: number }
  readonly tls: boolean
}

export interface ListenAddress {
  /** undefined: every interface */
  host: string | undefined
  port: number
}

const LISTEN_EXAMPLE = '127.0.0.1:9101'
/** after the first scrape, long enough for a scraper's first few (and both formats) to have run */
const TRIM_AFTER_FIRST_SCRAPE_MS = 20_000
/** distinct Accept/Accept-Encoding pairs whose negotiation is remembered */
const NEGOTIATIONS_KEPT = 16
/** a request's head must arrive within this */
const HEADERS_TIMEOUT_MS = 10_000
/** idle kept-alive connections beyond a scrape interval are closed (as node:http's default) */
const KEEP_ALIVE_TIMEOUT_MS = 65_000
const MAX_CONNECTIONS = 256

/** `host:port`, `[v6]:port`, `:port` (every interface) or a bare port (127.0.0.1 only). */
export function parseListen(value: string): ListenAddress {
  const text = value.trim()
  const match = /^(?:(?:\[([0-9A-Fa-f:.%\w]+)\]|([^:[\]\s]*)):)?(\d{1,5})$/.exec(text)
  const port = Number(match?.[3])
  if (!match || !Number.isInteger(port) || port > 65535) {
    throw settingError('METRICS_LISTEN', `${JSON.stringify(value)} is not host:port, [ipv6]:port or a port`, LISTEN_EXAMPLE)
  }
  if (match[1] !== undefined) return { host: match[1], port }
  if (match[2] === undefined) return { host: '127.0.0.1', port }
  return { host: match[2] === '' ? undefined : match[2], port }
}

interface MediaRange {
  type: string
  params: Map<string, string>
  q: number
}

function parseMediaRanges(header: string): MediaRange[] {
  const ranges: MediaRange[] = []
  for (const part of header.split(',')) {
    const [type, ...rest] = part.split(';')
    if (!type?.trim()) continue
    const params = new Map<string, string>()
    for (const param of rest) {
      const eq = param.indexOf('=')
      if (eq > 0) params.set(param.slice(0, eq).trim().toLowerCase(), param.slice(eq + 1).trim().replace(/^"|"$/g, ''))
    }
    const q = params.has('q') ? Number(params.get('q')) : 1
    params.delete('q')
    ranges.push({ type: type.trim().toLowerCase(), params, q: Number.isFinite(q) ? q : 0 })
  }
  return ranges
}

/** The q a format gets from the Accept header: its most specific matching range's (0 when none). */
function qualityOf(ranges: MediaRange[], type: string, versions: readonly string[]): number {
  let best = -1
  let q = 0
  for (const range of ranges) {
    const version = range.params.get('version')
    let specificity: number
    if (range.type === type) {
      if (version !== undefined && !versions.includes(version)) continue
      specificity = version === undefined ? 2 : 3
    } else if (range.type === `${type.split('/')[0]}/*`) specificity = 1
    else if (range.type === '*/*') specificity = 0
    else continue
    if (specificity > best) {
      best = specificity
      q = range.q
    }
  }
  return q
}

/**
 * OpenMetrics when the scraper ranks it (1.0.0 or unversioned) above the text format, as
 * Prometheus does; the text format otherwise, also when nothing we serve is acceptable (the
 * scraper's parser is the judge, as with client_golang).
 */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  if (!accept) return 'text'
  const ranges = parseMediaRanges(accept)
  const openmetrics = qualityOf(ranges, 'application/openmetrics-text', ['1.0.0'])
  const text = qualityOf(ranges, 'text/plain', ['0.0.4'])
  return openmetrics > 0 && openmetrics > text ? 'openmetrics' : 'text'
}

/** Whether Accept-Encoding takes gzip (explicitly or through `*`) with a q above 0. */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (!acceptEncoding) return false
  let gzipQ: number | undefined
  let anyQ: number | undefined
  for (const part of acceptEncoding.split(',')) {
    const [coding, ...params] = part.split(';').map((s) => s.trim().toLowerCase())
    const qParam = params.find((p) => p.startsWith('q='))
    const q = qParam ? Number(qParam.slice(2)) : 1
    if (coding === 'gzip' || coding === 'x-gzip') gzipQ = q
    else if (coding === '*') anyQ = q
  }
  return (gzipQ ?? anyQ ?? 0) > 0
}

export async function startMetricsServer(deps: MetricsServerDeps, reading: ReadingOptions): Promise<MetricsServer> {
  const listen = parseListen(deps.config.setting('METRICS_LISTEN') ?? '')
  const webConfigPath = (deps.config.setting('METRICS_WEB_CONFIG') ?? '').trim()
  const web: WebConfig = webConfigPath ? await (await import('./web-config.js')).loadWebConfig(webConfigPath) : { headers: {} }
  const { logger, native } = deps
  const contentTypes = native.metricsContentTypes

  // one reading per format (and encoding) in flight: scrapes that arrive meanwhile get the same bytes
  const inFlight = new Map<string, Promise<Buffer>>()
  const render = (format: ExpositionFormat, gzip: boolean): Promise<Buffer> => {
    const key = gzip ? `${format}+gzip` : format
    let pending = inFlight.get(key)
    if (!pending) {
      // the core gzips in the same off-thread work (node:zlib cost ~0.8 ms of JS per scrape here)
      pending = reading()
        .then((options) => native.metricsExposition(format, { ...options, gzip }))
        .finally(() => inFlight.delete(key))
      inFlight.set(key, pending)
    }
    return pending
  }

  // The first scrapes page in node's HTTP code and the core's renderers with fault-around's
  // neighbours; once they have run, drop what they mapped without using (as run.ts does after
  // start-up; bench:metrics).
  let trimmed = false
  const trimAfterFirstScrapes = () => {
    if (trimmed || !native.trimResidentPages) return
    trimmed = true
    const timer = setTimeout(() => logger.debug('resident pages trimmed after the first scrapes', { mappedBytes: native.trimResidentPages?.() }), TRIM_AFTER_FIRST_SCRAPE_MS)
    timer.unref()
  }

  const TEXT = 'text/plain; charset=utf-8'
  const extra = Object.entries(web.headers)
  const reply = (status: number, headers: [string, string | number][], body: Buffer | string): Http1Response => ({ status, headers: [...extra, ...headers], body })

  // A scraper sends the same Accept and Accept-Encoding every time: each pair is parsed once
  // (under the daemon's interpreter-only V8 the parse was a tenth of a scrape's JS; bench:metrics).
  // The answer's header list is made with it, one object per pair (http1.ts checks a list once).
  const answers = new Map<string, { format: ExpositionFormat; gzip: boolean; headers: [string, string][] }>()
  const answerFor = (accept: string | undefined, acceptEncoding: string | undefined) => {
    const key = `${accept ?? ''}\n${acceptEncoding ?? ''}`
    let answer = answers.get(key)
    if (!answer) {
      const format = negotiateFormat(accept)
      const gzip = acceptsGzip(acceptEncoding)
      const headers: [string, string][] = [...extra, ['Content-Type', contentTypes[format]], ['Vary', 'Accept, Accept-Encoding']]
      if (gzip) headers.push(['Content-Encoding', 'gzip'])
      answer = { format, gzip, headers }
      // bounded: a client cycling through headers cannot grow it
      if (answers.size >= NEGOTIATIONS_KEPT) answers.clear()
      answers.set(key, answer)
    }
    return answer
  }

  const answer = async (req: Http1Request): Promise<Http1Response> => {
    const auth = web.basicAuth ? await web.basicAuth(req.headers.get('authorization')) : 'ok'
    if (auth === 'busy') return reply(429, [['Content-Type', TEXT], ['Retry-After', '1']], 'Too Many Requests: password checks are queued\n')
    if (auth === 'denied') return reply(401, [['Content-Type', TEXT], ['WWW-Authenticate', 'Basic realm="sonar-agent"']], 'Unauthorized\n')
    if (req.path !== '/metrics') return reply(404, [['Content-Type', TEXT]], 'Not Found: the metrics are at /metrics\n')
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, [['Content-Type', TEXT], ['Allow', 'GET, HEAD']], 'Method Not Allowed\n')
    const { format, gzip, headers } = answerFor(req.headers.get('accept'), req.headers.get('accept-encoding'))
    let body: Buffer
    try {
      body = await render(format, gzip)
    } catch (error) {
      const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'unknown error'
      logger.warn('a scrape failed', { reason })
      return reply(500, [['Content-Type', TEXT]], `the metrics could not be read: ${reason}\n`)
    }
    trimAfterFirstScrapes()
    return { status: 200, headers, body }
  }

  const connections = http1Connections(answer, {
    headersTimeoutMs: HEADERS_TIMEOUT_MS,
    keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS,
    onError: (error: Error) => logger.debug('a /metrics connection failed', { reason: error.message }),
  })
  const serve = (socket: Socket) => connections.serve(socket)

  let server: Server
  if (web.tls) {
    const tls = web.tls
    const { createServer } = await import('node:tls')
    server = createServer({ ALPNProtocols: ['http/1.1'], allowHalfOpen: true, ...tls.options }, (socket: TLSSocket) => {
      // client_auth_type RequireAnyClientCert / VerifyClientCertIfGiven: what Node's options cannot say
      if (!tls.admits(socket)) socket.destroy()
      else serve(socket)
    })
    server.on('tlsClientError', (error: Error) => logger.debug('a TLS handshake on METRICS_LISTEN failed', { reason: error.message }))
  } else {
    const { createServer } = await import('node:net')
    // half-open: a client that ends its side after the request still gets the answer (http1.ts)
    server = createServer({ allowHalfOpen: true }, serve)
  }
  // scrapers hold one connection each; a bound keeps a flood of them from exhausting descriptors
  server.maxConnections = MAX_CONNECTIONS

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(settingError('METRICS_LISTEN', `${listen.host ?? '*'}:${listen.port} cannot be listened on (${error.code ?? error.message})`, LISTEN_EXAMPLE))
    }
    server.once('error', onError)
    server.listen({ port: listen.port, ...(listen.host !== undefined ? { host: listen.host } : {}) }, () => {
      server.off('error', onError)
      resolve()
    })
  })
  server.on('error', (error: Error) => logger.warn('the /metrics server failed', { reason: error.message }))
  const bound = server.address() as AddressInfo
  const address = { host: bound.address, port: bound.port }
  logger.info('serving Prometheus metrics', {
    url: `${web.tls ? 'https' : 'http'}://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}/metrics`,
    basicAuth: web.basicAuth !== undefined,
  })
  return {
    address,
    tls: web.tls !== undefined,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      connections.closeAll()
      await closed
    },
  }
}
