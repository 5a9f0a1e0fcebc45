/** systemd: recognised and validated, answered "not available" until its collector lands. */
import { Action } from '../protocol/actions.js'
import { errorResult, type HandlerResult } from './handler.js'

const WHAT: Partial<Record<number, string>> = {
  [Action.GetSystemdInfo]: 'systemd service info is',
}

export function handleUnavailable(action: number): HandlerResult {
  return errorResult(`${WHAT[action] ?? `action ${action} is`} not available in this agent version`)
}
