/**
 * Host actions 7–9 (ts/extensions/services.ts) against a REAL systemd 252 with polkitd 122 (Podman,
 * test/systemd/systemd-host.sh: units ext-managed, ext-other, ext-core that nothing enables, the
 * alias ext-alias → ext-other, and the user sonar-agent). As root in this process, where systemd
 * asks no polkit; then as the unprivileged sonar-agent uid in a child process — no polkit rule, the
 * rule polkitRule() writes, the rule with the unit-file grant — as the real agent runs. Every
 * effect is checked with busctl and the container's files, not with the code under test.
 */
import { execFile } from 'node:child_process'
import { lstatSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { getServiceStatus, listServices, performServiceAction } from '../ts/extensions/services.js'
import { POLKIT_RULE_FILE, polkitRule } from '../ts/extensions/polkit-rule.js'
import type { Outcome, ServiceAction, ServicePolicy } from '../ts/extensions/types.js'
import { loadNative } from '../ts/native.js'
import { RealSystemd } from './systemd/systemd.js'
import { message, result } from './helpers/outcome.js'

const started = await RealSystemd.start()
if (!started.ok) console.warn(`SKIPPED real-systemd service action tests: ${started.reason}`)
const systemd = started.ok ? started.systemd : undefined

// the container this file started, if it started one (scripts/test.sh shares its own)
afterAll(async () => {
  await systemd?.close()
}, 60_000)

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const run = promisify(execFile)
const podmanEnv = { ...process.env, CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? '/var/tmp/sonar-systemd/containers.conf' }

const POLICY: ServicePolicy = {
  list: ['ext-*', 'sonar-running'],
  manage: ['ext-managed'],
  actions: ['start', 'stop', 'restart', 'reload'],
}

/**
 * The checks go around the code under test: busctl (libsystemd's client) on the container's bus,
 * and the container's files through `podman mount`. Not `podman exec`: on this shared machine a
 * container's cgroup can vanish under it, after which runc cannot exec into it at all.
 */
async function busctl(...args: string[]): Promise<unknown[]> {
  const { stdout } = await run('busctl', [`--address=${systemd!.address}`, '--json=short', ...args], { timeout: 30_000 })
  return stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { data: unknown }).data)
}

const MANAGER = ['org.freedesktop.systemd1', '/org/freedesktop/systemd1', 'org.freedesktop.systemd1.Manager']

async function unitPath(unit: string): Promise<string> {
  const [reply] = (await busctl('call', ...MANAGER, 'LoadUnit', 's', unit)) as [[string]]
  return reply[0]
}

/** Unit properties as busctl reads them (MainPID from the Service interface), each as JSON text. */
async function show(unit: string, ...props: string[]): Promise<Record<string, string>> {
  const path = await unitPath(unit)
  const out: Record<string, string> = {}
  for (const prop of props) {
    const iface = prop === 'MainPID' ? 'org.freedesktop.systemd1.Service' : 'org.freedesktop.systemd1.Unit'
    const [value] = await busctl('get-property', 'org.freedesktop.systemd1', path, iface, prop)
    out[prop] = typeof value === 'string' ? value : JSON.stringify(value)
  }
  return out
}

/** Start/Stop/Restart a unit as root over the bus and wait until its job is done (setup, not the test). */
async function job(verb: 'Start' | 'Stop' | 'Restart', unit: string): Promise<void> {
  await busctl('call', ...MANAGER, `${verb}Unit`, 'ss', unit, 'replace')
  const path = await unitPath(unit)
  for (let i = 0; i < 150; i++) {
    const [current] = (await busctl('get-property', 'org.freedesktop.systemd1', path, 'org.freedesktop.systemd1.Unit', 'Job')) as [[number, string]]
    if (current[0] === 0) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${verb} ${unit}: the job did not finish within 15 s`)
}

/** What decides "nothing happened": a start would change the invocation and the timestamps. */
const UNTOUCHED = ['ActiveState', 'SubState', 'MainPID', 'InvocationID', 'InactiveExitTimestampMonotonic', 'UnitFileState']

/** The container's root directory on this host (rootful Podman: the live overlay). */
let containerRoot = ''

/** The link `enable` makes (its target is a path inside the container: not followed here). */
function enabledLink(unit: string): boolean {
  try {
    return lstatSync(join(containerRoot, 'etc/systemd/system/multi-user.target.wants', unit)).isSymbolicLink()
  } catch {
    return false
  }
}

async function reset(): Promise<void> {
  await job('Stop', 'ext-managed.service')
  await job('Stop', 'ext-other.service')
  await busctl('call', ...MANAGER, 'DisableUnitFiles', 'asb', '1', 'ext-managed.service', 'false')
  await busctl('call', ...MANAGER, 'Reload')
}


describe.skipIf(!systemd)('services capability as root (systemd asks no polkit)', () => {
  beforeAll(async () => {
    containerRoot = (await run('podman', ['mount', systemd!.container], { env: podmanEnv })).stdout.trim()
    loadNative().configure({ DBUS_SYSTEM_BUS_ADDRESS: systemd!.address })
    await reset()
  })
  afterAll(async () => {
    await reset()
    loadNative().configure({})
  })

  it('ListServices: exactly the units services.list matches, loaded or only a unit file; manageable where services.manage matches', async () => {
    const units = result(await listServices(POLICY)).get(0) as Map<number, unknown>[]
    // ext-core and ext-other are in memory only if something loaded them: listed either way; the
    // alias ext-alias is its unit's row; no unit outside the globs
    expect(units.map((u) => u.get(0))).toEqual(['ext-core.service', 'ext-managed.service', 'ext-other.service', 'sonar-running.service'])
    for (const u of units) expect([...u.keys()]).toEqual([0, 1, 2, 3, 4, 5])
    const byName = new Map(units.map((u) => [u.get(0), u]))
    expect([...byName.get('ext-managed.service')!.values()]).toEqual(['ext-managed.service', 'loaded', 'inactive', 'dead', 'SONAR test unit ext-managed', true])
    expect(byName.get('sonar-running.service')?.get(2)).toBe('active')
    expect(units.filter((u) => u.get(5) === true).map((u) => u.get(0))).toEqual(['ext-managed.service'])
    // no actions allowed: nothing is manageable
    const none = result(await listServices({ ...POLICY, actions: [] })).get(0) as Map<number, unknown>[]
    expect(none.some((u) => u.get(5) === true)).toBe(false)
    expect(message(await listServices({ ...POLICY, list: [] }))).toContain('services.list')
  })

  it('GetServiceStatus: the unit state for listed units ("ext-managed" is ext-managed.service); others refused', async () => {
    await job('Start', 'ext-managed.service')
    const s = result(await getServiceStatus(POLICY, { unit: 'ext-managed' }))
    const real = await show('ext-managed.service', 'MainPID', 'ActiveEnterTimestamp')
    expect([...s.keys()]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8])
    expect([s.get(0), s.get(1), s.get(2), s.get(3), s.get(4), s.get(5), s.get(8)]).toEqual([
      'ext-managed.service',
      'loaded',
      'active',
      'running',
      'SONAR test unit ext-managed',
      'disabled',
      true,
    ])
    expect(s.get(6)).toBe(Number(real.MainPID))
    expect(s.get(7)).toBe(Number(real.ActiveEnterTimestamp))
    expect(Math.abs((s.get(7) as number) / 1000 - Date.now())).toBeLessThan(60_000)
    expect(result(await getServiceStatus(POLICY, { unit: 'sonar-running.service' })).get(8)).toBe(false)
    expect(message(await getServiceStatus(POLICY, { unit: 'dbus.service' }))).toBe(
      'unit dbus.service is not in services.list of the extensions policy (EXTENSIONS_FILE, /etc/sonar-agent/extensions.yml)',
    )
    await job('Stop', 'ext-managed.service')
  })

  it('start, restart, reload and stop of an allowed unit, as systemctl sees them', async () => {
    const start = result(await performServiceAction(POLICY, { unit: 'ext-managed.service', action: 'start' }))
    expect([start.get(0), start.get(1), start.get(3)]).toEqual(['ext-managed.service', 'start', 'active'])
    expect(start.get(2)).toMatch(/^\/org\/freedesktop\/systemd1\/job\/\d+$/)
    const running = await show('ext-managed.service', 'ActiveState', 'SubState', 'MainPID')
    expect([running.ActiveState, running.SubState]).toEqual(['active', 'running'])
    expect(Number(running.MainPID)).toBeGreaterThan(0)

    expect(result(await performServiceAction(POLICY, { unit: 'ext-managed', action: 'restart' })).get(3)).toBe('active')
    const restarted = await show('ext-managed.service', 'ActiveState', 'MainPID')
    expect(restarted.ActiveState).toBe('active')
    expect(restarted.MainPID).not.toBe(running.MainPID)

    // ExecReload=/bin/true: the same process goes on
    expect(result(await performServiceAction(POLICY, { unit: 'ext-managed', action: 'reload' })).get(3)).toBe('active')
    expect((await show('ext-managed.service', 'MainPID')).MainPID).toBe(restarted.MainPID)

    expect(result(await performServiceAction(POLICY, { unit: 'ext-managed', action: 'stop' })).get(3)).toBe('inactive')
    expect(await show('ext-managed.service', 'ActiveState', 'MainPID')).toEqual({ ActiveState: 'inactive', MainPID: '0' })
  })

  it('a unit off services.manage is refused and nothing is done to it', async () => {
    const other = await show('ext-other.service', ...UNTOUCHED)
    const running = await show('sonar-running.service', ...UNTOUCHED)
    for (const action of ['start', 'restart', 'enable'] as const) {
      expect(message(await performServiceAction(POLICY, { unit: 'ext-other', action }))).toBe(
        'unit ext-other.service is not in services.manage of the extensions policy (EXTENSIONS_FILE, /etc/sonar-agent/extensions.yml)',
      )
    }
    // listed (status allowed) is not managed
    expect(message(await performServiceAction(POLICY, { unit: 'sonar-running', action: 'stop' }))).toContain('not in services.manage')
    expect(await show('ext-other.service', ...UNTOUCHED)).toEqual(other)
    expect(await show('sonar-running.service', ...UNTOUCHED)).toEqual(running)
  })

  it('an action outside services.actions is refused and nothing is done', async () => {
    await job('Start', 'ext-managed.service')
    const before = await show('ext-managed.service', ...UNTOUCHED)
    const startStop: ServicePolicy = { ...POLICY, actions: ['start', 'stop'] }
    for (const action of ['restart', 'reload', 'enable', 'disable'] as const) {
      expect(message(await performServiceAction(startStop, { unit: 'ext-managed', action }))).toBe(
        `action ${action} is not in services.actions of the extensions policy (EXTENSIONS_FILE, /etc/sonar-agent/extensions.yml)`,
      )
    }
    expect(await show('ext-managed.service', ...UNTOUCHED)).toEqual(before)
    await job('Stop', 'ext-managed.service')
  })

  it('unit name injection (";", "$(…)", newline, NUL, "/", leading "-", spaces) is refused before systemd hears of it', async () => {
    const everything: ServicePolicy = { list: ['*'], manage: ['*'], actions: ['start', 'stop', 'restart', 'reload', 'enable', 'disable'] }
    const before = await show('ext-managed.service', ...UNTOUCHED)
    for (const unit of ['ext-managed.service;reboot', '$(reboot).service', 'ext-managed\n.service', 'ext-managed\0.service', '../../etc/passwd', '/etc/systemd/system/ext-managed.service', 'ext managed', '', 'x'.repeat(256)]) {
      expect(message(await performServiceAction(everything, { unit, action: 'start' }))).toBe(`${JSON.stringify(unit)} is not a systemd unit name`)
      expect(message(await getServiceStatus(everything, { unit }))).toBe(`${JSON.stringify(unit)} is not a systemd unit name`)
    }
    // systemd's characters but no unit type: the core refuses it
    expect(message(await performServiceAction(everything, { unit: '-ext.managed', action: 'start' }))).toContain('invalid unit name "-ext.managed"')
    expect(await show('ext-managed.service', ...UNTOUCHED)).toEqual(before)
  })

  it('an alias allowed by name does not reach the unit behind it', async () => {
    const alias: ServicePolicy = { list: ['ext-alias'], manage: ['ext-alias'], actions: ['start'] }
    const before = await show('ext-other.service', ...UNTOUCHED)
    expect(message(await performServiceAction(alias, { unit: 'ext-alias', action: 'start' }))).toBe(
      "ext-alias.service is an alias of ext-other.service, which is not allowed by services.manage of the extensions policy (EXTENSIONS_FILE, /etc/sonar-agent/extensions.yml); list the unit's own name there (and in the polkit rule)",
    )
    expect(message(await getServiceStatus(alias, { unit: 'ext-alias' }))).toContain('alias of ext-other.service, which is not allowed by services.list')
    expect(await show('ext-other.service', ...UNTOUCHED)).toEqual(before)
  })

  it('enable and disable change the unit file state (runtime=false), with a daemon reload', async () => {
    const files: ServicePolicy = { ...POLICY, actions: ['enable', 'disable'] }
    const enabled = result(await performServiceAction(files, { unit: 'ext-managed', action: 'enable' }))
    expect([...enabled.values()]).toEqual(['ext-managed.service', 'enable', '', 'inactive'])
    // systemd reloaded (it reads the new state) and the link is in /etc, not /run (runtime=false)
    expect((await show('ext-managed.service', 'UnitFileState')).UnitFileState).toBe('enabled')
    expect(enabledLink('ext-managed.service')).toBe(true)
    result(await performServiceAction(files, { unit: 'ext-managed', action: 'disable' }))
    expect((await show('ext-managed.service', 'UnitFileState')).UnitFileState).toBe('disabled')
    expect(enabledLink('ext-managed.service')).toBe(false)
  })

  it('no bus: a refusal naming DBUS_SYSTEM_BUS_ADDRESS', async () => {
    loadNative().configure({ DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/nonexistent/sonar-services-bus' })
    try {
      const refusal = message(await performServiceAction(POLICY, { unit: 'ext-managed', action: 'start' }))
      expect(refusal).toContain('systemd cannot be reached')
      expect(refusal).toContain('/nonexistent/sonar-services-bus')
      expect(refusal).toContain('DBUS_SYSTEM_BUS_ADDRESS')
    } finally {
      loadNative().configure({ DBUS_SYSTEM_BUS_ADDRESS: systemd!.address })
    }
  })
})

describe.skipIf(!systemd)('services capability as the unprivileged sonar-agent user (polkit decides)', () => {
  let uid = 0
  let gid = 0

  /** One capability call in a child process running as sonar-agent's uid (test/helpers/services-call.ts). */
  async function asAgent(call: 'list' | 'status' | 'action', policy: ServicePolicy, params?: { unit: string; action?: ServiceAction }): Promise<Outcome> {
    const request = JSON.stringify({ address: systemd!.address, call, policy, params })
    const { stdout } = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'test/helpers/services-call.ts'), request], {
      cwd: ROOT,
      uid,
      gid,
      env: { PATH: process.env.PATH, HOME: '/nonexistent', TMPDIR: '/tmp' },
      timeout: 60_000,
    })
    const parsed = JSON.parse(stdout) as { ok: boolean; message?: string; result?: Record<string, unknown> }
    return parsed.ok
      ? { ok: true, result: new Map(Object.entries(parsed.result ?? {}).map(([k, v]) => [Number(k), v])) }
      : { ok: false, message: parsed.message ?? '' }
  }

  /** Installs the rule (or removes it) and restarts polkitd, which reads its rules before it answers. */
  async function polkitRuleInstalled(text: string | null): Promise<void> {
    const file = join(containerRoot, POLKIT_RULE_FILE)
    if (text === null) rmSync(file, { force: true })
    else writeFileSync(file, text, { mode: 0o644 })
    await job('Restart', 'polkit.service')
  }

  function rule(policy: ServicePolicy): string {
    const r = polkitRule(policy)
    if (!r.ok) throw new Error(r.message)
    return r.text
  }

  beforeAll(async () => {
    containerRoot = (await run('podman', ['mount', systemd!.container], { env: podmanEnv })).stdout.trim()
    expect(readFileSync(join(containerRoot, 'var/lib/dpkg/status'), 'utf8')).toMatch(/^Package: polkitd\nStatus: install ok installed\n(?:.+\n)*?Version: 122-/m)
    const entry = readFileSync(join(containerRoot, 'etc/passwd'), 'utf8').split('\n').find((line) => line.startsWith('sonar-agent:'))
    ;[uid, gid] = (entry?.split(':').slice(2, 4) ?? []).map(Number) as [number, number]
    expect(uid).toBeGreaterThan(0)
    await reset()
    await polkitRuleInstalled(null)
  }, 60_000)
  afterAll(async () => {
    await polkitRuleInstalled(null)
    await reset()
  }, 60_000)

  it('listing and status need no polkit rule (reading the bus is open to every user)', async () => {
    const units = result(await asAgent('list', POLICY)).get(0) as Record<string, unknown>[]
    expect(units.map((u) => u['0'])).toEqual(['ext-core.service', 'ext-managed.service', 'ext-other.service', 'sonar-running.service'])
    expect(result(await asAgent('status', POLICY, { unit: 'ext-managed' })).get(1)).toBe('loaded')
  })

  it('no polkit rule: refused with a message naming polkit and the rule file to install; nothing done', async () => {
    const before = await show('ext-managed.service', ...UNTOUCHED)
    const refusal = message(await asAgent('action', POLICY, { unit: 'ext-managed', action: 'start' }))
    // the user's name where this host's passwd has it (the agent's own host does), else its uid
    expect(refusal).toMatch(new RegExp(`^polkit refused to let user (sonar-agent|uid ${uid}) start ext-managed\\.service: Start of ext-managed\\.service refused`))
    expect(refusal).toContain('org.freedesktop.DBus.Error.InteractiveAuthorizationRequired for org.freedesktop.systemd1.manage-units')
    expect(refusal).toContain(`Install the polkit rule ${POLKIT_RULE_FILE} (packaging/polkit/50-sonar-agent.rules)`)
    expect(refusal).toContain('docs/extensions-services.md')
    expect(await show('ext-managed.service', ...UNTOUCHED)).toEqual(before)
  })

  it('polkitd not running (polkit.service masked): still a refusal that names polkit; nothing done', async () => {
    await busctl('call', ...MANAGER, 'MaskUnitFiles', 'asbb', '1', 'polkit.service', 'true', 'true')
    await busctl('call', ...MANAGER, 'Reload')
    await job('Stop', 'polkit.service')
    try {
      const before = await show('ext-managed.service', ...UNTOUCHED)
      const refusal = message(await asAgent('action', POLICY, { unit: 'ext-managed', action: 'start' }))
      expect(refusal).toContain('polkit refused to let user')
      expect(refusal).toContain('Unit polkit.service is masked')
      expect(refusal).toContain(POLKIT_RULE_FILE)
      expect(await show('ext-managed.service', ...UNTOUCHED)).toEqual(before)
    } finally {
      await busctl('call', ...MANAGER, 'UnmaskUnitFiles', 'asb', '1', 'polkit.service', 'true')
      await busctl('call', ...MANAGER, 'Reload')
    }
  })

  it('with the rule polkitRule() writes: start, restart, stop allowed; units and verbs outside the rule refused by polkit', async () => {
    await polkitRuleInstalled(rule({ list: [], manage: ['ext-managed'], actions: ['start', 'stop', 'restart'] }))
    expect(result(await asAgent('action', POLICY, { unit: 'ext-managed', action: 'start' })).get(3)).toBe('active')
    const running = await show('ext-managed.service', 'ActiveState', 'MainPID')
    expect(running.ActiveState).toBe('active')
    expect(result(await asAgent('action', POLICY, { unit: 'ext-managed', action: 'restart' })).get(3)).toBe('active')
    expect((await show('ext-managed.service', 'MainPID')).MainPID).not.toBe(running.MainPID)

    // the agent's policy allows more than the rule: polkit is the second lock
    const wider: ServicePolicy = { list: ['ext-*'], manage: ['ext-managed', 'ext-other'], actions: ['start', 'stop', 'restart', 'reload', 'enable'] }
    const other = await show('ext-other.service', ...UNTOUCHED)
    expect(message(await asAgent('action', wider, { unit: 'ext-other', action: 'start' }))).toContain('polkit refused to let user')
    expect(await show('ext-other.service', ...UNTOUCHED)).toEqual(other)
    const managed = await show('ext-managed.service', ...UNTOUCHED)
    expect(message(await asAgent('action', wider, { unit: 'ext-managed', action: 'reload' }))).toContain('Reload of ext-managed.service refused')
    const enable = message(await asAgent('action', wider, { unit: 'ext-managed', action: 'enable' }))
    expect(enable).toContain('EnableUnitFiles of ext-managed.service refused')
    expect(enable).toContain('org.freedesktop.systemd1.manage-unit-files')
    expect(enable).toContain('with the unit-file grant')
    expect(await show('ext-managed.service', ...UNTOUCHED)).toEqual(managed)

    expect(result(await asAgent('action', POLICY, { unit: 'ext-managed', action: 'stop' })).get(3)).toBe('inactive')
    expect((await show('ext-managed.service', 'ActiveState')).ActiveState).toBe('inactive')
  })

  it('with the unit-file grant in the rule: enable and disable', async () => {
    const files: ServicePolicy = { list: [], manage: ['ext-managed'], actions: ['enable', 'disable'] }
    await polkitRuleInstalled(rule(files))
    expect(result(await asAgent('action', files, { unit: 'ext-managed', action: 'enable' })).get(1)).toBe('enable')
    expect(enabledLink('ext-managed.service')).toBe(true)
    expect(result(await asAgent('action', files, { unit: 'ext-managed', action: 'disable' })).get(1)).toBe('disable')
    expect(enabledLink('ext-managed.service')).toBe(false)
  })
})
