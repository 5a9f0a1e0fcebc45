/** GetContainerLogs and GetContainerInfo: answered under key 4 (a string), errors under key 3. */
import { NoSuchContainer, describeError } from '../containers/engine.js'
import type { ContainerRequest } from '../protocol/actions.js'
import { errorResult, type HandlerResult } from './handler.js'

export interface ContainerActions {
  logs(id: string): Promise<string>
  info(id: string): Promise<string>
}

const DISABLED = 'container monitoring is disabled on this agent (DOCKER_HOST is set but empty)'

async function answer(what: string, request: () => Promise<string>): Promise<HandlerResult> {
  try {
    return { body: { kind: 'string', text: await request() } }
  } catch (error) {
    return errorResult(error instanceof NoSuchContainer ? error.message : `${what}: ${describeError(error)}`)
  }
}

/** `request.containerId` was validated (12–64 hex digits) by the action schema before this point. */
export function handleContainerLogs(request: ContainerRequest, actions: ContainerActions | undefined): HandlerResult | Promise<HandlerResult> {
  if (!actions) return errorResult(DISABLED)
  return answer('container logs', () => actions.logs(request.containerId))
}

export function handleContainerInfo(request: ContainerRequest, actions: ContainerActions | undefined): HandlerResult | Promise<HandlerResult> {
  if (!actions) return errorResult(DISABLED)
  return answer('container info', () => actions.info(request.containerId))
}
