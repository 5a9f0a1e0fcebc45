/**
 * Proxy rules for the hub dial: which of HTTPS_PROXY/HTTP_PROXY/ALL_PROXY applies to a URL, NO_PROXY
 * exemptions, and the proxy agent that carries the dial. proxy-agent is imported only when a proxy
 * applies: most hosts never pay for it.
 */
import type { Agent as HttpAgent } from 'node:http'

/** Proxy variables, already looked up (upper or lower case). */
export interface ProxySettings {
  httpsProxy?: string
  httpProxy?: string
  allProxy?: string
  noProxy?: string
}

/** Reads HTTPS_PROXY/HTTP_PROXY/ALL_PROXY/NO_PROXY (prefixed names win, then upper, then lower case). */
export function proxySettings(lookup: (name: string) => string | undefined): ProxySettings {
  const read = (name: string) => {
    const value = lookup(name) ?? lookup(name.toLowerCase())
    return value === undefined || value.trim() === '' ? undefined : value.trim()
  }
  const settings: ProxySettings = {}
  const httpsProxy = read('HTTPS_PROXY')
  const httpProxy = read('HTTP_PROXY')
  const allProxy = read('ALL_PROXY')
  const noProxy = read('NO_PROXY')
  if (httpsProxy) settings.httpsProxy = httpsProxy
  if (httpProxy) settings.httpProxy = httpProxy
  if (allProxy) settings.allProxy = allProxy
  if (noProxy) settings.noProxy = noProxy
  return settings
}

/**
 * The proxy variables as the agent's settings give them (flags > environment > config file, upper
 * case) with the lower-case variables from the environment as is: what the hub dial, remote write
 * and the doctor all read.
 */
export function configuredProxy(setting: (name: string) => string | undefined, env: NodeJS.ProcessEnv = process.env): ProxySettings {
  return proxySettings((name) => setting(name) ?? env[name])
}

/** A proxy variable's value as a URL: a bare `host:port` is an http proxy. Throws when it is not a URL. */
export function proxyUrlOf(text: string): URL {
  return new URL(text.includes('://') ? text : `http://${text}`)
}

/** Whether NO_PROXY exempts `url`: `*`, exact hosts, domain suffixes (`.example.com`, `*.example.com`), optional `:port`. */
export function bypassesProxy(url: URL, noProxy: string | undefined): boolean {
  if (!noProxy) return false
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase()
  const port = url.port || (url.protocol === 'wss:' || url.protocol === 'https:' ? '443' : '80')
  for (const raw of noProxy.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase()
    if (entry === '') continue
    if (entry === '*') return true
    // `[v6]:port`, `host:port`, or a bare host (a bare IPv6 address has several colons and no port)
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry)
    const hostPort = /^([^:]+):(\d+)$/.exec(entry)
    let name = bracketed?.[1] ?? hostPort?.[1] ?? entry
    const entryPort = bracketed?.[2] ?? hostPort?.[2]
    if (entryPort && entryPort !== port) continue
    name = name.replace(/^\*?\./, '')
    if (host === name || host.endsWith(`.${name}`)) return true
  }
  return false
}

/** The proxy for a ws/wss URL: wss uses HTTPS_PROXY, ws HTTP_PROXY, both fall back to ALL_PROXY. */
export function proxyForUrl(url: URL, settings: ProxySettings): string | undefined {
  if (bypassesProxy(url, settings.noProxy)) return undefined
  const secure = url.protocol === 'wss:' || url.protocol === 'https:'
  return (secure ? settings.httpsProxy : settings.httpProxy) ?? settings.allProxy
}

/** Supplies the agent a proxied dial goes through (the client keeps one for its life, the doctor one per dial). */
export type ProxyAgentSource = (settings: ProxySettings) => Promise<HttpAgent>

/** A new proxy agent that applies `settings` to each URL it is asked to carry. */
export const createProxyAgent: ProxyAgentSource = async (settings) => {
  const { ProxyAgent } = await import('proxy-agent')
  return new ProxyAgent({ getProxyForUrl: (href: string) => proxyForUrl(new URL(href), settings) ?? '' })
}
