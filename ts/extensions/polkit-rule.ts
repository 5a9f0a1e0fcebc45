/**
 * The polkit rule that lets the agent's unprivileged user act on exactly the units of
 * services.manage with exactly the verbs of services.actions (polkit ≥ 0.106 JavaScript rules, as
 * Debian 12's polkitd 122 reads them). systemd asks polkit about org.freedesktop.systemd1.manage-units
 * with the unit's own name and the verb as details, so start/stop/restart/reload can be limited
 * per unit. Enabling and disabling cannot: manage-unit-files and reload-daemon carry no unit, and
 * granting them lets the user enable any unit file — a root-equivalent grant, written only when the
 * policy asks for enable/disable, and said so in the file.
 */
import { GLOB_CHARS, unitPattern } from './unit-names.js'
import type { ServiceAction, ServicePolicy } from './types.js'

export const POLKIT_RULE_FILE = '/etc/polkit-1/rules.d/50-sonar-agent.rules'
export const AGENT_USER = 'sonar-agent'

const JOB_VERBS: readonly ServiceAction[] = ['start', 'stop', 'restart', 'reload']

/** The rule's text for `policy`, or why none can be written (polkit compares exact names). */
export function polkitRule(policy: ServicePolicy, user: string = AGENT_USER): { ok: true; text: string } | { ok: false; message: string } {
  if (!/^[a-z_][a-z0-9_-]*\$?$/.test(user)) return { ok: false, message: `${JSON.stringify(user)} is not a user name` }
  const globs = policy.manage.filter((entry) => GLOB_CHARS.test(entry))
  if (globs.length > 0) {
    return {
      ok: false,
      message: `services.manage has globs (${globs.join(', ')}); a polkit rule names units exactly: list the units they stand for in services.manage, or write the rule by hand`,
    }
  }
  const units = [...new Set(policy.manage.map(unitPattern))].sort()
  const verbs = JOB_VERBS.filter((v) => policy.actions.includes(v))
  const files = policy.actions.includes('enable') || policy.actions.includes('disable')
  const lines = [
    `// ${POLKIT_RULE_FILE} — lets the SONAR agent (user ${user}) act on these systemd units only.`,
    '// Keep the lists the same as services.manage and services.actions in /etc/sonar-agent/extensions.yml:',
    '// the agent refuses what the policy file does not allow, polkit what this rule does not.',
    '// Install as root:root 0644; polkitd reads it at once. See docs/extensions-services.md.',
    'polkit.addRule(function (action, subject) {',
    `  if (subject.user !== ${JSON.stringify(user)}) return polkit.Result.NOT_HANDLED;`,
    `  var units = ${JSON.stringify(units)};`,
    `  var verbs = ${JSON.stringify(verbs)};`,
    '  if (action.id === "org.freedesktop.systemd1.manage-units" &&',
    '      units.indexOf(action.lookup("unit")) >= 0 && verbs.indexOf(action.lookup("verb")) >= 0) {',
    '    return polkit.Result.YES;',
    '  }',
  ]
  if (files) {
    lines.push(
      '  // enable/disable: polkit is not told which unit file, so this allows ANY (systemctl enable',
      '  // /some/path.service included): whoever runs as this user can make a unit start as root at boot.',
      '  if (action.id === "org.freedesktop.systemd1.manage-unit-files" || action.id === "org.freedesktop.systemd1.reload-daemon") {',
      '    return polkit.Result.YES;',
      '  }',
    )
  }
  lines.push('  return polkit.Result.NOT_HANDLED;', '});', '')
  return { ok: true, text: lines.join('\n') }
}
