/**
 * The running agent's host actions: EXTENSIONS_FILE, READ_ONLY and AUDIT_LOG from the configuration,
 * the policy re-read when its file changes (and checked again each time: an owner or mode changed
 * since start refuses it from then on), the audit log, and the gate.
 */
import { statSync } from 'node:fs'
import { join } from 'node:path'
import type { AgentConfig } from '../config/config.js'
import type { HubKey } from '../identity/keys.js'
import type { Logger } from '../log.js'
import { AuditLog } from './audit.js'
import { hostCapabilities } from './capabilities.js'
import { HostActions, type Capabilities } from './gate.js'
import { DEFAULT_EXTENSIONS_FILE, describePolicy, loadPolicy, type PolicyDeps, type PolicyState } from './policy.js'

export const AUDIT_FILE = 'audit.jsonl'

export interface HostActionsOptions {
  config: Pick<AgentConfig, 'value' | 'configFile'>
  keys: () => readonly HubKey[]
  fingerprint: () => string
  /** the resolved data directory: the audit log's default home */
  dataDir: string | undefined
  /** default: the real ones (capabilities.ts), given the paths no file root may serve */
  capabilities?: Capabilities | ((protect: readonly string[]) => Capabilities)
  parseDuration: PolicyDeps['parseDuration']
  logger: Logger
}

/** The policy, re-read whenever the file's identity, size or mtime changes. */
class PolicyFile {
  private state: PolicyState
  private stamp: string

  constructor(
    private readonly path: string,
    private readonly deps: PolicyDeps,
    private readonly logger: Logger,
  ) {
    this.stamp = this.currentStamp()
    this.state = loadPolicy(path, deps)
    this.log()
  }

  current(): PolicyState {
    const stamp = this.currentStamp()
    // every use checks ownership and modes again only when something changed: cheap, and a file
    // made world-writable later is noticed at its next change of mode (ctime)
    if (stamp !== this.stamp) {
      this.stamp = stamp
      this.state = loadPolicy(this.path, this.deps)
      this.log()
    }
    return this.state
  }

  private currentStamp(): string {
    try {
      const st = statSync(this.path)
      return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`
    } catch {
      return 'absent'
    }
  }

  private log(): void {
    const line = describePolicy(this.state)
    if (this.state.kind === 'refused') this.logger.error(line)
    else this.logger.info(line)
  }
}

export function createHostActions(options: HostActionsOptions): HostActions {
  const { config, logger } = options
  const log = logger.child('host-actions')
  const path = (config.value('EXTENSIONS_FILE') as string | undefined) ?? DEFAULT_EXTENSIONS_FILE
  const readOnly = config.value('READ_ONLY') === true
  const auditPath = (config.value('AUDIT_LOG') as string | undefined) ?? join(options.dataDir ?? '.', AUDIT_FILE)
  const policy = new PolicyFile(path, { uid: process.getuid?.() ?? 0, parseDuration: options.parseDuration }, log)
  if (readOnly) log.info('READ_ONLY=true: commands, service actions, file writes and deletes are refused')
  // what a file root may never serve, besides the core's deny list and the standard places
  const protect = [path, auditPath, ...(options.dataDir ? [options.dataDir] : []), ...(config.configFile ? [config.configFile] : [])]
  const given = options.capabilities ?? hostCapabilities
  const capabilities = typeof given === 'function' ? given(protect) : given
  return new HostActions({
    policy: () => policy.current(),
    readOnly,
    audit: new AuditLog(auditPath),
    keys: options.keys,
    fingerprint: options.fingerprint,
    capabilities,
    logger,
  })
}
