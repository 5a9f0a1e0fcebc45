/**
 * Polls one connected system as a Beszel hub of the chosen version does (spec protocol.md §1 step
 * 6–7, §2.11; beszel-v0.18.md §2, §3.4, §5.2): GetData(60000) at once and every 60 s, GetData(1000)
 * every second while a page watches the system, and SMART — once after the first data write (0.17)
 * or in the background once details are stored (0.18.8). The state a 0.18.8 hub keeps per System
 * object (detailsFetched, the SMART interval) lives here, so it starts afresh with every connection.
 * The transport (a WebSocket session, an SSH dial, the test hub) only carries the requests.
 */
import type { AgentResponse } from '../protocol/envelope.js'
import type { Logger } from '../log.js'
import { dataRequestOptions, DEFAULT_HUB_VERSION, hubRules, REGULAR_CACHE_MS, type HubRules, type HubVersion } from './hub-version.js'
import { migrateDeprecatedFields } from './migrate.js'
import { decodeAgentData } from './payload.js'
import { decodeSmartAnswer } from './smart-payload.js'
import { applySmartAnswer } from './smart-records.js'
import { DEFAULT_SMART_INTERVAL_MS, SmartFetchLog, smartIntervalMs } from './smart-schedule.js'
import type { HubStore } from './store.js'

export const POLL_INTERVAL_MS = 60_000
export const REALTIME_INTERVAL_MS = 1_000

/** The requests a hub sends, over whatever carries them. */
export interface HubTransport {
  /** GetData with these DataRequestOptions */
  getData(options: Map<number, unknown>): Promise<AgentResponse>
  /** GetSmartData, waiting at most `timeoutMs` */
  getSmartData(timeoutMs: number): Promise<AgentResponse>
}

export interface PollerOptions {
  id: string
  store: HubStore
  logger: Logger
  transport: HubTransport
  /** the Beszel hub played (default DEFAULT_HUB_VERSION) */
  version?: HubVersion
  /** the hub's SMART attempts, shared by its connections (default: one for this poller) */
  smartLog?: SmartFetchLog
  /** a data request failed or timed out: a real hub drops the connection then */
  onFailure: (reason: string) => void
  intervalMs?: number
  realtimeMs?: number
}

/** What this connection's hub did and saw, for tests and the page. */
export interface PollerCounts {
  /** GetData requests sent with IncludeDetails = true */
  includeDetailsSent: number
  /** GetData answers that carried Details (key 4) */
  detailsReplies: number
  smartRequests: number
  /** GetSmartData answers that carried key 8 */
  smartCompleteReplies: number
}

export class Poller {
  readonly rules: HubRules
  readonly counts: PollerCounts = { includeDetailsSent: 0, detailsReplies: 0, smartRequests: 0, smartCompleteReplies: 0 }
  private regular: NodeJS.Timeout | undefined
  private realtime: NodeJS.Timeout | undefined
  private realtimeBusy = false
  private stopped = false
  private readonly unwatch: () => void
  private readonly smartLog: SmartFetchLog
  /** 60 s polls run one after another, as the hub's update lock makes them */
  private regularChain: Promise<void> = Promise.resolve()
  private smartFetch: Promise<void> | undefined
  private fetched = false
  private wroteData = false
  private smartEveryMs = 0

  constructor(private readonly options: PollerOptions) {
    this.rules = hubRules(options.version ?? DEFAULT_HUB_VERSION)
    this.smartLog = options.smartLog ?? new SmartFetchLog()
    this.unwatch = options.store.onWatch((id, watched) => {
      if (id === options.id) this.setRealtime(watched)
    })
  }

  /** Details were stored on this connection (a 0.18.8 hub stops asking for them). */
  get detailsFetched(): boolean {
    return this.fetched
  }

  start(): void {
    this.smartLog.connected(this.options.id)
    void this.poll(REGULAR_CACHE_MS)
    this.regular = setInterval(() => void this.poll(REGULAR_CACHE_MS), this.options.intervalMs ?? POLL_INTERVAL_MS)
    this.setRealtime(this.options.store.isWatched(this.options.id))
  }

  stop(): void {
    this.stopped = true
    this.unwatch()
    clearInterval(this.regular)
    clearInterval(this.realtime)
    this.realtime = undefined
  }

  get realtimeActive(): boolean {
    return this.realtime !== undefined
  }

  /** Resolves once the 60 s polls asked so far and a SMART fetch they started are done. */
  async settled(): Promise<void> {
    await this.regularChain
    await this.smartFetch
  }

  /** One poll now (tests; the timers call it too): 60 s polls queue behind each other. */
  poll(cacheTimeMs: number): Promise<void> {
    if (cacheTimeMs !== REGULAR_CACHE_MS) return this.pollOnce(cacheTimeMs)
    this.regularChain = this.regularChain.then(() => this.pollOnce(cacheTimeMs))
    return this.regularChain
  }

  private setRealtime(on: boolean): void {
    if (this.stopped || on === (this.realtime !== undefined)) return
    if (!on) {
      clearInterval(this.realtime)
      this.realtime = undefined
      this.options.logger.debug('realtime polling stopped', { system: this.options.id })
      return
    }
    this.options.logger.debug('realtime polling started', { system: this.options.id })
    this.realtime = setInterval(() => {
      // one realtime request at a time: a slow agent must not pile them up
      if (this.realtimeBusy) return
      this.realtimeBusy = true
      void this.poll(1_000).finally(() => (this.realtimeBusy = false))
    }, this.options.realtimeMs ?? REALTIME_INTERVAL_MS)
  }

  private async pollOnce(cacheTimeMs: number): Promise<void> {
    if (this.stopped) return
    const { id, store, logger } = this.options
    const regular = cacheTimeMs === REGULAR_CACHE_MS
    const request = dataRequestOptions(this.rules, cacheTimeMs, this.fetched)
    if (request.get(1) === true) this.counts.includeDetailsSent++
    let response: AgentResponse
    try {
      response = await this.options.transport.getData(request)
    } catch (error) {
      if (this.stopped) return
      const reason = error instanceof Error ? error.message : String(error)
      logger.warn('GetData failed', { system: id, cacheTimeMs, reason })
      this.options.onFailure(reason)
      return
    }
    if (this.stopped) return
    if (response.error !== undefined) {
      logger.warn('the agent answered GetData with an error', { system: id, error: response.error })
      this.options.onFailure(response.error)
      return
    }
    const payload = response.fields.get(1)
    // the wording of a v0.18 hub for the same fault
    const decoded = payload === undefined ? { ok: false as const, message: 'no system data in response' } : decodeAgentData(payload)
    if (!decoded.ok) {
      logger.warn('the agent sent data the hub cannot read', { system: id, reason: decoded.message })
      this.options.onFailure(decoded.message)
      return
    }
    if (decoded.details) this.counts.detailsReplies++
    // a 0.17 hub does not know key 4; a 0.18.8 hub migrates 60 s answers only (realtime is forwarded as is)
    const migrated = this.rules.details && regular ? migrateDeprecatedFields(decoded.data, decoded.details, !this.fetched) : undefined
    store.addSample(id, { at: Date.now(), cacheTimeMs, data: decoded.data })
    if (migrated?.details) {
      store.setDetails(id, migrated.details, migrated.synthesized ? 'synthesized' : 'agent')
      this.fetched = true
      const every = smartIntervalMs(migrated.details.SmartInterval)
      if (every > 0) this.smartEveryMs = every
    }
    if (regular) this.afterDataWrite()
  }

  private afterDataWrite(): void {
    if (this.rules.smart === 'after-first-write') {
      if (this.wroteData) return
      this.wroteData = true
      this.startSmartFetch()
      return
    }
    if (!this.fetched || this.smartFetch) return
    if (this.smartLog.due(this.options.id, this.smartEveryMs || DEFAULT_SMART_INTERVAL_MS)) this.startSmartFetch()
  }

  private startSmartFetch(): void {
    const fetch = this.fetchSmart().finally(() => {
      if (this.smartFetch === fetch) this.smartFetch = undefined
    })
    this.smartFetch = fetch
  }

  private async fetchSmart(): Promise<void> {
    const { id, store, logger } = this.options
    const started = Date.now()
    this.counts.smartRequests++
    let response: AgentResponse
    try {
      response = await this.options.transport.getSmartData(this.rules.smartTimeoutMs)
    } catch (error) {
      this.smartLog.record(id, false, started)
      if (!this.stopped) logger.warn('GetSmartData failed', { system: id, reason: error instanceof Error ? error.message : String(error) })
      return
    }
    if (response.fields.has(8)) this.counts.smartCompleteReplies++
    const decoded = decodeSmartAnswer(response)
    if (!decoded.ok) {
      this.smartLog.record(id, false, started)
      logger.warn('the agent sent SMART data the hub cannot read', { system: id, reason: decoded.message })
      return
    }
    const { answer } = decoded
    if (answer.devices.size === 0) logger.debug('no SMART data in response', { system: id })
    store.setSmartDevices(id, applySmartAnswer(store.smartDevices(id), id, answer, this.rules.pruneSmart))
    this.smartLog.record(id, answer.devices.size > 0, started)
  }
}
