/**
 * A REAL systemd 252 for the tests: PID 1 of a Podman container whose system bus is a unix socket
 * on this host (test/systemd/systemd-host.sh; recipe in shared/notes/systemd.md). scripts/test.sh
 * starts one for the whole run and exports SONAR_TEST_SYSTEM_BUS; run alone, a test file starts
 * (and removes) its own. The image is built once (~40–65 s, needs the Debian mirror) and kept.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'systemd-host.sh')

export type SystemdStart = { ok: true; systemd: RealSystemd } | { ok: false; reason: string }

export class RealSystemd {
  private constructor(
    /** DBUS_SYSTEM_BUS_ADDRESS of the container's bus */
    readonly address: string,
    /** the container's name (for podman exec), undefined when started by scripts/test.sh */
    private readonly owned: string | undefined,
  ) {}

  get container(): string {
    return this.owned ?? process.env.SONAR_TEST_SYSTEM_CONTAINER ?? 'sonar-systemd-test'
  }

  /** Reuses the run's systemd or starts one; never throws. */
  static async start(): Promise<SystemdStart> {
    const shared = process.env.SONAR_TEST_SYSTEM_BUS
    if (shared) return { ok: true, systemd: new RealSystemd(shared, undefined) }
    if (!existsSync('/usr/bin/podman')) return { ok: false, reason: 'podman is not installed (apt-get install podman runc)' }
    const name = `sonar-systemd-vitest-${process.pid}`
    try {
      const { stdout } = await run('bash', [SCRIPT, 'ensure'], { env: { ...process.env, NAME: name }, timeout: 300_000 })
      const address = stdout.trim().split('\n').at(-1) ?? ''
      if (!address.startsWith('unix:path=')) return { ok: false, reason: `systemd-host.sh printed no bus address: ${stdout}` }
      return { ok: true, systemd: new RealSystemd(address, name) }
    } catch (error) {
      const e = error as { stderr?: string; message?: string }
      return { ok: false, reason: `real systemd could not start: ${(e.stderr || e.message || String(error)).trim().split('\n').slice(-3).join(' ')}` }
    }
  }

  /**
   * Runs a command inside the container (systemctl, systemd-run…). runc now and then fails to put
   * the exec'd process into the container's cgroup ("error adding pid … to cgroups", seen while
   * other containers start or stop on the same machine); that attempt ran nothing, so it is retried.
   */
  async exec(...args: string[]): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      try {
        const { stdout } = await run('podman', ['exec', this.container, ...args], {
          env: { ...process.env, CONTAINERS_CONF: '/var/tmp/sonar-systemd/containers.conf' },
          timeout: 30_000,
        })
        return stdout
      } catch (error) {
        const stderr = String((error as { stderr?: unknown }).stderr ?? '')
        if (attempt >= 4 || !/error adding pid \d+ to cgroups/.test(stderr)) throw error
        process.stderr.write(`systemd test host: podman exec hit runc's cgroup race (attempt ${attempt}), retrying\n`)
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt))
      }
    }
  }

  async close(): Promise<void> {
    if (!this.owned) return
    await run('bash', [SCRIPT, 'down'], { env: { ...process.env, NAME: this.owned }, timeout: 60_000 }).catch(() => undefined)
  }
}
