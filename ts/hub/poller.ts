/**
 * Polls one connected system as a hub does (spec §1 step 6–7, §2.11): GetData(60000) at once and
 * every 60 s, and GetData(1000) every second while a page watches the system. The transport (a
 * WebSocket session or an SSH dial) only supplies `getData`.
 */
import type { AgentResponse } from '../protocol/envelope.js'
import type { Logger } from '../log.js'
import { decodeCombinedData } from './payload.js'
import type { HubStore } from './store.js'

export const POLL_INTERVAL_MS = 60_000
export const REALTIME_INTERVAL_MS = 1_000

export interface PollerOptions {
  id: string
  store: HubStore
  logger: Logger
  getData: (cacheTimeMs: number) => Promise<AgentResponse>
  /** a request failed or timed out: a real hub drops the connection then */
  onFailure: (reason: string) => void
  intervalMs?: number
  realtimeMs?: number
}

export class Poller {
  private regular: NodeJS.Timeout | undefined
  private realtime: NodeJS.Timeout | undefined
  private realtimeBusy = false
  private stopped = false
  private readonly unwatch: () => void

  constructor(private readonly options: PollerOptions) {
    this.unwatch = options.store.onWatch((id, watched) => {
      if (id === options.id) this.setRealtime(watched)
    })
  }

  start(): void {
    void this.poll(60_000)
    this.regular = setInterval(() => void this.poll(60_000), this.options.intervalMs ?? POLL_INTERVAL_MS)
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

  private async poll(cacheTimeMs: number): Promise<void> {
    const { id, store, logger } = this.options
    let response: AgentResponse
    try {
      response = await this.options.getData(cacheTimeMs)
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
    const decoded = payload === undefined ? { ok: false as const, message: 'no system data in response' } : decodeCombinedData(payload)
    if (!decoded.ok) {
      logger.warn('the agent sent data the hub cannot read', { system: id, reason: decoded.message })
      this.options.onFailure(decoded.message)
      return
    }
    store.addSample(id, { at: Date.now(), cacheTimeMs, data: decoded.data })
  }
}
