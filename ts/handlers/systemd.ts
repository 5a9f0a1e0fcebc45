/**
 * GetSystemdInfo: the native core asks systemd over D-Bus (off the JS thread, within 4.5 s) and
 * encodes the unit's property map; it is passed on as those bytes under key 6.
 */
import type { SystemdRequest } from '../protocol/actions.js'
import { errorResult, type HandlerResult } from './handler.js'

export interface SystemdSource {
  /** CBOR map of the unit's properties; rejects with a code (see index.d.ts systemdInfo) */
  info(serviceName: string): Promise<Buffer>
}

export async function handleGetSystemdInfo(request: SystemdRequest, systemd: SystemdSource | undefined): Promise<HandlerResult> {
  if (!systemd) return errorResult('unsupported operation: systemd monitoring is off (SKIP_SYSTEMD=true)')
  try {
    return { body: { kind: 'serviceRaw', cbor: await systemd.info(request.serviceName) } }
  } catch (error) {
    const code = (error as { code?: unknown }).code
    const message = error instanceof Error ? error.message : String(error)
    // The Go agent answers "unsupported operation" where there is no systemd to ask.
    if (code === 'ERR_SONAR_SYSTEMD_UNAVAILABLE') return errorResult(`unsupported operation: ${message}`)
    if (code === 'ERR_SONAR_SYSTEMD_NAME' || code === 'ERR_SONAR_SYSTEMD') return errorResult(message)
    throw error
  }
}
