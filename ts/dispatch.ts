/**
 * One hub request in, at most one answer out: decode, verification gate, action → handler, and an
 * error answer (`{0: id, 3: message}`) wherever the Go agent would stay silent and let the hub wait
 * 5 s. `handle` never rejects and knows nothing of sockets beyond the Session it is given.
 *
 * Callers may run several `handle` calls at once (a slow handler must not hold up GetData); a
 * CheckFingerprint takes effect before `handle` returns its promise, so requests that follow it on
 * the same connection see the session verified.
 */
import { handleContainerInfo, handleContainerLogs, type ContainerActions } from './handlers/containers.js'
import { handleGetData, type ContainerSource, type DataCollector } from './handlers/data.js'
import { offSonarRoute, type HostActions } from './extensions/gate.js'
import { refuseExtension } from './handlers/extensions.js'
import { UNSUPPORTED_OVER_SSH, handleCheckFingerprint, type FingerprintDeps, type FingerprintSources, type VerifySignature } from './handlers/fingerprint.js'
import { errorResult, unknownAction, type HandlerResult } from './handlers/handler.js'
import { handleGetSmartData, type SmartSource } from './handlers/smart.js'
import { handleGetSystemdInfo, type SystemdSource } from './handlers/systemd.js'
import { verifyHubSignature } from './identity/keys.js'
import type { HubFlavor } from './transport/hub-url.js'
import type { Logger } from './log.js'
import { Action, actionName, dialectOf, type HubDialect, isExtensionAction, isKnownAction, parseActionData } from './protocol/actions.js'
import { ProtocolError, decodeRequest, encodeLegacyPayload, encodeResponse, type HubRequest } from './protocol/envelope.js'

export interface Session {
  readonly transport: 'websocket' | 'ssh'
  /** true once CheckFingerprint verified on THIS connection (always true for ssh: auth proved the key) */
  verified: boolean
  /** the nonce this connection sent with its upgrade (SONAR route, docs/extensions.md); the hub may sign it */
  readonly hubNonce?: Uint8Array
  /** the hub generation, set by every GetData on this connection (protocol/actions.ts) */
  dialect?: HubDialect
  /** the WebSocket route this connection upgraded on; host actions (6–13) exist on SONAR's only */
  readonly route?: HubFlavor
  /** a `ws:` connection to a host that is not this machine: host actions that change it are refused */
  readonly plainRemote?: boolean
}

export interface DispatchResult {
  /** the frame to send back; absent when nothing may be sent (see `handle`) */
  reply?: Buffer
  /** the connection must end once `reply` is sent: the hub failed to prove its key */
  close?: { reason: string }
}

export interface DispatcherDeps extends FingerprintSources {
  collector: DataCollector
  /** the container engines (GetData key 2, logs, inspect); absent: DOCKER_HOST set but empty */
  containers?: ContainerSource & ContainerActions
  /** S.M.A.R.T. data from the native core; absent: SMART_DEVICES set but empty */
  smart?: SmartSource
  /** GetSystemdInfo; undefined when SKIP_SYSTEMD=true */
  systemd?: SystemdSource
  logger: Logger
  /** SONAR's host actions (6–13); absent: each is refused, nothing is looked at */
  hostActions?: HostActions
  /** signature check; defaults to identity/keys.ts verifyHubSignature (tests inject their own) */
  verify?: VerifySignature
}

export const NOT_VERIFIED = 'hub not verified: send CheckFingerprint first'

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))

export class Dispatcher {
  private readonly logger: Logger

  constructor(readonly deps: DispatcherDeps) {
    this.logger = deps.logger.child('dispatch')
  }

  /**
   * Answers one frame. A request with an id is always answered with that id in key 0; over SSH
   * (no ids) the answer has no key 0. A WebSocket frame too broken to yield an id gets no answer
   * at all: the hub matches answers by id, so an id-less one could only be mistaken for the answer
   * to its oldest pending request, and a v0.17 hub dereferences the missing id and crashes (spec
   * §2.10). The hub's own 5 s timeout covers that request instead.
   */
  async handle(frame: Uint8Array, session: Session): Promise<DispatchResult> {
    let request: HubRequest
    try {
      request = decodeRequest(frame)
    } catch (error) {
      return this.malformed(error, session)
    }
    const fields = { action: request.action, id: request.id, transport: session.transport }
    this.logger.debug('request', fields)
    try {
      const result = await this.route(request, session)
      if (result.body.kind === 'error') this.logger.warn(`request refused: ${result.body.message}`, fields)
      return this.answer(request, session, result)
    } catch (error) {
      this.logger.error(`${actionName(request.action) ?? 'request'} failed: ${describe(error)}`, fields)
      return this.answer(request, session, errorResult(`${actionName(request.action) ?? 'request'} failed: ${describe(error)}`))
    }
  }

  /** Everything up to the handler's first await runs synchronously (see the class comment). */
  private route(request: HubRequest, session: Session): HandlerResult | Promise<HandlerResult> {
    const { action } = request
    if (action !== Action.CheckFingerprint && !session.verified) return errorResult(NOT_VERIFIED)
    if (!isKnownAction(action)) return unknownAction(action)
    if (isExtensionAction(action)) {
      // the gate decides (the route first); without one, SONAR's numbers are refused unread, and
      // on Beszel's route (whose newer releases give 6 and 7 other meanings) they are unknown
      if (this.deps.hostActions) return this.deps.hostActions.handle(action, request.data, session, request.id)
      return offSonarRoute(session) ? unknownAction(action) : refuseExtension(action)
    }
    switch (action) {
      case Action.GetData: {
        const parsed = parseActionData(action, request.data)
        if (!parsed.ok) return errorResult(parsed.message)
        session.dialect = dialectOf(parsed.data)
        return handleGetData(parsed.data, this.deps.collector, this.deps.containers)
      }
      case Action.CheckFingerprint: {
        if (session.transport === 'ssh') return errorResult(UNSUPPORTED_OVER_SSH)
        const parsed = parseActionData(action, request.data)
        return parsed.ok ? handleCheckFingerprint(parsed.data, session, this.fingerprintDeps()) : errorResult(parsed.message)
      }
      case Action.GetContainerLogs: {
        const parsed = parseActionData(action, request.data)
        return parsed.ok ? handleContainerLogs(parsed.data, this.deps.containers) : errorResult(parsed.message)
      }
      case Action.GetContainerInfo: {
        const parsed = parseActionData(action, request.data)
        return parsed.ok ? handleContainerInfo(parsed.data, this.deps.containers) : errorResult(parsed.message)
      }
      case Action.GetSmartData: {
        const parsed = parseActionData(action, request.data)
        return parsed.ok ? handleGetSmartData(this.deps.smart, session.dialect) : errorResult(parsed.message)
      }
      case Action.GetSystemdInfo: {
        const parsed = parseActionData(action, request.data)
        return parsed.ok ? handleGetSystemdInfo(parsed.data, this.deps.systemd) : errorResult(parsed.message)
      }
      default:
        return unknownAction(action)
    }
  }

  private fingerprintDeps(): FingerprintDeps {
    const { deps } = this
    return {
      keys: deps.keys,
      token: deps.token,
      fingerprint: deps.fingerprint,
      hostname: deps.hostname,
      listenPort: deps.listenPort,
      systemName: deps.systemName,
      verify: deps.verify ?? verifyHubSignature,
      logger: this.logger,
      onVerified: deps.onVerified,
      requireHubNonce: deps.requireHubNonce,
    }
  }

  private answer(request: HubRequest, session: Session, result: HandlerResult): DispatchResult {
    const close = result.close ? { close: result.close } : {}
    try {
      if (request.id !== undefined || session.transport === 'ssh') {
        return { reply: encodeResponse(request.id, result.body), ...close }
      }
      // A WebSocket request without an id comes from a pre-0.13 hub, which reads bare payloads.
      const legacy = encodeLegacyPayload(result.body)
      if (!legacy) this.logger.warn('no answer: a request without id gets only bare data or fingerprint payloads', { action: request.action })
      return legacy ? { reply: legacy, ...close } : close
    } catch (error) {
      this.logger.error(`answer could not be encoded: ${describe(error)}`, { action: request.action, id: request.id })
      const fallback = { kind: 'error', message: `answer could not be encoded: ${describe(error)}` } as const
      return request.id !== undefined || session.transport === 'ssh' ? { reply: encodeResponse(request.id, fallback), ...close } : close
    }
  }

  private malformed(error: unknown, session: Session): DispatchResult {
    const message = `invalid request: ${describe(error)}`
    const id = error instanceof ProtocolError ? error.id : undefined
    this.logger.warn(message, { id, transport: session.transport })
    if (id !== undefined || session.transport === 'ssh') return { reply: encodeResponse(id, { kind: 'error', message }) }
    return {}
  }
}
