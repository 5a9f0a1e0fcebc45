/**
 * The dev hub's memory: which systems are connected and their recent samples. The connection side
 * (ts/hub/hub.ts) writes it; the web side (ts/hub/web/) reads it and listens for changes. In-memory
 * only — the dev hub is a demo and test tool, not a database.
 */
import type { CombinedDataJson, ServiceJson } from '../../index.js'
import type { DetailsJson, DetailsSource } from './details.js'
import type { HubVersion } from './hub-version.js'
import type { SmartDeviceRecord } from './smart-records.js'

/** A systemd unit as the hub receives it (data-model §1.8, JSON names). */
export type { ServiceJson }

/** One GetData answer, with the field names of index.d.ts (CombinedDataJson) plus services. */
export interface HubSample {
  /** when the hub received it (ms since the epoch) */
  at: number
  /** the cache time it was asked with: 60000 or 1000 */
  cacheTimeMs: number
  data: CombinedDataJson & { services?: ServiceJson[] }
}

export interface SystemSummary {
  /** stable per agent: its fingerprint */
  id: string
  /** Info.h, or the address until the first sample */
  name: string
  transport: 'websocket' | 'ssh'
  /** remote address (WebSocket) or host:port (SSH) */
  address: string
  /** the route a WebSocket agent came in on: SONAR's (host actions possible) or Beszel's (transport/hub-url.ts) */
  route?: 'sonar' | 'beszel'
  /** protocol version the agent reported (X-Beszel header or SSH banner) */
  agentVersion: string
  connected: boolean
  connectedAt: number
  lastSampleAt: number | null
  /** the last error the hub saw from this system (verification, timeout…), if any */
  lastError?: string
  /** the Beszel hub version played for it (what GetData carries, Details, SMART rules) */
  hubVersion?: HubVersion
}

/** The system_details record of a v0.18.8 hub. */
export interface StoredDetails {
  details: DetailsJson
  source: DetailsSource
  /** ms since the epoch */
  at: number
}

export type StoreEvent =
  | { type: 'systems' }
  | { type: 'sample'; id: string; sample: HubSample }
  | { type: 'details'; id: string }
  | { type: 'smart'; id: string }

/** Samples kept per system: 10 minutes of 1 s realtime samples, plus every 60 s sample of 24 h. */
export const REALTIME_KEEP = 600
export const MINUTE_KEEP = 1440

export class HubStore {
  private readonly systems = new Map<string, SystemSummary>()
  private readonly samples = new Map<string, { realtime: HubSample[]; minute: HubSample[] }>()
  private readonly listeners = new Set<(event: StoreEvent) => void>()
  private readonly watchers = new Map<string, number>()
  private readonly watchListeners = new Set<(id: string, watched: boolean) => void>()
  private readonly detailsRecords = new Map<string, StoredDetails>()
  /** every details write, oldest first (tests tell the agent's from synthesized ones) */
  private readonly detailsLog = new Map<string, StoredDetails[]>()
  private readonly smartRecords = new Map<string, ReadonlyMap<string, SmartDeviceRecord>>()

  list(): SystemSummary[] {
    return [...this.systems.values()].sort((a, b) => a.name.localeCompare(b.name))
  }

  get(id: string): SystemSummary | undefined {
    return this.systems.get(id)
  }

  /** Samples of one system, oldest first, both cadences merged (`since`: only newer ones). */
  history(id: string, since = 0): HubSample[] {
    const kept = this.samples.get(id)
    if (!kept) return []
    return [...kept.minute, ...kept.realtime].filter((s) => s.at > since).sort((a, b) => a.at - b.at)
  }

  latest(id: string): HubSample | undefined {
    const kept = this.samples.get(id)
    const a = kept?.realtime.at(-1)
    const b = kept?.minute.at(-1)
    if (!a) return b
    if (!b) return a
    return a.at >= b.at ? a : b
  }

  upsertSystem(summary: SystemSummary): void {
    this.systems.set(summary.id, { ...summary })
    this.emit({ type: 'systems' })
  }

  /** Marks a system disconnected (its history stays for the page). */
  markDisconnected(id: string, error?: string): void {
    const system = this.systems.get(id)
    if (!system) return
    system.connected = false
    if (error !== undefined) system.lastError = error
    this.emit({ type: 'systems' })
  }

  addSample(id: string, sample: HubSample): void {
    let kept = this.samples.get(id)
    if (!kept) {
      kept = { realtime: [], minute: [] }
      this.samples.set(id, kept)
    }
    const list = sample.cacheTimeMs === 1000 ? kept.realtime : kept.minute
    list.push(sample)
    const limit = sample.cacheTimeMs === 1000 ? REALTIME_KEEP : MINUTE_KEEP
    if (list.length > limit) list.splice(0, list.length - limit)
    const system = this.systems.get(id)
    if (system) {
      system.lastSampleAt = sample.at
      if (sample.data.info.h) system.name = sample.data.info.h
    }
    this.emit({ type: 'sample', id, sample })
  }

  /** Stores a system's details (the system_details record); its hostname names the system. */
  setDetails(id: string, details: DetailsJson, source: DetailsSource, at: number = Date.now()): void {
    const record: StoredDetails = { details: { ...details }, source, at }
    this.detailsRecords.set(id, record)
    let log = this.detailsLog.get(id)
    if (!log) this.detailsLog.set(id, (log = []))
    log.push(record)
    const system = this.systems.get(id)
    if (system && details.Hostname) system.name = details.Hostname
    this.emit({ type: 'details', id })
  }

  details(id: string): StoredDetails | undefined {
    return this.detailsRecords.get(id)
  }

  detailsWrites(id: string): readonly StoredDetails[] {
    return this.detailsLog.get(id) ?? []
  }

  /** Replaces a system's smart_devices records (smart-records.ts decides what they become). */
  setSmartDevices(id: string, records: ReadonlyMap<string, SmartDeviceRecord>): void {
    if (this.smartRecords.get(id) === records) return
    this.smartRecords.set(id, records)
    this.emit({ type: 'smart', id })
  }

  /** A system's smart_devices records by record id. */
  smartDevices(id: string): ReadonlyMap<string, SmartDeviceRecord> {
    return this.smartRecords.get(id) ?? new Map()
  }

  /** Subscribes to changes; returns the unsubscribe function. */
  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /**
   * A page started (true) or stopped (false) watching a system. The connection side polls
   * GetData every 1 s while at least one watcher is left, as a real hub does for an open page.
   */
  watch(id: string, watching: boolean): void {
    const before = this.watchers.get(id) ?? 0
    const after = Math.max(0, before + (watching ? 1 : -1))
    this.watchers.set(id, after)
    if ((before === 0) !== (after === 0)) for (const l of this.watchListeners) l(id, after > 0)
  }

  isWatched(id: string): boolean {
    return (this.watchers.get(id) ?? 0) > 0
  }

  onWatch(listener: (id: string, watched: boolean) => void): () => void {
    this.watchListeners.add(listener)
    return () => this.watchListeners.delete(listener)
  }

  private emit(event: StoreEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event)
      } catch {
        // a broken page stream must not stop the others
      }
    }
  }
}
