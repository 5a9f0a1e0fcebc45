/**
 * `sonar-agent polkit-rule`: prints the polkit rule that lets the unprivileged agent user perform
 * exactly the service actions EXTENSIONS_FILE allows, on exactly its units (docs/extensions-services.md),
 * for /etc/polkit-1/rules.d/50-sonar-agent.rules. Refuses globs in `services.manage`: polkit compares
 * exact unit names.
 */
import { parseArgs } from 'node:util'
import { loadConfig } from '../config/config.js'
import { DEFAULT_EXTENSIONS_FILE, loadPolicy } from '../extensions/policy.js'
import { AGENT_USER, polkitRule } from '../extensions/polkit-rule.js'
import { loadNative } from '../native.js'
import { UsageError } from './usage.js'

export interface PolkitRuleContext {
  env?: NodeJS.ProcessEnv
  stdout?: { write(text: string): unknown }
  stderr?: { write(text: string): unknown }
}

export async function polkitRuleCommand(args: string[], context: PolkitRuleContext = {}): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { config: { type: 'string', short: 'c' }, user: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  })
  if (positionals.length > 0) throw new UsageError(`polkit-rule takes no arguments, not ${JSON.stringify(positionals.join(' '))}`)
  const stdout = context.stdout ?? process.stdout
  const stderr = context.stderr ?? process.stderr
  const native = loadNative()
  const config = loadConfig(values.config === undefined ? {} : { config: values.config }, context.env ?? process.env, { hubSettings: false, native })
  const path = (config.value('EXTENSIONS_FILE') as string | undefined) ?? DEFAULT_EXTENSIONS_FILE
  const state = loadPolicy(path, { uid: process.getuid?.() ?? 0, parseDuration: (text) => native.parseDuration(text) })
  if (state.kind !== 'loaded') {
    stderr.write(`sonar-agent: ${state.kind === 'absent' ? `no policy file ${path} (EXTENSIONS_FILE)` : `${path} is not used: ${state.reason}`}\n`)
    return 1
  }
  const rule = polkitRule(state.policy.services, values.user ?? AGENT_USER)
  if (!rule.ok) {
    stderr.write(`sonar-agent: ${rule.message}\n`)
    return 1
  }
  stdout.write(rule.text)
  return 0
}
