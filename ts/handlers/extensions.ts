/**
 * SONAR's host-control actions (6–13: commands, services, files). They are refused before their
 * Data is even looked at: nothing runs, nothing is read or written, until an issue enables them.
 */
import { actionName } from '../protocol/actions.js'
import { errorResult, type HandlerResult } from './handler.js'

export function refuseExtension(action: number): HandlerResult {
  return errorResult(`action ${action} (${actionName(action) ?? 'unknown'}) is not enabled on this agent`)
}
