/**
 * A real Podman engine serving the Docker API for the tests and the benchmark, isolated from the
 * machine's own Podman state: storage, run root, tmp dir (file locks, no /dev/shm lock), network
 * configs all live under one temp root. The image is busybox-static imported from a local rootfs
 * (no registry). Recipe: shared/notes/environment.md.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export const TEST_IMAGE = 'localhost/sonar-test:1'
const BUSYBOX = '/usr/bin/busybox'
const APPLETS = ['sh', 'sleep', 'echo', 'printf', 'cat', 'yes', 'true', 'dd', 'head', 'seq']

export type PodmanStart = { ok: true; podman: Podman } | { ok: false; reason: string }

export class Podman {
  private service: ChildProcess | undefined
  readonly socketPath: string

  private constructor(
    readonly root: string,
    readonly env: NodeJS.ProcessEnv,
  ) {
    this.socketPath = join(root, 'podman.sock')
  }

  /** Sets up the temp root, imports the image and starts the API service; never throws. */
  static async start(): Promise<PodmanStart> {
    for (const tool of ['/usr/bin/podman', BUSYBOX]) {
      if (!existsSync(tool)) return { ok: false, reason: `${tool} is not installed (apt-get install podman runc busybox-static)` }
    }
    const root = mkdtempSync(join(tmpdir(), 'sonar-podman-'))
    const podman = new Podman(root, Podman.configure(root))
    try {
      await podman.importImage()
      await podman.startService()
      return { ok: true, podman }
    } catch (error) {
      await podman.close()
      return { ok: false, reason: `Podman could not start: ${error instanceof Error ? error.message.split('\n').slice(0, 3).join(' ') : String(error)}` }
    }
  }

  private static configure(root: string): NodeJS.ProcessEnv {
    for (const dir of ['storage', 'run', 'tmp', 'net', 'rootfs/bin']) mkdirSync(join(root, dir), { recursive: true })
    // Root here lacks CAP_SYS_RESOURCE (lower ulimits) and has hybrid cgroups (runc, not crun).
    writeFileSync(
      join(root, 'containers.conf'),
      [
        '[containers]',
        'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
        '[engine]',
        'runtime = "runc"',
        'events_logger = "file"',
        'lock_type = "file"',
        'cgroup_manager = "cgroupfs"',
        `tmp_dir = "${join(root, 'tmp')}"`,
        '[network]',
        `network_config_dir = "${join(root, 'net')}"`,
        '',
      ].join('\n'),
    )
    writeFileSync(
      join(root, 'storage.conf'),
      ['[storage]', 'driver = "vfs"', `graphroot = "${join(root, 'storage')}"`, `runroot = "${join(root, 'run')}"`, ''].join('\n'),
    )
    return {
      ...process.env,
      CONTAINERS_CONF: join(root, 'containers.conf'),
      CONTAINERS_STORAGE_CONF: join(root, 'storage.conf'),
      // the user's registries/policy files are irrelevant: the image is imported locally
    }
  }

  private async importImage(): Promise<void> {
    const rootfs = join(this.root, 'rootfs')
    copyFileSync(BUSYBOX, join(rootfs, 'bin', 'busybox'))
    chmodSync(join(rootfs, 'bin', 'busybox'), 0o755)
    for (const applet of APPLETS) symlinkSync('busybox', join(rootfs, 'bin', applet))
    const tar = join(this.root, 'rootfs.tar')
    await run('tar', ['-C', rootfs, '-cf', tar, '.'])
    await this.cli('import', '--change', 'CMD ["/bin/sh"]', tar, TEST_IMAGE)
  }

  /** Runs the podman CLI against this root; stdout trimmed. */
  async cli(...args: string[]): Promise<string> {
    const { stdout } = await run('podman', args, { env: this.env, maxBuffer: 64 * 1024 * 1024 })
    return stdout.trim()
  }

  /** `podman run -d` with the test image; returns the full id. */
  async runContainer(name: string, command: readonly string[], flags: readonly string[] = []): Promise<string> {
    return this.cli('run', '-d', '--name', name, ...flags, TEST_IMAGE, ...command)
  }

  get serviceRunning(): boolean {
    return this.service !== undefined && this.service.exitCode === null && this.service.signalCode === null
  }

  async startService(): Promise<void> {
    if (this.serviceRunning) return
    rmSync(this.socketPath, { force: true })
    const child = spawn('podman', ['system', 'service', '--time=0', `unix://${this.socketPath}`], { env: this.env, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)))
    this.service = child
    const deadline = Date.now() + 15_000
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`podman system service exited ${child.exitCode}: ${stderr}`)
      if (await this.ping()) return
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    throw new Error(`podman system service did not answer within 15 s: ${stderr}`)
  }

  /** Stops the API service (the containers keep running under conmon). */
  async stopService(): Promise<void> {
    const child = this.service
    if (!child || !this.serviceRunning) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(timer)
  }

  ping(): Promise<boolean> {
    return new Promise((resolve) => {
      const req = request({ socketPath: this.socketPath, path: '/_ping', timeout: 1000 }, (res) => {
        res.resume()
        resolve(res.statusCode === 200)
      })
      req.on('error', () => resolve(false))
      req.on('timeout', () => req.destroy())
      req.end()
    })
  }

  /** Removes every container and image of this root, stops the service, deletes the root. */
  async close(): Promise<void> {
    await this.cli('rm', '-af', '-t', '0').catch(() => '')
    await this.stopService().catch(() => undefined)
    await this.cli('rmi', '-af').catch(() => '')
    rmSync(this.root, { recursive: true, force: true })
  }
}
