/**
 * The local health file (like Beszel's `beszel_health`): touched at start and every 90 s while the agent
 * runs, removed on shutdown. `sonar-agent health` checks its age, so a container health check needs no
 * network access. It says the process is alive, not that the hub is reachable.
 */
import { rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, win32 } from 'node:path'
import type { Logger } from './log.js'

export const HEALTH_FILE_NAME = 'sonar-agent_health'
export const HEALTH_INTERVAL_MS = 90_000
/** One interval plus a second of slack, as Beszel checks it. */
export const HEALTH_MAX_AGE_MS = 91_000

/**
 * Where the health file lives: the temporary directory, as Beszel's; on Windows %ProgramData%,
 * because each account has its own TEMP there (a service as LocalSystem writes C:\Windows\Temp,
 * while `sonar-agent health` in an administrator's shell would look in that user's TEMP).
 */
export function healthDir(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string {
  if (platform === 'win32') return env.ProgramData || env.PROGRAMDATA || win32.join(env.SystemDrive || 'C:', '\\ProgramData')
  return tmpdir()
}

export function healthFilePath(dir: string = healthDir()): string {
  return join(dir, HEALTH_FILE_NAME)
}

export class HealthFile {
  private timer: NodeJS.Timeout | undefined

  constructor(
    readonly path: string = healthFilePath(),
    private readonly logger?: Logger,
    private readonly intervalMs: number = HEALTH_INTERVAL_MS,
  ) {}

  /** Touches the file now and then every interval. */
  start(): void {
    this.touch()
    this.timer ??= setInterval(() => this.touch(), this.intervalMs)
    // The heartbeat alone must not keep a stopping process alive.
    this.timer.unref()
  }

  touch(): void {
    try {
      writeFileSync(this.path, '')
    } catch (error) {
      this.logger?.warn('cannot write the health file', { path: this.path, error: (error as Error).message })
    }
  }

  /** Stops touching and removes the file, so `health` fails once the agent is gone. */
  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    try {
      rmSync(this.path, { force: true })
    } catch (error) {
      this.logger?.warn('cannot remove the health file', { path: this.path, error: (error as Error).message })
    }
  }
}

export type HealthStatus = { ok: true } | { ok: false; message: string }

/** Whether the file was touched less than `maxAgeMs` ago. */
export function checkHealth(path: string = healthFilePath(), now: number = Date.now(), maxAgeMs = HEALTH_MAX_AGE_MS): HealthStatus {
  let modified: number
  try {
    modified = statSync(path).mtimeMs
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return { ok: false, message: `${path} does not exist: the agent is not running` }
    return { ok: false, message: `cannot read ${path}: ${(error as Error).message}` }
  }
  const age = now - modified
  if (age < maxAgeMs) return { ok: true }
  return { ok: false, message: `${path} was last touched ${Math.round(age / 1000)} s ago (limit ${maxAgeMs / 1000} s): the agent is stuck or gone` }
}
