/**
 * Which accepted sockets the SSH server keeps, so that peers that never authenticate cannot lock the
 * hub out (the listener is on all interfaces by default). Every socket must authenticate within a
 * deadline counted from accept (not from its banner: a silent socket never reaches ssh2's handlers);
 * when the unauthenticated slots are full the OLDEST unauthenticated socket is dropped, never the
 * newcomer, so a hub that arrives during a flood still gets in; and one source address can hold only
 * a few connections, its own oldest unauthenticated one going first.
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
/** Drops are logged at most this often, with a count: a flood must not flood the log too. */
const DROP_LOG_INTERVAL_MS = 10_000

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
}

export class SshAdmission {
  /** every socket held, in accept order (Map keeps insertion order: the first pending is the oldest) */
  private readonly held = new Map<Socket, Tracked>()
  private readonly perSource = new Map<string, number>()
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
    if ((this.perSource.get(source) ?? 0) >= this.maxPerSource && !this.dropOldest(source)) return this.refuse(socket, source, 'per-source')
    if (this.unauthenticated >= this.maxUnauthenticated) this.dropOldest()
    if (this.held.size >= this.maxConnections && !this.dropOldest()) return this.refuse(socket, source, 'total')

    const tracked: Tracked = { source, authenticated: false, deadline: undefined }
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

  /** Drops the oldest unauthenticated connection (of `source` when given); false when there is none. */
  private dropOldest(source?: string): boolean {
    for (const [socket, tracked] of this.held) {
      if (tracked.authenticated || (source !== undefined && tracked.source !== source)) continue
      // Released now, not on 'close' (which comes later): the newcomer needs the slot at once.
      this.release(socket)
      socket.destroy()
      this.noteDrop(source === undefined ? 'unauthenticated slots full' : 'too many connections from one address', tracked.source)
      return true
    }
    return false
  }

  private refuse(socket: Socket, source: string, limit: 'per-source' | 'total'): false {
    socket.destroy()
    this.noteDrop(limit === 'total' ? 'connection limit reached' : 'too many connections from one address', source, 'refused a new connection')
    return false
  }

  private noteDrop(reason: string, peer: string, action = 'dropped the oldest unauthenticated connection'): void {
    this.dropped += 1
    const now = Date.now()
    if (now - this.lastDropLog < DROP_LOG_INTERVAL_MS) return
    this.lastDropLog = now
    this.logger.warn(`SSH ${reason}; ${action}`, { peer, droppedSinceLastLog: this.dropped, ...this.counts })
    this.dropped = 0
  }
}
