/**
 * The hub's TLS handshake, verified the way the agent verifies it: the system roots plus
 * CA_CERT_FILE when set (the agent's own list, from transport/hub-dial.ts), and the host name
 * HUB_URL gives. The handshake completes even when the
 * chain fails so that the report can name the certificate and the exact repair.
 */
import { isIP } from 'node:net'
import { connect, type PeerCertificate } from 'node:tls'
import { hubCertificateAuthorities } from '../transport/hub-dial.js'
import { errorCode, formatMs, result, withTimeout, type CheckResult, type CheckStatus } from './check.js'

const GROUP = 'hub'
/** A certificate expiring sooner than this is worth a warning. */
const EXPIRY_WARNING_MS = 14 * 24 * 3600 * 1000

export interface TlsTarget {
  host: string
  port: number
  caCertFile?: string
  insecure: boolean
  timeoutMs: number
  /** warn or fail for a network failure (fail only without the SSH fallback) */
  unreachable: CheckStatus
}

export interface TlsOutcome {
  result: CheckResult
  /** the agent would complete this handshake (verified, or verification switched off) */
  usable: boolean
}

function subjectOf(cert: PeerCertificate): string {
  const cn = cert.subject?.CN
  return Array.isArray(cn) ? cn.join(',') : (cn ?? '?')
}

function issuerOf(cert: PeerCertificate): string {
  const parts = [cert.issuer?.CN, cert.issuer?.O].flat().filter((p): p is string => typeof p === 'string' && p !== '')
  return parts.join(', ') || '?'
}

function handshake(target: TlsTarget, ca: string[] | undefined): Promise<{ authorized: boolean; error?: string; cert: PeerCertificate; protocol: string | null }> {
  const socket = connect({
    host: target.host,
    port: target.port,
    ...(isIP(target.host) === 0 ? { servername: target.host } : {}),
    ...(ca ? { ca } : {}),
    // verification is judged below, so a failing chain still shows who presented it
    rejectUnauthorized: false,
  })
  const work = new Promise<{ authorized: boolean; error?: string; cert: PeerCertificate; protocol: string | null }>((resolve, reject) => {
    socket.once('secureConnect', () => {
      const error = socket.authorizationError
      resolve({
        authorized: socket.authorized,
        ...(error ? { error: typeof error === 'string' ? error : errorCode(error) } : {}),
        cert: socket.getPeerCertificate(),
        protocol: socket.getProtocol(),
      })
    })
    socket.once('error', reject)
  })
  return withTimeout(work, target.timeoutMs, () => socket.destroy()).finally(() => socket.destroy())
}

function verificationFix(code: string, target: TlsTarget, cert: PeerCertificate): string {
  if (code === 'CERT_HAS_EXPIRED') return `renew the hub's certificate (it expired ${cert.valid_to}), and check this host's clock`
  if (code === 'CERT_NOT_YET_VALID') return `check this host's clock (the certificate is valid from ${cert.valid_from})`
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `use a host name the certificate names (${cert.subjectaltname ?? subjectOf(cert)}) in HUB_URL, or reissue the certificate for ${target.host}`
  }
  return target.caCertFile
    ? `CA_CERT_FILE=${target.caCertFile} does not sign it: set CA_CERT_FILE to the PEM of the CA that issued the hub's certificate (issuer: ${issuerOf(cert)})`
    : `set CA_CERT_FILE to the PEM of the CA that issued the hub's certificate (issuer: ${issuerOf(cert)}; for a self-signed hub, its own certificate), e.g. CA_CERT_FILE=/etc/sonar-agent/hub-ca.pem — or give the hub a publicly trusted certificate`
}

export async function checkTls(target: TlsTarget): Promise<TlsOutcome> {
  let ca: string[] | undefined
  if (target.caCertFile) {
    try {
      ca = await hubCertificateAuthorities(target.caCertFile)
    } catch (error) {
      return { result: result(GROUP, 'TLS', 'fail', `cannot read CA_CERT_FILE=${target.caCertFile} (${errorCode(error)})`, 'set CA_CERT_FILE to a readable PEM file'), usable: false }
    }
  }
  let outcome: Awaited<ReturnType<typeof handshake>>
  try {
    outcome = await handshake(target, ca)
  } catch (error) {
    const code = errorCode(error)
    const timedOut = code === 'TimeoutError' || /no answer within/.test(code)
    return {
      result: result(GROUP, 'TLS', target.unreachable, timedOut ? `no TLS handshake within ${formatMs(target.timeoutMs)}` : `TLS handshake failed (${code})`, 'check that HUB_URL\'s port serves HTTPS (http:// for a plain hub), and that no proxy or firewall intercepts it'),
      usable: false,
    }
  }
  const { cert } = outcome
  const who = `certificate for ${subjectOf(cert)} issued by ${issuerOf(cert)}`
  if (!outcome.authorized) {
    const code = outcome.error ?? 'UNKNOWN'
    if (target.insecure) {
      return {
        result: result(GROUP, 'TLS', 'warn', `NOT verified (TLS_INSECURE_SKIP_VERIFY=true); verification would fail: ${code}, ${who}`, `${verificationFix(code, target, cert)}; then remove TLS_INSECURE_SKIP_VERIFY`),
        usable: true,
      }
    }
    return { result: result(GROUP, 'TLS', 'fail', `the agent refuses the hub's ${who}: ${code}`, verificationFix(code, target, cert)), usable: false }
  }
  const expires = Date.parse(cert.valid_to)
  const via = target.caCertFile ? ` (via CA_CERT_FILE)` : ''
  if (Number.isFinite(expires) && expires - Date.now() < EXPIRY_WARNING_MS) {
    return { result: result(GROUP, 'TLS', 'warn', `verified${via}, but the ${who} expires ${cert.valid_to}`, 'renew the hub\'s certificate'), usable: true }
  }
  return {
    result: result(GROUP, 'TLS', target.insecure ? 'warn' : 'ok', `verified${via}: ${who}, ${outcome.protocol ?? 'TLS'}, valid until ${cert.valid_to}${target.insecure ? '; TLS_INSECURE_SKIP_VERIFY=true is not needed' : ''}`, target.insecure ? 'remove TLS_INSECURE_SKIP_VERIFY' : undefined),
    usable: true,
  }
}
