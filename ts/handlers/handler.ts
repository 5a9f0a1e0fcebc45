/** What every action handler returns to the dispatcher: a payload, and whether to drop the connection. */
import type { ResponseBody } from '../protocol/envelope.js'

export interface HandlerResult {
  body: ResponseBody
  /** set when the connection must end after the answer (bad hub signature) */
  close?: { reason: string }
}

export function errorResult(message: string, close?: { reason: string }): HandlerResult {
  return close ? { body: { kind: 'error', message }, close } : { body: { kind: 'error', message } }
}

/** What Beszel's agent answers for an action it does not know (also SONAR's 6–13 on Beszel's route). */
export function unknownAction(action: number): HandlerResult {
  return errorResult(`unknown action: ${action}`)
}
