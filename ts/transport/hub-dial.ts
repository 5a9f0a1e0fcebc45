/**
 * The one set of options the hub is dialled with: the headers that identify the agent, the TLS
 * trust (system roots plus CA_CERT_FILE, or verification off), the proxy, the frame and handshake
 * limits. The WebSocket client dials with them, and the doctor's route, clock and TLS checks build
 * theirs here too, so what the doctor reports is what the agent meets.
 */
import { readFile } from 'node:fs/promises'
import type { Agent as HttpAgent, IncomingMessage } from 'node:http'
import { rootCertificates } from 'node:tls'
import type { ClientOptions } from 'ws'
import type { AgentConfig } from '../config/config.js'
import { encodeHubNonce, HUB_NONCE_HEADER } from '../identity/hub-nonce.js'
import { configuredProxy, createProxyAgent, proxyForUrl, type ProxyAgentSource, type ProxySettings } from './proxy.js'

/** gws's limit, which the hub also applies: a bigger frame is an attack or a bug. */
export const MAX_PAYLOAD_BYTES = 16 * 1024 * 1024
export const HANDSHAKE_TIMEOUT_MS = 10_000

export interface HubDialSettings {
  token: string
  /** strict semver sent in X-Beszel and X-Sonar (hub UIs gate features on it) */
  protocolVersion: string
  userAgent: string
  caCertFile?: string
  tlsInsecureSkipVerify?: boolean
  proxy?: ProxySettings
  handshakeTimeoutMs?: number
  maxPayload?: number
  /** this dial's fresh nonce, sent as X-Sonar-Nonce (the SONAR route only; docs/extensions.md) */
  hubNonce?: Uint8Array
}

/** The settings a dial takes from the configuration. */
export type HubDialConfig = Pick<AgentConfig, 'caCertFile' | 'tlsInsecureSkipVerify' | 'setting'>

/** The agent's dial settings from its configuration: the agent and the doctor both start here. */
export function hubDialSettings(
  config: HubDialConfig,
  env: NodeJS.ProcessEnv,
  identity: Pick<HubDialSettings, 'token' | 'protocolVersion' | 'userAgent'>,
): HubDialSettings & { proxy: ProxySettings } {
  return {
    ...identity,
    ...(config.caCertFile ? { caCertFile: config.caCertFile } : {}),
    tlsInsecureSkipVerify: config.tlsInsecureSkipVerify,
    proxy: configuredProxy((name) => config.setting(name), env),
  }
}

export function hubHeaders(settings: HubDialSettings): Record<string, string> {
  return {
    'X-Token': settings.token,
    'X-Beszel': settings.protocolVersion,
    'X-Sonar': settings.protocolVersion,
    'User-Agent': settings.userAgent,
    ...(settings.hubNonce ? { [HUB_NONCE_HEADER]: encodeHubNonce(settings.hubNonce) } : {}),
  }
}

/** The system roots plus CA_CERT_FILE, read on every call so a rotated CA is picked up without a restart. */
export async function hubCertificateAuthorities(caCertFile: string): Promise<string[]> {
  return [...rootCertificates, await readFile(caCertFile, 'utf8')]
}

function isSecure(url: URL): boolean {
  return url.protocol === 'wss:' || url.protocol === 'https:'
}

/** TLS options for a wss/https URL (none for a plain one): verification off, or the extra CA. */
export async function hubTlsOptions(url: URL, settings: HubDialSettings): Promise<Pick<ClientOptions, 'ca' | 'rejectUnauthorized'>> {
  if (!isSecure(url)) return {}
  if (settings.tlsInsecureSkipVerify) return { rejectUnauthorized: false }
  if (settings.caCertFile) return { ca: await hubCertificateAuthorities(settings.caCertFile) }
  return {}
}

/** The proxy agent for `url`, when a proxy applies to it (NO_PROXY considered). */
export async function hubProxyAgent(url: URL, settings: HubDialSettings, source: ProxyAgentSource = createProxyAgent): Promise<HttpAgent | undefined> {
  const proxy = settings.proxy
  return proxy && proxyForUrl(url, proxy) ? await source(proxy) : undefined
}

/** The `ws` options of a dial to `url` (an agent-connect URL). Throws when CA_CERT_FILE cannot be read. */
export async function hubClientOptions(url: URL, settings: HubDialSettings, proxyAgent?: ProxyAgentSource): Promise<ClientOptions> {
  const options: ClientOptions = {
    headers: hubHeaders(settings),
    perMessageDeflate: false,
    maxPayload: settings.maxPayload ?? MAX_PAYLOAD_BYTES,
    handshakeTimeout: settings.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS,
    followRedirects: false,
    // Text frames are ignored, so checking their UTF-8 is wasted work.
    skipUTF8Validation: true,
    ...(await hubTlsOptions(url, settings)),
  }
  const agent = await hubProxyAgent(url, settings, proxyAgent)
  if (agent) options.agent = agent
  return options
}

const CERTIFICATE_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME/

/** Whether a dial error's code (or message) says the hub's certificate did not verify. */
export function isCertificateError(codeOrMessage: string): boolean {
  return CERTIFICATE_ERROR.test(codeOrMessage)
}

/** The start of a refusing response's body, on one line (the hub says why there: "Invalid token"). */
export async function readRefusalBody(res: IncomingMessage, limit: number, timeoutMs: number): Promise<string> {
  return await new Promise((resolve) => {
    let body = ''
    const done = () => {
      clearTimeout(timer)
      res.removeAllListeners('data')
      resolve(body.replace(/\s+/g, ' ').trim().slice(0, limit))
    }
    const timer = setTimeout(done, timeoutMs)
    res.setEncoding('utf8')
    res.on('data', (chunk: string) => {
      body += chunk
      if (body.length >= limit) done()
    })
    res.once('end', done)
    res.once('error', done)
  })
}
