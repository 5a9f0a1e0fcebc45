/**
 * The JSON the dev hub's web API sends, shared by the server (server.ts, events.ts) and the page
 * (page/). Type-only: the page imports nothing from Node.
 */
import type { StoredDetails, HubSample, SystemSummary } from '../store.js'
import type { SmartDeviceRecord } from '../smart-records.js'

export type { HubSample, ServiceJson, StoredDetails, SystemSummary } from '../store.js'
export type { DetailsJson } from '../details.js'

/** A smart_devices record as the page shows it (attributes left out: the table does not list them). */
export type SmartDeviceView = Omit<SmartDeviceRecord, 'attributes'> & { attributeCount: number }

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
  /** the system_details record (0.18.8 hub), null when none was stored */
  details: StoredDetails | null
  /** the smart_devices records, by name */
  smart: SmartDeviceView[]
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
