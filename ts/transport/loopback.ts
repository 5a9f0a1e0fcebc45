/**
 * Whether an address or a host name is this machine: the dev hub signs host actions only for a
 * page opened on it, and the agent refuses mutating host actions over a plain ws:// to anything else.
 */
import { isIP } from 'node:net'

/** A socket's peer address: 127.0.0.0/8 (also IPv4-mapped) or ::1. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false
  const v4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address
  if (isIP(v4) === 4) return v4.startsWith('127.')
  return address === '::1'
}

/** A URL's host name: `localhost` (and `*.localhost`, RFC 6761) or a loopback address. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase()
  return host === 'localhost' || host.endsWith('.localhost') || isLoopbackAddress(host)
}
