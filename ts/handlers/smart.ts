/**
 * GetSmartData: the native core runs smartctl off the JS thread, keeps the results in memory and
 * answers with the CBOR map keyed by serial (plus eMMC and Linux md arrays); it is passed on as
 * those bytes. A v0.18 hub also gets key 8 `SmartComplete` when the refresh behind the map read
 * every device (spec v0.18 §4): it then deletes the drives missing from the map. A v0.17 hub
 * never sees key 8.
 */
import type { SmartAnswer } from '../../index.js'
import type { HubDialect } from '../protocol/actions.js'
import { errorResult, type HandlerResult } from './handler.js'

export interface SmartSource {
  /** CBOR `map[string]SmartData` (possibly empty) and whether its refresh was complete */
  data(): Promise<SmartAnswer>
}

export async function handleGetSmartData(smart: SmartSource | undefined, dialect: HubDialect | undefined): Promise<HandlerResult> {
  if (!smart) return errorResult('SMART monitoring is disabled (SMART_DEVICES is set but empty)')
  const { cbor, complete } = await smart.data()
  return { body: { kind: 'smartRaw', cbor, complete: complete && dialect === 'v0.18' } }
}
