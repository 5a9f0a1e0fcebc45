/**
 * The dev hub's host actions for the page: which systems can be asked (a SONAR agent connected on
 * /api/sonar/agent-connect; never one on Beszel's route, where 6–13 do not exist, nor over SSH,
 * where the agent refuses them), and one request's round trip: sign with the hub's key for that
 * agent's fingerprint, send on its connection, wait for the answer or the timeout.
 */
import type { KeyObject } from 'node:crypto'
import type { Logger } from '../../log.js'
import type { SystemSummary } from '../store.js'
import type { ActionAnswerJson, ActionAvailability, ActionRequestJson } from '../web/api-types.js'
import type { AgentSession } from '../ws-session.js'
import { RequestTimeoutError } from '../requests.js'
import { AnswerError, readAnswer } from './answer.js'
import { actionParams, signAction } from './request.js'

/** What the web side needs from the hub to offer actions. */
export interface ActionPort {
  availability(system: SystemSummary): ActionAvailability
  perform(systemId: string, request: ActionRequestJson): Promise<ActionAnswerJson>
}

/** The system cannot be asked now (HTTP 409): the message says why. */
export class ActionUnavailableError extends Error {
  override readonly name = 'ActionUnavailableError'
}

/** The agent did not answer in time (HTTP 504). */
export class ActionTimeoutError extends Error {
  override readonly name = 'ActionTimeoutError'
}

export { AnswerError }

/**
 * How long the hub waits: a command runs for as long as its policy allows, a service job up to
 * 30 s on the agent (issue 11); the rest is one read.
 */
export const ACTION_TIMEOUT_MS: Readonly<Record<ActionRequestJson['action'], number>> = {
  ExecuteCommand: 120_000,
  PerformServiceAction: 40_000,
  ListServices: 15_000,
  GetServiceStatus: 15_000,
  ListFiles: 15_000,
  ReadFile: 15_000,
}

const SONAR_ROUTE = '/api/sonar/agent-connect'

export function actionAvailability(system: SystemSummary): ActionAvailability {
  if (system.transport === 'ssh') {
    return { available: false, reason: `${system.address} is reached over SSH, where the agent refuses host actions: connect it over WebSocket (HUB_URL) to ${SONAR_ROUTE}` }
  }
  if (system.route !== 'sonar') {
    return {
      available: false,
      reason: `this agent connected on Beszel's route (/api/beszel/agent-connect), where actions 6–13 do not exist; a SONAR agent connects on ${SONAR_ROUTE}`,
    }
  }
  if (!system.connected) return { available: false, reason: 'the agent is not connected' }
  return { available: true }
}

export interface HubActionsOptions {
  signingKey: KeyObject
  /** the verified WebSocket sessions */
  sessions: () => readonly AgentSession[]
  logger: Logger
  /** one wait for every action (tests); default ACTION_TIMEOUT_MS */
  timeoutMs?: number
}

export class HubActions implements ActionPort {
  constructor(private readonly options: HubActionsOptions) {}

  availability(system: SystemSummary): ActionAvailability {
    return actionAvailability(system)
  }

  async perform(systemId: string, request: ActionRequestJson): Promise<ActionAnswerJson> {
    const session = this.options.sessions().find((s) => s.id === systemId && s.open)
    if (!session || session.id === undefined) throw new ActionUnavailableError('the agent is not connected')
    if (session.route !== SONAR_ROUTE) throw new ActionUnavailableError(`this agent connected on ${session.route}; host actions go only to ${SONAR_ROUTE}`)
    const signed = signAction(this.options.signingKey, session.id, actionParams(request))
    const timeoutMs = this.options.timeoutMs ?? ACTION_TIMEOUT_MS[request.action]
    const started = Date.now()
    let reply
    try {
      reply = await session.requests.request(signed.action, signed.envelope, { timeoutMs })
    } catch (error) {
      if (error instanceof RequestTimeoutError) throw new ActionTimeoutError(`the agent did not answer ${request.action} within ${timeoutMs / 1000} s`)
      throw new ActionUnavailableError(error instanceof Error ? error.message : String(error))
    }
    const tookMs = Date.now() - started
    const signedJson = { action: signed.action, nonce: signed.nonce.toString('hex'), timestampMs: signed.timestampMs }
    const outcome = readAnswer(signed.action, reply.response)
    this.options.logger.info('host action', {
      system: systemId,
      action: request.action,
      outcome: outcome.outcome,
      ...(outcome.outcome === 'refused' ? { message: outcome.message } : {}),
      tookMs,
    })
    return { ...outcome, signed: signedJson, tookMs }
  }
}
