/**
 * The JSON the dev hub's web API sends, shared by the server (server.ts, events.ts) and the page
 * (page/). Type-only: the page imports nothing from Node.
 */
import type { HubSample, SystemSummary } from '../store.js'

export type { HubSample, ServiceJson, SystemSummary } from '../store.js'

/** A few headline numbers of a system's latest sample, for the list of systems. */
export interface SystemHeadline {
  at: number
  /** % */ cpu: number
  /** % */ mp: number
  /** % */ dp: number
}

/** An item of GET /api/systems (and of the SSE `systems` event). */
export interface SystemView extends SystemSummary {
  latest: SystemHeadline | null
  /** the page is asking the hub for 1 s samples of this system */
  watched: boolean
}

/** GET /api/systems/:id/history */
export interface HistoryResponse {
  id: string
  samples: HubSample[]
}

/** SSE events on /api/events: `systems` (data: SystemView[]), `sample` (data: SampleEvent, only for the watched system). */
export interface SampleEvent {
  id: string
  sample: HubSample
}

export interface ApiError {
  error: string
}
