/**
 * The /metrics server (ts/metrics/server.ts) in process: METRICS_LISTEN's grammar, Accept and
 * Accept-Encoding negotiation, routing, one reading shared by concurrent scrapes, errors. The
 * bytes come from a counting stand-in for the binding where the test is about the server's own
 * behaviour, and from the real addon where it is about what the core answers.
 */
import { gunzipSync, gzipSync } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import { createLogger, silentLogger } from '../ts/log.js'
import { loadNative } from '../ts/native.js'
import { acceptsGzip, negotiateFormat, parseListen, startMetricsServer, type ExpositionFormat, type MetricsServer, type MetricsServerDeps } from '../ts/metrics/server.js'
import type { ReadingOptions } from '../ts/metrics/start.js'
import type { ExpositionOptions } from '../index.js'
import { rawRequest } from './helpers/http-get.js'
import { freePort } from './helpers/net.js'

/** What Prometheus 2.42 sends when scraping (scrape.go acceptHeader with OpenMetrics enabled). */
const PROMETHEUS_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'
const CONTENT_TYPES = { text: 'text/plain; version=0.0.4; charset=utf-8', openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8' }

const servers: MetricsServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

interface Stand {
  calls: { format: ExpositionFormat; options: ExpositionOptions | undefined }[]
  native: MetricsServerDeps['native']
}

/** A binding stand-in that answers `<format> <call number>` after `delayMs`, or throws `fail`. */
function standIn(delayMs = 0, fail?: string): Stand {
  const calls: Stand['calls'] = []
  return {
    calls,
    native: {
      metricsContentTypes: CONTENT_TYPES,
      metricsExposition: async (format, options) => {
        calls.push({ format, options })
        const n = calls.length
        await new Promise((resolve) => setTimeout(resolve, delayMs))
        if (fail) throw new Error(`${fail}\nsecond line`)
        const body = Buffer.from(`# ${format} ${n}\nup_like 1\n`)
        return options?.gzip ? gzipSync(body) : body
      },
    },
  }
}

const noReading: ReadingOptions = async () => ({ counters: {} })

async function serve(native: MetricsServerDeps['native'], settings: Record<string, string>, reading = noReading, logger = silentLogger): Promise<MetricsServer> {
  const server = await startMetricsServer({ native, logger, config: { setting: (name) => settings[name] } }, reading)
  servers.push(server)
  return server
}

const url = (server: MetricsServer, path = '/metrics') => `http://127.0.0.1:${server.address.port}${path}`

describe('METRICS_LISTEN', () => {
  it('a bare port means 127.0.0.1 only; host:port, [v6]:port and :port (every interface) as written', () => {
    expect(parseListen('9101')).toEqual({ host: '127.0.0.1', port: 9101 })
    expect(parseListen('0.0.0.0:9101')).toEqual({ host: '0.0.0.0', port: 9101 })
    expect(parseListen('localhost:9101')).toEqual({ host: 'localhost', port: 9101 })
    expect(parseListen('[::1]:9101')).toEqual({ host: '::1', port: 9101 })
    expect(parseListen(':9101')).toEqual({ host: undefined, port: 9101 })
  })

  it('a bad value is an error naming the setting', () => {
    for (const bad of ['', 'web', '127.0.0.1', '127.0.0.1:99999', '::1:9101', 'http://127.0.0.1:9101', '[::1]']) {
      expect(() => parseListen(bad), bad).toThrow(/^METRICS_LISTEN: .* is not host:port, \[ipv6\]:port or a port \(e\.g\. METRICS_LISTEN=127\.0\.0\.1:9101\)$/)
    }
  })

  it('a bare port listens on loopback only', async () => {
    const port = await freePort()
    const server = await serve(standIn().native, { METRICS_LISTEN: String(port) })
    expect(server.address).toEqual({ host: '127.0.0.1', port })
  })

  it('an address in use stops the start with an error naming METRICS_LISTEN', async () => {
    const first = await serve(standIn().native, { METRICS_LISTEN: '127.0.0.1:0' })
    await expect(serve(standIn().native, { METRICS_LISTEN: `127.0.0.1:${first.address.port}` })).rejects.toThrow(/^METRICS_LISTEN: 127\.0\.0\.1:\d+ cannot be listened on \(EADDRINUSE\)/)
  })
})

describe('Accept negotiation', () => {
  it("Prometheus 2.42's Accept header gets OpenMetrics", () => {
    expect(negotiateFormat(PROMETHEUS_ACCEPT)).toBe('openmetrics')
    expect(negotiateFormat('application/openmetrics-text')).toBe('openmetrics')
  })

  it('curl, browsers, no header and text-first scrapers get the text format', () => {
    expect(negotiateFormat(undefined)).toBe('text')
    expect(negotiateFormat('*/*')).toBe('text')
    expect(negotiateFormat('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8')).toBe('text')
    expect(negotiateFormat('text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.5')).toBe('text')
    expect(negotiateFormat('application/openmetrics-text; version=1.0.0; q=0.3, text/plain; q=0.9')).toBe('text')
  })

  it('OpenMetrics versions other than 1.0.0 are not served as OpenMetrics', () => {
    expect(negotiateFormat('application/openmetrics-text;version=0.0.1')).toBe('text')
    expect(negotiateFormat('application/openmetrics-text;version=0.0.1,*/*;q=0.1')).toBe('text')
  })

  it('q=0 refuses a format', () => {
    expect(negotiateFormat('application/openmetrics-text;q=0,*/*;q=0.1')).toBe('text')
  })

  it('gzip when Accept-Encoding takes it', () => {
    expect(acceptsGzip('gzip')).toBe(true)
    expect(acceptsGzip('deflate, gzip;q=0.5')).toBe(true)
    expect(acceptsGzip('*')).toBe(true)
    expect(acceptsGzip(undefined)).toBe(false)
    expect(acceptsGzip('identity')).toBe(false)
    expect(acceptsGzip('gzip;q=0, *')).toBe(false)
  })
})

describe('GET /metrics', () => {
  it('serves the text format with the core content type to a plain client, OpenMetrics to Prometheus', async () => {
    const stand = standIn()
    const server = await serve(stand.native, { METRICS_LISTEN: '127.0.0.1:0' })
    const plain = await rawRequest(url(server))
    expect(plain.status).toBe(200)
    expect(plain.headers['content-type']).toBe(CONTENT_TYPES.text)
    expect(plain.body.toString()).toBe('# text 1\nup_like 1\n')
    const prom = await rawRequest(url(server), { headers: { Accept: PROMETHEUS_ACCEPT } })
    expect(prom.headers['content-type']).toBe(CONTENT_TYPES.openmetrics)
    expect(prom.body.toString()).toBe('# openmetrics 2\nup_like 1\n')
    expect(stand.calls.map((c) => c.format)).toEqual(['text', 'openmetrics'])
  })

  it('every scrape takes a fresh reading and hands its options to the core', async () => {
    const stand = standIn()
    let n = 0
    const reading: ReadingOptions = async () => ({ counters: { remoteWrite: true, remoteWriteSentSamples: ++n } })
    const server = await serve(stand.native, { METRICS_LISTEN: '127.0.0.1:0' }, reading)
    await rawRequest(url(server))
    await rawRequest(url(server))
    expect(stand.calls.map((c) => c.options?.counters?.remoteWriteSentSamples)).toEqual([1, 2])
  })

  it('asks the core to gzip when the scraper accepts it, and says so', async () => {
    const stand = standIn()
    const server = await serve(stand.native, { METRICS_LISTEN: '127.0.0.1:0' })
    const res = await rawRequest(url(server), { headers: { 'Accept-Encoding': 'gzip' } })
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(Number(res.headers['content-length'])).toBe(res.body.length)
    expect(gunzipSync(res.body).toString()).toBe('# text 1\nup_like 1\n')
    const plain = await rawRequest(url(server))
    expect(plain.headers['content-encoding']).toBeUndefined()
    expect(stand.calls.map((c) => c.options?.gzip)).toEqual([true, false])
  })

  it('HEAD answers the headers without a body', async () => {
    const server = await serve(standIn().native, { METRICS_LISTEN: '127.0.0.1:0' })
    const res = await rawRequest(url(server), { method: 'HEAD' })
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe(CONTENT_TYPES.text)
    expect(Number(res.headers['content-length'])).toBe('# text 1\nup_like 1\n'.length)
    expect(res.body.length).toBe(0)
  })

  it('404 off /metrics, 405 for other methods', async () => {
    const stand = standIn()
    const server = await serve(stand.native, { METRICS_LISTEN: '127.0.0.1:0' })
    expect((await rawRequest(url(server, '/'))).status).toBe(404)
    expect((await rawRequest(url(server, '/metrics/x'))).status).toBe(404)
    expect((await rawRequest(url(server, '/metrics?debug=1'))).status).toBe(200)
    const post = await rawRequest(url(server), { method: 'POST' })
    expect(post.status).toBe(405)
    expect(post.headers.allow).toBe('GET, HEAD')
    expect(stand.calls.length).toBe(1)
  })

  it('concurrent scrapes share one reading in flight', async () => {
    const stand = standIn(200)
    let readings = 0
    const server = await serve(stand.native, { METRICS_LISTEN: '127.0.0.1:0' }, async () => {
      readings++
      return {}
    })
    const bodies = await Promise.all(Array.from({ length: 5 }, () => rawRequest(url(server)).then((r) => r.body.toString())))
    expect(new Set(bodies)).toEqual(new Set(['# text 1\nup_like 1\n']))
    expect(readings).toBe(1)
    expect(stand.calls.length).toBe(1)
    // once answered, the next scrape reads again
    expect((await rawRequest(url(server))).body.toString()).toBe('# text 2\nup_like 1\n')
  })

  it('a failed reading is a 500 with a one-line reason, logged', async () => {
    const lines: string[] = []
    const logger = createLogger('info', { write: (line: string) => lines.push(line) })
    const server = await serve(standIn(0, 'the core is gone').native, { METRICS_LISTEN: '127.0.0.1:0' }, noReading, logger)
    const res = await rawRequest(url(server))
    expect(res.status).toBe(500)
    expect(res.body.toString()).toBe('the metrics could not be read: the core is gone\n')
    expect(lines.filter((l) => l.includes('WARN')).join('')).toMatch(/a scrape failed reason="the core is gone"/)
    // and the server keeps serving
    expect((await rawRequest(url(server, '/'))).status).toBe(404)
  })

  it('the real addon: the content types are the core constants and a scrape carries the core reading', async (ctx) => {
    const native = loadNative()
    expect(native.metricsContentTypes).toEqual(CONTENT_TYPES)
    const server = await serve(native, { METRICS_LISTEN: '127.0.0.1:0' })
    const text = await rawRequest(url(server))
    expect(text.status).toBe(200)
    expect(text.headers['content-type']).toBe(native.metricsContentTypes.text)
    const om = await rawRequest(url(server), { headers: { Accept: PROMETHEUS_ACCEPT } })
    expect(om.status).toBe(200)
    expect(om.headers['content-type']).toBe(native.metricsContentTypes.openmetrics)
    const direct = (await native.metricsExposition('openmetrics', { counters: {} })).toString()
    if (direct === '') return ctx.skip('the core renders nothing yet (the node families land from wt-node)')
    const families = (body: string) => body.split('\n').filter((line) => line.startsWith('# TYPE '))
    expect(families(om.body.toString())).toEqual(families(direct))
    expect(om.body.toString()).toMatch(/\n# EOF\n$/)
    expect(text.body.toString()).not.toContain('# EOF')
    // the core's gzip: a valid gzip member holding the same families
    const gz = await rawRequest(url(server), { headers: { Accept: PROMETHEUS_ACCEPT, 'Accept-Encoding': 'gzip' } })
    expect(gz.headers['content-encoding']).toBe('gzip')
    expect(families(gunzipSync(gz.body).toString())).toEqual(families(direct))
    expect(gz.body.length).toBeLessThan(om.body.length / 3)
  })
})
