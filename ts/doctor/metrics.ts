/**
 * Prometheus: METRICS_LISTEN (and METRICS_WEB_CONFIG) read as the daemon reads them, whether an
 * agent answers /metrics there now, and REMOTE_WRITE_* read as the daemon reads them with the
 * receiver's address reachable. Off when neither is set.
 */
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { connect as netConnect } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import type { ProxySettings } from '../transport/proxy.js'
import { errorCode, formatMs, result, type CheckResult } from './check.js'
import type { DoctorContext } from './core.js'

const GROUP = 'metrics'
const PROBE_MS = 3_000

/** What answers GET /metrics at the address now: a status line, or the connection's error code. */
function probeScrape(host: string, port: number, tls: boolean): Promise<{ status: number; contentType: string } | { error: string }> {
  return new Promise((resolve) => {
    const options = { host, port, path: '/metrics', method: 'GET', timeout: PROBE_MS, headers: { Accept: 'text/plain' }, rejectUnauthorized: false, agent: false }
    const req = (tls ? httpsRequest : httpRequest)(options, (res) => {
      res.resume()
      resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? '') })
    })
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: `no answer within ${formatMs(PROBE_MS)}` })))
    req.on('error', (error) => resolve({ error: errorCode(error) }))
    req.end()
  })
}

/** Whether a TCP (and, for https, TLS) connection to the receiver can be made. */
function probeConnect(url: URL): Promise<string | undefined> {
  const tls = url.protocol === 'https:'
  const port = Number(url.port || (tls ? 443 : 80))
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  return new Promise((resolve) => {
    const socket = tls ? tlsConnect({ host, port, servername: host, rejectUnauthorized: true }) : netConnect({ host, port })
    const done = (problem: string | undefined) => {
      socket.destroy()
      resolve(problem)
    }
    socket.setTimeout(PROBE_MS, () => done(`no answer within ${formatMs(PROBE_MS)}`))
    socket.once(tls ? 'secureConnect' : 'connect', () => done(undefined))
    socket.once('error', (error) => done(errorCode(error)))
  })
}

async function checkListen(context: DoctorContext, listen: string): Promise<CheckResult[]> {
  const { parseListen } = await import('../metrics/server.js')
  let address: { host: string | undefined; port: number }
  try {
    address = parseListen(listen)
  } catch (error) {
    return [result(GROUP, '/metrics', 'fail', (error as Error).message, 'set METRICS_LISTEN to host:port, [ipv6]:port or a bare port (127.0.0.1 only)')]
  }
  const results: CheckResult[] = []
  const webConfigPath = context.setting('METRICS_WEB_CONFIG')?.trim()
  let tls = false
  if (webConfigPath) {
    try {
      const { loadWebConfig } = await import('../metrics/web-config.js')
      const config = await loadWebConfig(webConfigPath)
      tls = config.tls !== undefined
      const parts = [tls ? 'TLS' : 'no TLS', config.basicAuth ? 'basic auth' : 'no basic auth']
      results.push(result(GROUP, 'web config', 'ok', `${webConfigPath}: ${parts.join(', ')}`))
    } catch (error) {
      return [...results, result(GROUP, 'web config', 'fail', (error as Error).message, 'fix the file (format: docs/prometheus.md), or unset METRICS_WEB_CONFIG')]
    }
  }
  const where = `${address.host?.includes(':') ? `[${address.host}]` : (address.host ?? '*')}:${address.port}`
  const scheme = tls ? 'https' : 'http'
  const answer = await probeScrape(address.host ?? '127.0.0.1', address.port, tls)
  if ('error' in answer) {
    results.push(
      result(
        GROUP,
        '/metrics',
        'warn',
        `${scheme}://${where}/metrics: nothing answers (${answer.error})`,
        'start the agent (sonar-agent run) with this METRICS_LISTEN; the doctor only reads it',
      ),
    )
  } else if (answer.status === 200 || answer.status === 401) {
    const auth = answer.status === 401 ? ', asking for basic auth' : ''
    results.push(result(GROUP, '/metrics', 'ok', `${scheme}://${where}/metrics answers${auth} (${answer.contentType || `status ${answer.status}`})`))
  } else {
    results.push(result(GROUP, '/metrics', 'warn', `${scheme}://${where}/metrics answered status ${answer.status}: another program may hold the port`, 'choose a free port for METRICS_LISTEN'))
  }
  return results
}

async function checkRemoteWrite(context: DoctorContext): Promise<CheckResult[]> {
  if (!context.config) {
    return [result(GROUP, 'remote write', 'skip', 'the configuration did not load (see the core group)')]
  }
  const { remoteWriteSettings } = await import('../metrics/remote-write-settings.js')
  let settings: Awaited<ReturnType<typeof remoteWriteSettings>>
  try {
    settings = await remoteWriteSettings(context.config)
  } catch (error) {
    return [result(GROUP, 'remote write', 'fail', (error as Error).message, 'correct the setting it names (docs/prometheus.md#remote-write)')]
  }
  const labels = settings.labels.map(([name, value]) => `${name}=${value}`).join(',')
  const auth = settings.auth.kind === 'none' ? 'no auth' : settings.auth.kind === 'basic' ? `basic auth as ${settings.auth.username}` : 'bearer token'
  const results = [
    result(GROUP, 'remote write', 'ok', `${settings.url.origin}${settings.url.pathname} every ${formatMs(settings.intervalMs)}, ${auth}, labels ${labels}; queue up to ${formatMs(settings.maxAgeMs)} and ${settings.maxBytes} bytes`),
  ]
  // the daemon's own proxy choice (HTTPS_PROXY / HTTP_PROXY / ALL_PROXY, NO_PROXY): through a
  // proxy the receiver is asked over it, as the daemon will
  const { configuredProxy, proxyForUrl, proxyUrlOf } = await import('../transport/proxy.js')
  const proxy = configuredProxy((name) => context.setting(name), context.env)
  const proxyText = proxyForUrl(settings.url, proxy)
  if (proxyText !== undefined) {
    let proxyName: string
    try {
      proxyName = proxyUrlOf(proxyText).host // host:port only: no credentials in the report
    } catch {
      proxyName = '(not a URL)'
    }
    const answer = await probeThroughProxy(settings.url, proxy)
    results.push(
      'status' in answer
        ? result(GROUP, 'receiver', 'ok', `${settings.url.host} answers through the proxy ${proxyName} (HTTP ${answer.status} to a GET)`)
        : result(GROUP, 'receiver', 'warn', `${settings.url.host} through the proxy ${proxyName}: ${answer.error} (samples queue until it answers)`, 'check REMOTE_WRITE_URL, the proxy setting (HTTPS_PROXY, HTTP_PROXY or ALL_PROXY) and NO_PROXY'),
    )
    return results
  }
  const problem = await probeConnect(settings.url)
  results.push(
    problem === undefined
      ? result(GROUP, 'receiver', 'ok', `${settings.url.host} accepts connections`)
      : result(GROUP, 'receiver', 'warn', `${settings.url.host}: ${problem} (samples queue until it answers)`, 'check REMOTE_WRITE_URL and that the receiver runs and is reachable from this host'),
  )
  return results
}

/** Any HTTP answer of the receiver to a GET through the proxy (a write endpoint answers 4xx to one): it is reachable. */
async function probeThroughProxy(url: URL, proxy: ProxySettings): Promise<{ status: number } | { error: string }> {
  const { createProxyAgent } = await import('../transport/proxy.js')
  const agent = await createProxyAgent(proxy)
  try {
    return await new Promise<{ status: number } | { error: string }>((resolve) => {
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method: 'GET', agent, timeout: PROBE_MS }, (res) => {
        res.resume()
        resolve({ status: res.statusCode ?? 0 })
      })
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: `no answer within ${formatMs(PROBE_MS)}` })))
      req.on('error', (error) => resolve({ error: errorCode(error) }))
      req.end()
    })
  } finally {
    agent.destroy()
  }
}

export async function checkMetrics(context: DoctorContext): Promise<CheckResult[]> {
  const listen = context.setting('METRICS_LISTEN')?.trim()
  const url = context.setting('REMOTE_WRITE_URL')?.trim()
  if (!listen && !url) {
    return [result(GROUP, 'prometheus', 'skip', 'off: METRICS_LISTEN and REMOTE_WRITE_URL are unset', 'to feed Prometheus: METRICS_LISTEN=127.0.0.1:9101 (scrape) or REMOTE_WRITE_URL (push); docs/prometheus.md')]
  }
  return [...(listen ? await checkListen(context, listen) : []), ...(url ? await checkRemoteWrite(context) : [])]
}
