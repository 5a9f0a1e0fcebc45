/**
 * GetSmartData: the native core runs smartctl off the JS thread, keeps the results in memory and
 * answers with the CBOR map keyed by serial (plus Linux md arrays); it is passed on as those bytes.
 */
import { errorResult, type HandlerResult } from './handler.js'

export interface SmartSource {
  /** CBOR `map[string]SmartData`, possibly empty */
  data(): Promise<Buffer>
}

export async function handleGetSmartData(smart: SmartSource | undefined): Promise<HandlerResult> {
  if (!smart) return errorResult('SMART monitoring is disabled (SMART_DEVICES is set but empty)')
  return { body: { kind: 'smartRaw', cbor: await smart.data() } }
}
