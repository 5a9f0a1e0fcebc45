/**
 * packaging/systemd/sonar-agent.service: `systemd-analyze verify` (this machine's systemd 252, not
 * PID 1) must accept it without a single warning, and under a REAL systemd 252 (PID 1 in Podman,
 * the image test/systemd/systemd-host.sh builds; scripts/test.sh makes sure it exists) the agent
 * must start and serve with every hardening setting applied (scripts/check-systemd-unit.sh).
 * Each part is skipped, with the reason, where its tool or the image is missing.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'

const run = promisify(execFile)
const UNIT = 'packaging/systemd/sonar-agent.service'
const unitText = readFileSync(UNIT, 'utf8')
const tmp = mkdtempSync(join(tmpdir(), 'sonar-unit-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const analyze = existsSync('/usr/bin/systemd-analyze')
if (!analyze) console.warn('[systemd-unit.test] systemd-analyze verify SKIPPED: /usr/bin/systemd-analyze is missing (apt-get install systemd)')

/** `systemd-analyze verify` on the unit text; ExecStart must exist here, so it runs this build. */
async function verify(text: string): Promise<string> {
  const path = join(tmp, 'sonar-agent.service')
  writeFileSync(path, text.replace(/^ExecStart=sonar-agent /m, `ExecStart=${resolve('dist/bin.cjs')} `))
  try {
    const { stdout, stderr } = await run('systemd-analyze', ['verify', path])
    return stdout + stderr
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string }
    return `failed: ${e.stdout ?? ''}${e.stderr ?? ''}`
  }
}

describe.skipIf(!analyze)('systemd-analyze verify', () => {
  it('accepts the unit without a warning', async () => {
    expect(unitText).toMatch(/^ExecStart=sonar-agent run$/m)
    expect(await verify(unitText)).toBe('')
  })

  it('would report a misspelt setting (the check above can fail)', async () => {
    expect(await verify(unitText.replace('ProtectSystem=strict', 'ProtectSytem=strict'))).toMatch(/Unknown key (name )?'ProtectSytem'/)
  })

  it('keeps the hardening the field notes ask for', () => {
    for (const line of [
      'User=sonar-agent',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'NoNewPrivileges=yes',
      'StateDirectory=sonar-agent',
      'CapabilityBoundingSet=',
      'EnvironmentFile=-/etc/sonar-agent/env',
    ]) {
      expect(unitText.split('\n'), line).toContain(line)
    }
    expect(unitText).toMatch(/^RestrictAddressFamilies=.*AF_UNIX.*$/m)
    expect(unitText).toMatch(/^SystemCallFilter=@system-service$/m)
    // V8 needs W+X memory: the agent dies of SIGTRAP under MemoryDenyWriteExecute=yes
    expect(unitText).not.toMatch(/^MemoryDenyWriteExecute=yes/m)
  })
})

// ---- under a real systemd ----

const systemdImage = /^IMAGE=\$\{IMAGE:-(.*)\}$/m.exec(readFileSync('test/systemd/systemd-host.sh', 'utf8'))?.[1] ?? ''
const containersConf = join(tmp, 'containers.conf')
// runc and lowered ulimits: this host's root lacks CAP_SYS_RESOURCE and has hybrid cgroups
writeFileSync(containersConf, '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n[engine]\nruntime = "runc"\n')
const podmanEnv = { ...process.env, CONTAINERS_CONF: containersConf }

async function realSystemdSkipReason(): Promise<string | undefined> {
  if (!existsSync('/usr/bin/podman')) return 'podman is not installed (apt-get install podman runc)'
  if (!systemdImage) return 'no IMAGE= default in test/systemd/systemd-host.sh'
  const exists = await run('podman', ['image', 'exists', systemdImage], { env: podmanEnv }).then(
    () => true,
    () => false,
  )
  return exists ? undefined : `image ${systemdImage} not built (bash test/systemd/systemd-host.sh build; scripts/test.sh does it)`
}
const skipReason = await realSystemdSkipReason()
if (skipReason) console.warn(`[systemd-unit.test] real systemd check SKIPPED: ${skipReason}`)

describe.skipIf(skipReason !== undefined)('under a real systemd 252', () => {
  it('starts, serves and collects as sonar-agent with no capabilities, NoNewPrivs and seccomp', async () => {
    // a staging folder of its own (another run may stage at the same time)
    const context = join(tmp, 'context')
    await run('bash', ['scripts/container-build.sh'], { env: { ...podmanEnv, STAGE_ONLY: '1', CONTEXT: context }, timeout: 120_000 })
    const { stdout } = await run('bash', ['scripts/check-systemd-unit.sh'], {
      env: { ...podmanEnv, IMAGE: systemdImage, APP: join(context, 'target/container-app/sonar-agent') },
      timeout: 120_000,
    })
    console.log(`[systemd-unit.test]\n${stdout}`)
    expect(stdout).toContain('verify: ok')
    expect(stdout).toContain('state: active')
    const ids = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$/m.exec(stdout)?.slice(1) ?? []
    expect(ids).toHaveLength(4)
    expect(new Set(ids).size).toBe(1)
    expect(ids[0]).not.toBe('0')
    for (const set of ['CapEff', 'CapBnd', 'CapAmb']) expect(stdout).toMatch(new RegExp(`^${set}:\\s+0{16}$`, 'm'))
    expect(stdout).toMatch(/^NoNewPrivs:\s+1$/m)
    expect(stdout).toMatch(/^Seccomp:\s+2$/m)
    expect(stdout).toMatch(/^state dir: fingerprint ssh_host_ed25519_key\s*$/m)
    expect(stdout).toMatch(/^ssh listening lines: [1-9]/m)
    expect(stdout).toMatch(/^snapshot: success, [1-9]\d* cpu\/memory\/disk fields$/m)
    expect(stdout).toMatch(/^bus as sonar-agent: a\(ssssssouso\) [1-9]\d*$/m)
    const exposure = Number(/exposure level for sonar-agent\.service: ([\d.]+)/.exec(stdout)?.[1])
    expect(exposure).toBeLessThan(2.5)
  }, 240_000)
})
