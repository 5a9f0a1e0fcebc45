/**
 * Host actions 7–9: the systemd units the host's policy shows (services.list) and lets a hub act
 * on (services.manage × services.actions), through the native core's D-Bus client (never
 * `systemctl`), off the JS thread. Patterns are Go `path.Match` globs matched by the core's one
 * matcher (globMatch). The agent's user is unprivileged, so systemd asks polkit about every action:
 * the polkit rule (packaging/polkit/, docs/extensions-services.md) must allow the same units.
 */
import { userInfo } from 'node:os'
import { loadNative, type NativeBinding } from '../native.js'
import { POLKIT_RULE_FILE } from './polkit-rule.js'
import { unitName, unitPattern } from './unit-names.js'
import { refused, type Outcome, type ServiceAction, type ServiceActionParams, type ServiceParams, type ServicePolicy } from './types.js'
import { DEFAULT_EXTENSIONS_FILE } from './policy.js'

type Native = Pick<NativeBinding, 'globMatch' | 'serviceList' | 'serviceStatus' | 'serviceAction'>

/** Where a refusal points the administrator. */
const POLICY_FILE = `the extensions policy (EXTENSIONS_FILE, ${DEFAULT_EXTENSIONS_FILE})`
const DOCS = 'docs/extensions-services.md'

function matches(native: Native, patterns: readonly string[], unit: string): boolean {
  return patterns.some((p) => native.globMatch(p, unit) === true)
}

function patternsOf(entries: readonly string[]): string[] {
  return entries.map(unitPattern)
}

/** The agent's user for messages ("sonar-agent"); the uid where no passwd entry names it. */
function agentUser(): string {
  try {
    return userInfo().username
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`
  }
}

/** A rejection from the binding → the refusal the hub reads (key 3), naming what would allow it. */
function failure(error: unknown, what: string, action?: ServiceAction): Outcome {
  const code = (error as { code?: unknown }).code
  const message = error instanceof Error ? error.message : String(error)
  switch (code) {
    case 'ERR_SONAR_SERVICE_DENIED': {
      const files = action === 'enable' || action === 'disable'
      return refused(
        `polkit refused to let user ${agentUser()} ${what}: ${message.replace(/\.$/, '')}. ` +
          `Install the polkit rule ${POLKIT_RULE_FILE} (packaging/polkit/50-sonar-agent.rules) listing the same units and actions as services.manage and services.actions` +
          (files ? ', with the unit-file grant (manage-unit-files and reload-daemon, which polkit cannot limit to units)' : '') +
          ` — see ${DOCS}`,
      )
    }
    case 'ERR_SONAR_SERVICE_NOT_ALLOWED':
      return refused(`${message} by services.${action ? 'manage' : 'list'} of ${POLICY_FILE}; list the unit's own name there (and in the polkit rule)`)
    case 'ERR_SONAR_SERVICE_NAME':
    case 'ERR_SONAR_SERVICE_NOT_LOADED':
      return refused(message)
    case 'ERR_SONAR_SYSTEMD_UNAVAILABLE':
      return refused(`systemd cannot be reached: ${message} (DBUS_SYSTEM_BUS_ADDRESS)`)
    case 'ERR_SONAR_SYSTEMD':
      return refused(`systemd could not ${what}: ${message}`)
    default:
      throw error
  }
}

/** 7 ListServices: {0: [{0: name, 1: load, 2: active, 3: sub, 4: description, 5: manageable}]} */
export async function listServices(policy: ServicePolicy, native: Native = loadNative()): Promise<Outcome> {
  const list = patternsOf(policy.list)
  if (list.length === 0) return refused(`no units may be listed: add unit names or globs to services.list in ${POLICY_FILE}`)
  const manage = policy.actions.length > 0 ? patternsOf(policy.manage) : []
  let rows
  try {
    rows = await native.serviceList(list)
  } catch (error) {
    return failure(error, 'list units')
  }
  const units = rows
    .filter((r) => matches(native, list, r.name))
    .map(
      (r) =>
        new Map<number, unknown>([
          [0, r.name],
          [1, r.loadState],
          [2, r.activeState],
          [3, r.subState],
          [4, r.description],
          [5, matches(native, manage, r.name)],
        ]),
    )
  return { ok: true, result: new Map<number, unknown>([[0, units]]) }
}

/** 8 GetServiceStatus: {0: name, 1: load, 2: active, 3: sub, 4: description, 5: unit file state, 6: main PID, 7: active since (µs), 8: manageable} */
export async function getServiceStatus(policy: ServicePolicy, params: ServiceParams, native: Native = loadNative()): Promise<Outcome> {
  const unit = unitName(params.unit)
  if (unit === null) return refused(`${JSON.stringify(params.unit)} is not a systemd unit name`)
  const list = patternsOf(policy.list)
  if (!matches(native, list, unit)) return refused(`unit ${unit} is not in services.list of ${POLICY_FILE}`)
  let s
  try {
    s = await native.serviceStatus(unit, list)
  } catch (error) {
    return failure(error, `read ${unit}`)
  }
  const manageable = policy.actions.length > 0 && matches(native, patternsOf(policy.manage), s.name)
  return {
    ok: true,
    result: new Map<number, unknown>([
      [0, s.name],
      [1, s.loadState],
      [2, s.activeState],
      [3, s.subState],
      [4, s.description],
      [5, s.unitFileState],
      [6, s.mainPid],
      [7, s.activeEnterTimestampUs],
      [8, manageable],
    ]),
  }
}

/** 9 PerformServiceAction: {0: unit, 1: action, 2: job path ("" for enable/disable), 3: active state after} */
export async function performServiceAction(policy: ServicePolicy, params: ServiceActionParams, native: Native = loadNative()): Promise<Outcome> {
  const unit = unitName(params.unit)
  if (unit === null) return refused(`${JSON.stringify(params.unit)} is not a systemd unit name`)
  const manage = patternsOf(policy.manage)
  if (!matches(native, manage, unit)) return refused(`unit ${unit} is not in services.manage of ${POLICY_FILE}`)
  if (!policy.actions.includes(params.action)) return refused(`action ${params.action} is not in services.actions of ${POLICY_FILE}`)
  let done
  try {
    done = await native.serviceAction(unit, params.action, manage)
  } catch (error) {
    return failure(error, `${params.action} ${unit}`, params.action)
  }
  return {
    ok: true,
    result: new Map<number, unknown>([
      [0, done.unit],
      [1, done.action],
      [2, done.job],
      [3, done.activeState],
    ]),
  }
}
