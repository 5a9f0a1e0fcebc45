/**
 * The container image (Containerfile), built with scripts/container-build.sh from the locally made
 * base and run with a real Podman (test/podman/podman.ts: an isolated engine root). With the host's
 * /proc and /sys mounted read-only, host networking and the engine socket, the agent in the container
 * must report the HOST: its name, NICs, memory, root disk and containers. A control run without them
 * shows the same checks would catch the container's own view. Skipped, with the reason, where Podman
 * cannot start here.
 */
import { execFile } from 'node:child_process'
import { chmodSync, chownSync, readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { freePort } from './helpers/net.js'
import { connectAsHub, generateSshKeyPair } from './helpers/ssh.js'
import { Podman } from './podman/podman.js'

const run = promisify(execFile)
const IMAGE = 'localhost/sonar-agent:test'
const BUILD_TIMEOUT_MS = 300_000
/** The group that may use the engine socket, like `docker` on a Docker host (no name needed). */
const SOCKET_GID = 4242

const podmanStart = await Podman.start()
if (!podmanStart.ok) console.warn(`[container-image.test] container image tests SKIPPED: ${podmanStart.reason}`)
const podman = podmanStart.ok ? podmanStart.podman : undefined

/** The parts of `snapshot --json` these checks compare. */
const Snapshot = z.object({
  stats: z.object({ m: z.number(), d: z.number(), ni: z.record(z.string(), z.array(z.number())).optional() }),
  info: z.object({ h: z.string(), k: z.string(), c: z.number(), t: z.number(), m: z.string() }),
  container: z.array(z.object({ n: z.string(), image: z.string() })).nullable(),
})
type Snapshot = z.infer<typeof Snapshot>

const nics = (s: Snapshot) => Object.keys(s.stats.ni ?? {}).sort()

async function hostSnapshot(): Promise<Snapshot> {
  // DOCKER_HOST="": the host's view of containers is not what is compared here.
  const { stdout } = await run(process.execPath, ['dist/bin.cjs', 'snapshot', '--json'], { env: { ...process.env, DOCKER_HOST: '' } })
  return Snapshot.parse(JSON.parse(stdout))
}

/** The host mounts the Containerfile's comment documents. */
function hostMounts(p: Podman): string[] {
  return [
    '--network=host',
    '--uts=host',
    '-v', '/proc:/host/proc:ro', '-e', 'HOST_PROC=/host/proc',
    '-v', '/sys:/host/sys:ro', '-e', 'HOST_SYS=/host/sys',
    '-v', `${p.socketPath}:/var/run/docker.sock:ro`,
    // the agent runs as nobody: the socket's group lets it in
    '--group-add', String(SOCKET_GID),
  ]
}

describe.skipIf(!podman)('container image (real Podman)', () => {
  const p = podman as Podman
  let buildMs = 0

  beforeAll(async () => {
    const started = performance.now()
    // its own build context: another test run may be building at the same time
    await run('bash', ['scripts/container-build.sh', IMAGE], { env: { ...p.env, CONTEXT: join(p.root, 'context') }, timeout: BUILD_TIMEOUT_MS })
    buildMs = performance.now() - started
    // podman's API socket is 0600 root; Docker's is 0660 root:docker. Make this one like Docker's.
    chownSync(p.socketPath, 0, SOCKET_GID)
    chmodSync(p.socketPath, 0o660)
    const size = Number(await p.cli('image', 'inspect', '--format', '{{.Size}}', IMAGE))
    console.log(`[container-image.test] base + image built in ${(buildMs / 1000).toFixed(1)} s; ${IMAGE} is ${(size / 1e6).toFixed(1)} MB`)
  }, BUILD_TIMEOUT_MS + 10_000)

  afterAll(async () => {
    await p.close()
  }, 60_000)

  it('runs as nobody with `sonar-agent health` as its health check', async () => {
    const [image] = z
      .array(
        z.object({
          Config: z.object({ User: z.string(), Entrypoint: z.array(z.string()), Cmd: z.array(z.string()) }),
          Healthcheck: z.object({ Test: z.array(z.string()) }),
        }),
      )
      .parse(JSON.parse(await p.cli('image', 'inspect', IMAGE)))
    expect(image?.Config.User).toBe('65534:65534')
    expect(image?.Config.Entrypoint).toEqual(['sonar-agent'])
    expect(image?.Config.Cmd).toEqual(['run'])
    expect(image?.Healthcheck.Test).toEqual(['CMD', 'sonar-agent', 'health'])
    expect(buildMs).toBeGreaterThan(0)
  })

  it('with the host mounted, `snapshot --json` in the container reports the host, not the container', async () => {
    await p.runContainer('sonar-image-probe', ['sleep', '100000'])
    const before = await hostSnapshot()
    const stdout = await p.cli('run', '--rm', '--no-healthcheck', ...hostMounts(p), IMAGE, 'snapshot', '--json')
    const inside = Snapshot.parse(JSON.parse(stdout))
    const after = await hostSnapshot()

    expect(inside.info.h).toBe(hostname())
    expect(inside.info.h).toBe(readFileSync('/proc/sys/kernel/hostname', 'utf8').trim())
    expect(inside.info).toMatchObject({ k: before.info.k, c: before.info.c, t: before.info.t, m: before.info.m })
    expect(inside.stats.m).toBe(before.stats.m)
    expect(inside.stats.d).toBe(before.stats.d)
    // NICs can come and go while other tests run: the host's list just before or just after.
    expect([nics(before).join(','), nics(after).join(',')]).toContain(nics(inside).join(','))
    expect(inside.container?.map((c) => c.n)).toContain('sonar-image-probe')
  })

  it('control: without the host mounts it reports its own name and no engine', async () => {
    const stdout = await p.cli('run', '--rm', '--no-healthcheck', '--hostname', 'sonar-in-a-box', IMAGE, 'snapshot', '--json')
    const inside = Snapshot.parse(JSON.parse(stdout))
    expect(inside.info.h).toBe('sonar-in-a-box')
    expect(inside.info.h).not.toBe(hostname())
    expect(inside.container).toBeNull()
  })

  it('`run` serves the hub over SSH as nobody, keeps its identity in the data dir, is healthy and stops cleanly', async () => {
    const hub = generateSshKeyPair()
    const port = await freePort()
    const name = 'sonar-agent-daemon'
    await p.cli('run', '-d', '--name', name, ...hostMounts(p), '-e', `KEY=${hub.public}`, '-e', `LISTEN=127.0.0.1:${port}`, IMAGE)

    const client = await waitFor(() => connectAsHub(port, hub.private), 20_000)
    client.end()
    // `podman healthcheck run` runs the image's HEALTHCHECK (no systemd timers here)
    expect(await p.cli('healthcheck', 'run', name)).toBe('')
    const pid = Number(await p.cli('inspect', '--format', '{{.State.Pid}}', name))
    expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/^Uid:\s+65534\s+65534/m)
    expect(await p.cli('exec', name, 'sh', '-c', 'echo /var/lib/sonar-agent/*')).toBe('/var/lib/sonar-agent/fingerprint /var/lib/sonar-agent/ssh_host_ed25519_key')

    await p.cli('stop', '-t', '10', name)
    expect(await p.cli('inspect', '--format', '{{.State.ExitCode}}', name)).toBe('0')
  }, 60_000)
})

async function waitFor<T>(attempt: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await attempt()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }
}
