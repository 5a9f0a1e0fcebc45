/**
 * Which accepted sockets the SSH server keeps, so that peers that never authenticate cannot lock the
 * hub out (the listener is on all interfaces by default). Every socket must authenticate within a
 * deadline counted from accept (not from its banner: a silent socket never reaches ssh2's handlers);
 * when the unauthenticated slots are full an older unauthenticated socket is dropped, never the
 * newcomer, so a hub that arrives during a flood still gets in; and one source address can hold only
 * a few connections, its own oldest unauthenticated one going first.
 *
 * Which one goes is decided by progress, then by rate, then by age: a socket that has not said a word
 * goes before one that sent its identification, which goes before one that finished the key exchange
 * (real cryptographic work, which a hub does in milliseconds); among equals, a connection opened
 * beyond its address's rate (a churning flood that reopens what is dropped) goes first, then the
 * oldest. So a flood that reopens every dropped socket at once, from any number of addresses, only
 * ever evicts itself while a hub is logging in.
 */
import type { Socket } from 'node:net'
import type { Logger } from '../log.js'

/** Not in the Go agent: a peer must finish authenticating this long after its TCP connect. */
export const AUTH_TIMEOUT_MS = 10_000
/** Far more than one hub needs; a cap so a connection flood cannot exhaust descriptors. */
export const MAX_CONNECTIONS = 32
/** Connections still authenticating at once; a hub needs one. */
export const MAX_UNAUTHENTICATED = 16
/** Connections from one address (a hub keeps one, briefly two while it reconnects). */
export const MAX_CONNECTIONS_PER_SOURCE = 8
/** New connections an address may open at once before its next ones count as over its rate. */
export const CONNECT_BURST = 4
/** …and how often it earns one more: a hub reconnects far less often. */
export const CONNECT_REFILL_MS = 5_000
/** Addresses whose rate is remembered; beyond it the ones with a full allowance are forgotten. */
const MAX_RATE_ENTRIES = 4096
/** Drops are logged at most this often, with a count: a flood must not flood the log too. */
const DROP_LOG_INTERVAL_MS = 10_000

/** How far a connection got: silent, it sent its identification, it finished the key exchange. */
export enum Progress {
  Silent = 0,
  Spoke = 1,
  KeyExchanged = 2,
}

export interface AdmissionLimits {
  authTimeoutMs?: number
  maxConnections?: number
  maxUnauthenticated?: number
  maxConnectionsPerSource?: number
}

interface Tracked {
  source: string
  authenticated: boolean
  deadline: NodeJS.Timeout | undefined
  progress: Progress
  /** opened beyond its address's connection rate */
  overRate: boolean
}

/** New connections per address: a token bucket of CONNECT_BURST, one more every CONNECT_REFILL_MS. */
class ConnectRate {
  private readonly buckets = new Map<string, { tokens: number; at: number }>()

  /** Takes one connection's allowance; false when the address is over its rate. */
  take(address: string, now: number): boolean {
    const bucket = this.buckets.get(address)
    const tokens = bucket ? Math.min(CONNECT_BURST, bucket.tokens + (now - bucket.at) / CONNECT_REFILL_MS) : CONNECT_BURST
    if (!bucket && this.buckets.size >= MAX_RATE_ENTRIES) this.forgetRefilled(now)
    const allowed = tokens >= 1
    this.buckets.set(address, { tokens: allowed ? tokens - 1 : tokens, at: now })
    return allowed
  }

  /** Bounded memory against many addresses: full buckets are as good as none; else the oldest go. */
  private forgetRefilled(now: number): void {
    for (const [address, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.at) / CONNECT_REFILL_MS >= CONNECT_BURST) this.buckets.delete(address)
    }
    for (const address of this.buckets.keys()) {
      if (this.buckets.size < MAX_RATE_ENTRIES) break
      this.buckets.delete(address)
    }
  }
}

/**
 * The address a rate is kept for: IPv6 by its /64 (one host holds a whole /64), IPv4 and the rest
 * as they are.
 */
export function rateKey(address: string): string {
  const plain = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address
  if (!plain.includes(':')) return plain
  const [head = '', tail] = plain.split('::')
  const groups = head.split(':').filter(Boolean)
  const missing = 8 - groups.length - (tail === undefined ? 0 : tail.split(':').filter(Boolean).length)
  const full = tail === undefined ? groups : [...groups, ...Array<string>(Math.max(0, missing)).fill('0'), ...tail.split(':').filter(Boolean)]
  return `${full.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`
}

export class SshAdmission {
  /** every socket held, in accept order (Map keeps insertion order: the first pending is the oldest) */
  private readonly held = new Map<Socket, Tracked>()
  private readonly perSource = new Map<string, number>()
  private readonly rate = new ConnectRate()
  private unauthenticated = 0
  private dropped = 0
  private lastDropLog = 0
  private readonly authTimeoutMs: number
  private readonly maxConnections: number
  private readonly maxUnauthenticated: number
  private readonly maxPerSource: number

  constructor(
    limits: AdmissionLimits,
    private readonly logger: Logger,
  ) {
    this.authTimeoutMs = limits.authTimeoutMs ?? AUTH_TIMEOUT_MS
    this.maxConnections = Math.max(1, limits.maxConnections ?? MAX_CONNECTIONS)
    this.maxUnauthenticated = Math.max(1, Math.min(this.maxConnections, limits.maxUnauthenticated ?? MAX_UNAUTHENTICATED))
    this.maxPerSource = Math.max(1, limits.maxConnectionsPerSource ?? MAX_CONNECTIONS_PER_SOURCE)
  }

  /** Connections held now, and how many of them have not authenticated. */
  get counts(): { total: number; unauthenticated: number } {
    return { total: this.held.size, unauthenticated: this.unauthenticated }
  }

  /**
   * Takes a freshly accepted socket: makes room by dropping older unauthenticated ones where a limit
   * is reached, and starts its deadline. false (and the socket destroyed) only when the room is held
   * by authenticated connections.
   */
  admit(socket: Socket): boolean {
    const source = socket.remoteAddress ?? 'unix'
    const overRate = !this.rate.take(rateKey(source), Date.now())
    if ((this.perSource.get(source) ?? 0) >= this.maxPerSource && !this.dropOldest(source)) return this.refuse(socket, source, 'per-source')
    if (this.unauthenticated >= this.maxUnauthenticated) this.dropOldest()
    if (this.held.size >= this.maxConnections && !this.dropOldest()) return this.refuse(socket, source, 'total')

    const tracked: Tracked = { source, authenticated: false, deadline: undefined, progress: Progress.Silent, overRate }
    tracked.deadline = setTimeout(() => {
      this.logger.warn('SSH peer did not authenticate in time; closing', { peer: source, authTimeoutMs: this.authTimeoutMs })
      socket.destroy()
    }, this.authTimeoutMs)
    this.held.set(socket, tracked)
    this.perSource.set(source, (this.perSource.get(source) ?? 0) + 1)
    this.unauthenticated += 1
    socket.once('close', () => this.release(socket))
    return true
  }

  /** The peer on `socket` got further (see Progress); connections that got further are dropped last. */
  progressed(socket: Socket, progress: Progress): void {
    const tracked = this.held.get(socket)
    if (tracked && progress > tracked.progress) tracked.progress = progress
  }

  /** The peer on `socket` authenticated: no deadline, never dropped to make room. */
  authenticated(socket: Socket): void {
    const tracked = this.held.get(socket)
    if (!tracked || tracked.authenticated) return
    tracked.authenticated = true
    clearTimeout(tracked.deadline)
    this.unauthenticated -= 1
  }

  private release(socket: Socket): void {
    const tracked = this.held.get(socket)
    if (!tracked) return
    clearTimeout(tracked.deadline)
    this.held.delete(socket)
    if (!tracked.authenticated) this.unauthenticated -= 1
    const left = (this.perSource.get(tracked.source) ?? 1) - 1
    if (left > 0) this.perSource.set(tracked.source, left)
    else this.perSource.delete(tracked.source)
  }

  /**
   * Drops one unauthenticated connection (of `source` when given): the least progressed, over-rate
   * before in-rate, oldest first (see the file comment); false when there is none.
   */
  private dropOldest(source?: string): boolean {
    let victim: [Socket, Tracked] | undefined
    const rank = (t: Tracked) => t.progress * 2 + (t.overRate ? 0 : 1)
    for (const entry of this.held) {
      const tracked = entry[1]
      if (tracked.authenticated || (source !== undefined && tracked.source !== source)) continue
      // held is in accept order, so the first of the lowest rank is the oldest of it
      if (!victim || rank(tracked) < rank(victim[1])) victim = entry
      if (rank(tracked) === 0) break
    }
    if (!victim) return false
    const [socket, tracked] = victim
    // Released now, not on 'close' (which comes later): the newcomer needs the slot at once.
    this.release(socket)
    socket.destroy()
    this.noteDrop(source === undefined ? 'unauthenticated slots full' : 'too many connections from one address', tracked.source)
    return true
  }

  private refuse(socket: Socket, source: string, limit: 'per-source' | 'total'): false {
    socket.destroy()
    this.noteDrop(limit === 'total' ? 'connection limit reached' : 'too many connections from one address', source, 'refused a new connection')
    return false
  }

  private noteDrop(reason: string, peer: string, action = 'dropped an unauthenticated connection'): void {
    this.dropped += 1
    const now = Date.now()
    if (now - this.lastDropLog < DROP_LOG_INTERVAL_MS) return
    this.lastDropLog = now
    this.logger.warn(`SSH ${reason}; ${action}`, { peer, droppedSinceLastLog: this.dropped, ...this.counts })
    this.dropped = 0
  }
}
