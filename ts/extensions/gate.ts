/**
 * Every host-action request (6–13) passes here, in this order, and stops at the first refusal:
 *
 * 1. the route: served only on a WebSocket connection to SONAR's route; on Beszel's route an action
 *    ≥ 6 is an unknown action (Beszel's newer releases give 6 and 7 other meanings), over SSH it is
 *    refused;
 * 2. the signature (verify.ts): KEY, this agent's fingerprint, ±60 s, no replay;
 * 3. mutating actions (6, 9, 12, 13): refused over a plain ws:// to another host, and with READ_ONLY;
 * 4. the policy file (policy.ts): absent or unusable → refused, naming it;
 * 5. the parameters (wire.ts);
 * 6. the audit record "allowed" — if it cannot be written, nothing runs;
 * 7. the capability, which checks its own part of the policy; its outcome is audited too.
 *
 * Every decision, refusals included, is audited (a refusal that cannot be audited is still refused).
 */
import { createHash } from 'node:crypto'
import { Action, actionName } from '../protocol/actions.js'
import { errorResult, unknownAction, type HandlerResult } from '../handlers/handler.js'
import type { HubKey } from '../identity/keys.js'
import type { Logger } from '../log.js'
import type { AuditLog, AuditRecord } from './audit.js'
import type { PolicyState } from './policy.js'
import type { CommandParams, DeleteFileParams, ExtensionsPolicy, ListFilesParams, Outcome, ReadFileParams, ServiceActionParams, ServiceParams, WriteFileParams } from './types.js'
import { ReplayGuard, verifyActionRequest } from './verify.js'
import { decodeEnvelope, decodeParams, type ExtensionAction } from './wire.js'

/** The actions that change the host. */
export const MUTATING_ACTIONS: ReadonlySet<number> = new Set([Action.ExecuteCommand, Action.PerformServiceAction, Action.WriteFile, Action.DeleteFile])

/**
 * What each capability does with a checked request (commands.ts, services.ts, files.ts; wired in
 * capabilities.ts). `source` is the policy file: refusals name it.
 */
export interface Capabilities {
  executeCommand(commands: ExtensionsPolicy['commands'], params: CommandParams, source: string): Promise<Outcome>
  listServices(policy: ExtensionsPolicy['services'], source: string): Promise<Outcome>
  getServiceStatus(policy: ExtensionsPolicy['services'], params: ServiceParams, source: string): Promise<Outcome>
  performServiceAction(policy: ExtensionsPolicy['services'], params: ServiceActionParams, source: string): Promise<Outcome>
  listFiles(roots: ExtensionsPolicy['files'], params: ListFilesParams, source: string): Promise<Outcome>
  readFile(roots: ExtensionsPolicy['files'], params: ReadFileParams, source: string): Promise<Outcome>
  writeFile(roots: ExtensionsPolicy['files'], params: WriteFileParams, source: string): Promise<Outcome>
  deleteFile(roots: ExtensionsPolicy['files'], params: DeleteFileParams, source: string): Promise<Outcome>
}

/** The connection a request came on (the dispatcher's Session, as far as the gate needs it). */
export interface ActionSession {
  readonly transport: 'websocket' | 'ssh'
  readonly route?: 'sonar' | 'beszel'
  readonly plainRemote?: boolean
}

export interface HostActionsDeps {
  /** the current policy (policy.ts; reloaded by the caller when the file changes) */
  policy: () => PolicyState
  /** READ_ONLY=true or --read-only */
  readOnly: boolean
  audit: AuditLog
  keys: () => readonly HubKey[]
  fingerprint: () => string
  capabilities: Capabilities
  logger: Logger
  now?: () => number
}


/** A WebSocket that did not upgrade on SONAR's route: there, 6–13 are what a Beszel agent says of an unknown action. */
export function offSonarRoute(session: ActionSession): boolean {
  return session.transport === 'websocket' && session.route !== 'sonar'
}

export class HostActions {
  private readonly replay = new ReplayGuard()
  private readonly logger: Logger

  constructor(private readonly deps: HostActionsDeps) {
    this.logger = deps.logger.child('host-actions')
  }

  async handle(action: number, data: unknown, session: ActionSession, id?: number): Promise<HandlerResult> {
    if (offSonarRoute(session)) return unknownAction(action)
    const name = actionName(action) ?? `action ${action}`
    const base: Pick<AuditRecord, 'action' | 'name' | 'id'> = { action, name, ...(id === undefined ? {} : { id }) }
    const refuse = async (reason: string, extra: Partial<AuditRecord> = {}): Promise<HandlerResult> => {
      await this.record({ ...base, ...extra, decision: 'refused', reason }).catch((error: unknown) => this.auditFailed(error))
      this.logger.warn(`${name} refused: ${reason}`)
      return errorResult(reason)
    }
    if (session.transport === 'ssh') return refuse(`${name} is not served over SSH: host actions need the SONAR hub's WebSocket (HUB_URL)`)

    const decoded = decodeEnvelope(data)
    if (!decoded.ok) return refuse(decoded.message)
    const { envelope } = decoded
    const params = createHash('sha256').update(envelope.params).digest('hex')
    const now = (this.deps.now ?? Date.now)()
    const verdict = verifyActionRequest({ action, envelope, fingerprint: this.deps.fingerprint(), keys: this.deps.keys(), now, replay: this.replay })
    if (!verdict.ok) return refuse(verdict.message, { params })
    const signed = { params, key: verdict.key.comment || 'KEY' }

    if (MUTATING_ACTIONS.has(action)) {
      if (session.plainRemote) return refuse(`${name} is refused over a plain ws:// connection to another host, whatever is signed: use https:// in HUB_URL`, signed)
      if (this.deps.readOnly) return refuse(`${name} is refused: READ_ONLY=true (or --read-only) on this agent`, signed)
    }
    const state = this.deps.policy()
    if (state.kind === 'absent') return refuse(`${name} is not enabled: no host actions without a policy file (EXTENSIONS_FILE, ${state.path})`, signed)
    if (state.kind === 'refused') return refuse(`${name} is not enabled: the policy file ${state.path} is not used (${state.reason})`, signed)
    const decodedParams = decodeParams(action as ExtensionAction, envelope.params)
    if (!decodedParams.ok) return refuse(decodedParams.message, signed)

    try {
      await this.record({ ...base, ...signed, decision: 'allowed' })
    } catch (error) {
      this.auditFailed(error)
      return errorResult(`${name} was not run: the audit log ${this.deps.audit.path} cannot be written (${(error as Error).message}); fix it or set AUDIT_LOG`)
    }
    const started = now
    let outcome: Outcome
    try {
      outcome = await this.run(action as ExtensionAction, state.policy, decodedParams.params)
    } catch (error) {
      outcome = { ok: false, message: `${name} failed: ${(error as Error).message}` }
    }
    const durationMs = Math.max(0, (this.deps.now ?? Date.now)() - started)
    const detail = { ...signed, ...outcome.audit, durationMs }
    await this.record({ ...base, ...detail, decision: outcome.ok ? 'done' : 'failed', ...(outcome.ok ? {} : { reason: outcome.message }) }).catch((error: unknown) => this.auditFailed(error))
    if (!outcome.ok) return errorResult(outcome.message)
    this.logger.info(`${name} done`, { durationMs, ...(outcome.audit ?? {}) })
    return { body: { kind: 'result', value: outcome.result } }
  }

  private run(action: ExtensionAction, policy: ExtensionsPolicy, params: unknown): Promise<Outcome> {
    const c = this.deps.capabilities
    const { source } = policy
    switch (action) {
      case 6:
        return c.executeCommand(policy.commands, params as CommandParams, source)
      case 7:
        return c.listServices(policy.services, source)
      case 8:
        return c.getServiceStatus(policy.services, params as ServiceParams, source)
      case 9:
        return c.performServiceAction(policy.services, params as ServiceActionParams, source)
      case 10:
        return c.listFiles(policy.files, params as ListFilesParams, source)
      case 11:
        return c.readFile(policy.files, params as ReadFileParams, source)
      case 12:
        return c.writeFile(policy.files, params as WriteFileParams, source)
      case 13:
        return c.deleteFile(policy.files, params as DeleteFileParams, source)
    }
  }

  private record(record: Omit<AuditRecord, 'time'>): Promise<void> {
    return this.deps.audit.append({ time: new Date((this.deps.now ?? Date.now)()).toISOString(), ...record })
  }

  private auditFailed(error: unknown): void {
    this.logger.error(`audit log ${this.deps.audit.path} cannot be written: ${error instanceof Error ? error.message : String(error)}`)
  }
}
