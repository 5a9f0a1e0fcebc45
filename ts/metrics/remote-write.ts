/**
 * Remote write to REMOTE_WRITE_URL: every REMOTE_WRITE_INTERVAL one reading becomes one request
 * body (the core encodes it), queued; one sender POSTs the queue oldest first. 5xx, 429 and
 * network errors retry the same request with backoff while newer ones queue behind it, so the
 * receiver gets every sample in order once it is back; other 4xx mean it will never take that
 * request, which is dropped. The queue's bounds drop the oldest. Every drop is counted
 * (sonar_remote_write_*) and logged, aggregated so that a long outage is a few lines.
 */
import type { Agent as HttpAgent, ClientRequest, IncomingMessage, RequestOptions } from 'node:http'
import type { MetricsCounters } from '../../index.js'
import type { Logger } from '../log.js'
import { packageVersion } from '../package-version.js'
import { Backoff } from '../transport/backoff.js'
import { redactUrl } from '../transport/hub-url.js'
import { configuredProxy, createProxyAgent, proxyForUrl, proxyUrlOf } from '../transport/proxy.js'
import type { MetricsDeps, MetricsPart, ReadingOptions } from './part.js'
import { readSecret, remoteWriteSettings, type RemoteWriteSettings } from './remote-write-settings.js'
import { loadQueue, queueFilePath, saveQueue, type LoadedQueue } from './queue-file.js'
import { WriteQueue, type Batch, type Dropped } from './write-queue.js'

export interface RemoteWritePart extends MetricsPart {
  /** the queue's counters, rendered by the core as sonar_remote_write_* */
  counters(): MetricsCounters
}

/** Prometheus's own remote_timeout default. */
const REQUEST_TIMEOUT_MS = 30_000
/** Retries start fast (a receiver restarting is back in seconds) and wait at most 30 s (a receiver back from an outage is found within that). */
const BACKOFF_BASE_MS = 500
const BACKOFF_CAP_MS = 30_000
/** During a long outage, drops and failures are summarised at most this often. */
const LOG_EVERY_MS = 60_000
/** How much of a refusal's body goes into the log line. */
const ERROR_BODY_CHARS = 256

/** The answer to one POST: a status, or a network error (no answer). */
type Outcome = { status: number; body: string; retryAfterMs?: number } | { error: string }

export interface RemoteWriteOptions {
  /** test seam: the clock (ms since the epoch) */
  now?: () => number
  /** test seam: the backoff's random source */
  random?: () => number
}

export async function startRemoteWrite(deps: MetricsDeps, reading: ReadingOptions, options: RemoteWriteOptions = {}): Promise<RemoteWritePart> {
  const settings = await remoteWriteSettings(deps.config)
  // node:https (and TLS with it) only for an https receiver: the daemon's memory budget is tight.
  const { request } = settings.url.protocol === 'https:' ? await import('node:https') : await import('node:http')
  // A host that cannot be scraped often reaches out only through a proxy: the hub dial's
  // HTTPS_PROXY / HTTP_PROXY / ALL_PROXY / NO_PROXY apply to the receiver too. The proxy's code is
  // loaded only when one applies.
  const proxy = configuredProxy((name) => deps.config.setting(name))
  const proxyUrl = proxyForUrl(settings.url, proxy)
  const via = proxyUrl === undefined ? undefined : { url: proxyUrl, agent: await createProxyAgent(proxy) }
  const send = via === undefined ? request : (url: URL, requestOptions: RequestOptions) => request(url, { ...requestOptions, agent: via.agent })
  return new RemoteWriter(deps, reading, settings, send, options, via)
}

class RemoteWriter implements RemoteWritePart {
  private readonly queue: WriteQueue
  private readonly timer: NodeJS.Timeout
  private readonly abort = new AbortController()
  private readonly backoff: Backoff
  private readonly now: () => number
  private readonly log: Logger
  private closed = false
  private reading = false
  private sender: Promise<void> | undefined
  private wake: (() => void) | undefined
  private sent = 0
  private dropped = 0
  private failed = 0
  /** drops not logged yet, and when the last drop line was written */
  private unlogged: Dropped = { batches: 0, samples: 0, bytes: 0 }
  private lastDropLog = -Infinity
  /** 4xx refusals not logged yet, and when the last refusal line was written */
  private refused = { requests: 0, samples: 0, lastLog: -Infinity }
  /** failures since the receiver last took a request */
  private outage: { since: number; failures: number; lastLog: number } | undefined

  constructor(
    private readonly deps: MetricsDeps,
    private readonly takeReading: ReadingOptions,
    private readonly settings: RemoteWriteSettings,
    private readonly request: (url: URL, options: RequestOptions) => ClientRequest,
    options: RemoteWriteOptions,
    /** the proxy the requests go through (its sockets are closed with the writer) */
    private readonly proxy?: { url: string; agent: HttpAgent },
  ) {
    this.now = options.now ?? Date.now
    this.queue = new WriteQueue({ maxAgeMs: settings.maxAgeMs, maxBytes: settings.maxBytes })
    this.backoff = new Backoff({ baseMs: BACKOFF_BASE_MS, capMs: BACKOFF_CAP_MS, ...(options.random ? { random: options.random } : {}) })
    this.log = deps.logger
    this.timer = setInterval(() => void this.tick(), settings.intervalMs)
    this.timer.unref()
    this.log.info('pushing samples', {
      url: redact(settings.url),
      interval_ms: settings.intervalMs,
      labels: settings.labels.map(([n, v]) => `${n}=${v}`).join(','),
      queue_max_age_ms: settings.maxAgeMs,
      queue_max_bytes: settings.maxBytes,
      ...(proxy === undefined ? {} : { proxy: redactProxy(proxy.url) }),
    })
    this.resumeSaved()
    // The first reading right away, once the caller has wired counters() into `reading`.
    setImmediate(() => void this.tick())
  }

  /** What the last stop left unsent for this receiver goes first (queue-file.ts). */
  private resumeSaved(): void {
    if (this.deps.dataDir === undefined) return
    const path = queueFilePath(this.deps.dataDir)
    let saved: LoadedQueue | undefined
    try {
      saved = loadQueue(path, this.settings.url, this.settings.maxBytes)
    } catch (error) {
      this.log.warn('the queue saved at the last stop could not be read; it is dropped', { file: path, error: errorText(error) })
      return
    }
    if (saved === undefined) return
    if ('discarded' in saved) {
      this.log.warn('the queue saved at the last stop is dropped', { file: path, reason: saved.discarded })
      return
    }
    const samples = saved.batches.reduce((sum, b) => sum + b.samples, 0)
    for (const batch of saved.batches) this.noteDropped(this.queue.push(batch, this.now()))
    this.log.info('resuming samples saved at the last stop', { samples, requests: saved.batches.length, pending_samples: this.queue.pendingSamples })
    if (this.queue.length > 0) this.kick()
  }

  counters(): MetricsCounters {
    return {
      remoteWrite: true,
      remoteWriteSentSamples: this.sent,
      remoteWriteDroppedSamples: this.dropped,
      remoteWriteFailedRequests: this.failed,
      remoteWritePendingSamples: this.queue.pendingSamples,
      remoteWritePendingBytes: this.queue.pendingBytes,
      remoteWriteOldestPendingSeconds: this.queue.oldestAgeSeconds(this.now()),
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    this.abort.abort()
    this.wake?.()
    await this.sender
    this.proxy?.agent.destroy()
    this.flushDropLog(true)
    if (this.refused.requests > 0) this.log.warn('receiver refused requests; their samples were dropped', { requests: this.refused.requests, samples: this.refused.samples })
    if (this.queue.pendingSamples === 0) return
    const pending = { samples: this.queue.pendingSamples, requests: this.queue.length }
    if (this.deps.dataDir === undefined) {
      this.log.info('stopped with samples not sent (no data directory to keep them in)', pending)
      return
    }
    const path = queueFilePath(this.deps.dataDir)
    try {
      saveQueue(path, this.settings.url, this.queue.pending())
      this.log.info('stopped with samples not sent: saved for the next start', { ...pending, file: path })
    } catch (error) {
      this.log.warn('stopped with samples not sent; they could not be saved and are lost', { ...pending, file: path, error: errorText(error) })
    }
  }

  /** One reading → one queued request. A reading still running (a slow engine) makes this tick a no-op: readings never pile up. */
  private async tick(): Promise<void> {
    if (this.closed || this.reading) return
    this.reading = true
    const timestamp = this.now()
    try {
      const options = await this.takeReading()
      const { body, samples } = await this.deps.native.metricsRemoteWrite({ ...options, timestampMs: timestamp, labels: this.settings.labels })
      if (this.closed || samples === 0) return
      this.noteDropped(this.queue.push({ body, samples, timestamp }, this.now()))
      this.kick()
    } catch (error) {
      this.log.warn('reading failed; this interval is skipped', { error: (error as Error).message })
    } finally {
      this.reading = false
    }
  }

  /** Starts the sender unless it runs (a sender waiting out a backoff keeps waiting: the new request queues behind). */
  private kick(): void {
    if (this.sender === undefined) {
      this.sender = this.send()
        .catch((error: unknown) => this.log.error('sender stopped; the next reading restarts it', { error: (error as Error).message }))
        .finally(() => {
          this.sender = undefined
        })
    }
  }

  /** Sends the queue oldest first until it is empty; only one runs at a time. */
  private async send(): Promise<void> {
    while (!this.closed) {
      this.noteDropped(this.queue.prune(this.now()))
      const batch = this.queue.peek()
      if (batch === undefined) return
      this.queue.setInFlight(batch)
      const outcome = await this.post(batch)
      this.queue.setInFlight(undefined)
      if (this.closed) return
      if ('status' in outcome && outcome.status >= 200 && outcome.status < 300) {
        this.queue.remove(batch)
        this.sent += batch.samples
        this.recovered()
        continue
      }
      this.failed += 1
      if ('status' in outcome && outcome.status >= 400 && outcome.status < 500 && outcome.status !== 429) {
        // The receiver will never take this request (bad labels, too old, auth): retrying it
        // would block every newer one behind it.
        this.queue.remove(batch)
        this.dropped += batch.samples
        this.refusedRequest(batch, outcome.status, outcome.body)
        continue
      }
      this.failing(outcome)
      const delay = Math.max(this.backoff.next(), 'status' in outcome ? (outcome.retryAfterMs ?? 0) : 0)
      await this.sleep(Math.min(delay, BACKOFF_CAP_MS))
    }
  }

  /** The first refusal is logged at once; a receiver that goes on refusing (a wrong token) gets one line a minute. */
  private refusedRequest(batch: Batch, status: number, answer: string): void {
    const now = this.now()
    this.refused.requests += 1
    this.refused.samples += batch.samples
    if (now - this.refused.lastLog < LOG_EVERY_MS) return
    this.log.warn('receiver refused requests; their samples are dropped', {
      status,
      answer,
      requests: this.refused.requests,
      samples: this.refused.samples,
      newest: new Date(batch.timestamp).toISOString(),
    })
    this.refused = { requests: 0, samples: 0, lastLog: now }
  }

  private failing(outcome: Outcome): void {
    const now = this.now()
    const why = 'status' in outcome ? { status: outcome.status, answer: outcome.body } : { error: outcome.error }
    if (this.outage === undefined) {
      this.outage = { since: now, failures: 1, lastLog: now }
      this.log.warn('receiver not reachable; retrying with backoff, samples are queued', { ...why, pending_samples: this.queue.pendingSamples })
      return
    }
    this.outage.failures += 1
    if (now - this.outage.lastLog >= LOG_EVERY_MS) {
      this.outage.lastLog = now
      this.log.warn('receiver still not reachable', {
        ...why,
        failures: this.outage.failures,
        for_s: Math.round((now - this.outage.since) / 1000),
        pending_samples: this.queue.pendingSamples,
        pending_bytes: this.queue.pendingBytes,
      })
    } else {
      this.log.debug('retry failed', why)
    }
  }

  private recovered(): void {
    this.backoff.reset()
    if (this.outage === undefined) return
    this.log.info('receiver is back; sending the queue', {
      failures: this.outage.failures,
      after_s: Math.round((this.now() - this.outage.since) / 1000),
      pending_samples: this.queue.pendingSamples,
    })
    this.outage = undefined
    this.flushDropLog(true)
  }

  private noteDropped(drop: Dropped): void {
    if (drop.batches === 0) return
    this.dropped += drop.samples
    this.unlogged = { batches: this.unlogged.batches + drop.batches, samples: this.unlogged.samples + drop.samples, bytes: this.unlogged.bytes + drop.bytes }
    this.flushDropLog(false)
  }

  /** One line for the first drop, then at most one a minute with what was dropped since. */
  private flushDropLog(force: boolean): void {
    if (this.unlogged.batches === 0) return
    const now = this.now()
    if (!force && now - this.lastDropLog < LOG_EVERY_MS) return
    this.lastDropLog = now
    this.log.warn('queue bound hit: oldest samples dropped', {
      samples: this.unlogged.samples,
      requests: this.unlogged.batches,
      bytes: this.unlogged.bytes,
      max_age_ms: this.settings.maxAgeMs,
      max_bytes: this.settings.maxBytes,
      total_dropped_samples: this.dropped,
    })
    this.unlogged = { batches: 0, samples: 0, bytes: 0 }
  }

  /** Waits `ms`, or less when closed. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.wake = undefined
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.wake = done
    })
  }

  private async authorization(): Promise<string | undefined> {
    const auth = this.settings.auth
    if (auth.kind === 'bearer') return `Bearer ${await readSecret('REMOTE_WRITE_BEARER_TOKEN_FILE', auth.tokenFile)}`
    if (auth.kind === 'basic') {
      const password = await readSecret('REMOTE_WRITE_PASSWORD_FILE', auth.passwordFile)
      return `Basic ${Buffer.from(`${auth.username}:${password}`).toString('base64')}`
    }
    return undefined
  }

  /** One POST of one request body; never throws. */
  private async post(batch: Batch): Promise<Outcome> {
    let authorization: string | undefined
    try {
      authorization = await this.authorization()
    } catch (error) {
      return { error: (error as Error).message }
    }
    const url = this.settings.url
    return new Promise<Outcome>((resolve) => {
      let settled = false
      const finish = (outcome: Outcome) => {
        if (settled) return
        settled = true
        resolve(outcome)
      }
      const req = this.request(url, {
        method: 'POST',
        signal: this.abort.signal,
        timeout: REQUEST_TIMEOUT_MS,
        headers: {
          'Content-Encoding': 'snappy',
          'Content-Type': 'application/x-protobuf',
          'Content-Length': batch.body.length,
          'User-Agent': `sonar-agent/${packageVersion}`,
          'X-Prometheus-Remote-Write-Version': '0.1.0',
          ...(authorization === undefined ? {} : { Authorization: authorization }),
        },
      })
      req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000}s`)))
      req.on('error', (error: NodeJS.ErrnoException) => finish({ error: error.code ?? error.message }))
      req.on('response', (res: IncomingMessage) => {
        const status = res.statusCode ?? 0
        const retryAfterMs = retryAfter(res.headers['retry-after'], this.now())
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          if (body.length < ERROR_BODY_CHARS) body += chunk
        })
        res.on('error', (error: NodeJS.ErrnoException) => finish({ error: error.code ?? error.message }))
        res.on('end', () => finish({ status, body: body.slice(0, ERROR_BODY_CHARS).trim(), ...(retryAfterMs === undefined ? {} : { retryAfterMs }) }))
      })
      req.end(batch.body)
    })
  }
}

/** A Retry-After header (seconds, or an HTTP date) in ms from now. */
export function retryAfter(header: string | undefined, now: number): number | undefined {
  if (header === undefined) return undefined
  const text = header.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  // an HTTP date names its day and month ("Wed, 02 Dec 2026 12:00:10 GMT"); Date.parse alone takes "-3"
  if (!/[a-z]{3}/i.test(text)) return undefined
  const at = Date.parse(text)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/** The URL for logs: without query (it may carry a tenant token). */
function redact(url: URL): string {
  return `${url.origin}${url.pathname}${url.search === '' ? '' : '?…'}`
}

/** A proxy for the log: its credentials left out. */
function redactProxy(text: string): string {
  try {
    return redactUrl(proxyUrlOf(text))
  } catch {
    return '(not a URL)'
  }
}

/** An error for the log: its code (ENOSPC, EACCES…) when it has one. */
function errorText(error: unknown): string {
  const e = error as NodeJS.ErrnoException
  return e.code ?? (e instanceof Error ? e.message : String(error))
}
