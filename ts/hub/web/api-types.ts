/**
 * The JSON the dev hub's web API sends, shared by the server (server.ts, events.ts) and the page
 * (page/). Type-only: the page imports nothing from Node.
 */
import type { StoredDetails, HubSample, SystemSummary } from '../store.js'
import type { SmartDeviceRecord } from '../smart-records.js'
import type { ServiceAction } from '../../extensions/types.js'

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
  /** whether the Actions panel can ask this system anything, and if not why */
  actions: ActionAvailability
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

// ---- host actions (POST /api/systems/:id/actions, docs/extensions.md) ----

/** Actions go only to a SONAR agent connected on /api/sonar/agent-connect; otherwise the reason. */
export type ActionAvailability = { available: true } | { available: false; reason: string }

/**
 * The page's request body. The hub turns it into the action's params map, signs it with its key and
 * sends it; WriteFile and DeleteFile are not offered by this page.
 */
export type ActionRequestJson =
  | { action: 'ExecuteCommand'; id: string; args?: Record<string, string> }
  | { action: 'ListServices' }
  | { action: 'GetServiceStatus'; unit: string }
  | { action: 'PerformServiceAction'; unit: string; serviceAction: ServiceAction }
  | { action: 'ListFiles'; root: string; path?: string }
  | { action: 'ReadFile'; root: string; path: string; offset?: number; length?: number }

export type ActionName = ActionRequestJson['action']

/** A byte string of an answer: always base64, and the text too where the bytes are valid UTF-8. */
export interface BytesJson {
  base64: string
  text?: string
  length: number
}

export interface ServiceUnitJson {
  unit: string
  loadState: string
  activeState: string
  subState: string
  description: string
  /** matches the policy's `manage` list: the page offers actions on it */
  manageable: boolean
}

export interface FileEntryJson {
  name: string
  kind: 'file' | 'directory' | 'symlink' | 'other'
  size: number
  /** mode & 0o7777 */
  mode: number
  mtimeMs: number
}

/** Key 7 of the agent's answer, named (issue 11's result maps). */
export type ActionResultJson =
  | { action: 'ExecuteCommand'; exitStatus: number; signal: string; stdout: BytesJson; stderr: BytesJson; truncated: boolean; timedOut: boolean; durationMs: number }
  | { action: 'ListServices'; units: ServiceUnitJson[] }
  | {
      action: 'GetServiceStatus'
      unit: string
      loadState: string
      activeState: string
      subState: string
      description: string
      unitFileState: string
      mainPid: number
      /** µs since the epoch (0: never active) */
      activeEnterUs: number
      manageable: boolean
    }
  | { action: 'PerformServiceAction'; unit: string; serviceAction: string; job: string; activeState: string }
  | { action: 'ListFiles'; entries: FileEntryJson[]; truncated: boolean }
  | { action: 'ReadFile'; data: BytesJson; size: number; eof: boolean; sha256?: string }

/** What the signed request carried (shown on the page; the signature covers these). */
export interface SignedJson {
  action: number
  nonce: string
  timestampMs: number
}

/** 200 from POST /api/systems/:id/actions: the agent's answer, a result (key 7) or a refusal (key 3). */
export type ActionAnswerJson =
  | { outcome: 'done'; result: ActionResultJson; signed: SignedJson; tookMs: number }
  | { outcome: 'refused'; message: string; signed: SignedJson; tookMs: number }
