/**
 * The polkit rule for the services capability (ts/extensions/polkit-rule.ts) and the unit-name
 * completion both it and the capability use. The rule is run here with a stand-in for polkit's
 * JavaScript API; test/extensions-services.test.ts installs it in a real polkitd 122.
 */
import { readFileSync } from 'node:fs'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { polkitRule } from '../ts/extensions/polkit-rule.js'
import type { ServicePolicy } from '../ts/extensions/types.js'
import { unitName, unitPattern } from '../ts/extensions/unit-names.js'

type Decision = 'yes' | 'not_handled'

/** Loads the rule's text the way polkitd does and returns its decision function. */
function load(text: string): (actionId: string, details: Record<string, string>, user: string) => Decision {
  const rules: ((action: unknown, subject: unknown) => Decision)[] = []
  const polkit = { Result: { YES: 'yes', NOT_HANDLED: 'not_handled' }, addRule: (f: (action: unknown, subject: unknown) => Decision) => rules.push(f) }
  runInNewContext(text, { polkit })
  expect(rules).toHaveLength(1)
  return (id, details, user) => rules[0]!({ id, lookup: (k: string) => details[k] }, { user })
}

function text(policy: ServicePolicy): string {
  const r = polkitRule(policy)
  if (!r.ok) throw new Error(r.message)
  return r.text
}

const MANAGE = 'org.freedesktop.systemd1.manage-units'
const FILES = 'org.freedesktop.systemd1.manage-unit-files'
const RELOAD = 'org.freedesktop.systemd1.reload-daemon'

describe('polkit rule', () => {
  it('allows exactly the listed units with exactly the listed verbs, for sonar-agent only', () => {
    const decide = load(text({ list: [], manage: ['nginx', 'app@blue.service'], actions: ['restart', 'reload'] }))
    expect(decide(MANAGE, { unit: 'nginx.service', verb: 'restart' }, 'sonar-agent')).toBe('yes')
    expect(decide(MANAGE, { unit: 'app@blue.service', verb: 'reload' }, 'sonar-agent')).toBe('yes')
    expect(decide(MANAGE, { unit: 'nginx.service', verb: 'stop' }, 'sonar-agent')).toBe('not_handled')
    expect(decide(MANAGE, { unit: 'sshd.service', verb: 'restart' }, 'sonar-agent')).toBe('not_handled')
    expect(decide(MANAGE, { unit: 'nginx.service', verb: 'restart' }, 'www-data')).toBe('not_handled')
    // no enable/disable in the policy: no unit-file grant
    expect(decide(FILES, {}, 'sonar-agent')).toBe('not_handled')
    expect(decide(RELOAD, {}, 'sonar-agent')).toBe('not_handled')
  })

  it('enable/disable add the unit-file grant, which polkit cannot limit to units, and say so', () => {
    const t = text({ list: [], manage: ['nginx'], actions: ['enable'] })
    expect(t).toContain('this allows ANY')
    const decide = load(t)
    expect(decide(FILES, {}, 'sonar-agent')).toBe('yes')
    expect(decide(RELOAD, {}, 'sonar-agent')).toBe('yes')
    expect(decide(FILES, {}, 'nobody')).toBe('not_handled')
    // enable alone is no job verb
    expect(decide(MANAGE, { unit: 'nginx.service', verb: 'start' }, 'sonar-agent')).toBe('not_handled')
  })

  it('refuses globs (polkit compares exact names) and odd user names', () => {
    const globbed = polkitRule({ list: [], manage: ['app-*', 'nginx'], actions: ['restart'] })
    expect(globbed).toEqual({ ok: false, message: expect.stringContaining('services.manage has globs (app-*)') })
    expect(polkitRule({ list: [], manage: ['nginx'], actions: ['restart'] }, 'x"); polkit.addRule(function(){return "yes"});//')).toMatchObject({ ok: false })
  })

  it('the shipped packaging/polkit/50-sonar-agent.rules is what polkitRule writes for its example', () => {
    const shipped = readFileSync(new URL('../packaging/polkit/50-sonar-agent.rules', import.meta.url), 'utf8')
    expect(shipped).toBe(text({ list: [], manage: ['example.service'], actions: ['start', 'stop', 'restart', 'reload'] }))
  })
})

describe('unit names', () => {
  it('complete a name without a dot with .service, as systemctl does; refuse what is no unit name', () => {
    expect(unitName('nginx')).toBe('nginx.service')
    expect(unitName('nginx.service')).toBe('nginx.service')
    expect(unitName('logrotate.timer')).toBe('logrotate.timer')
    expect(unitName('getty@tty1')).toBe('getty@tty1.service')
    for (const bad of ['', 'a b', 'a/b', 'a;b', '$(x)', 'a\nb', 'é', 'x'.repeat(256)]) expect(unitName(bad), bad).toBeNull()
  })

  it('policy entries: exact names completed, globs as written', () => {
    expect(unitPattern('nginx')).toBe('nginx.service')
    expect(unitPattern('app-*')).toBe('app-*')
    expect(unitPattern('app-?.socket')).toBe('app-?.socket')
    expect(unitPattern('[ab]')).toBe('[ab]')
  })
})
