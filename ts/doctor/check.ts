/**
 * What every doctor check produces and the small tools they share: a bounded wait and a bounded
 * child process. Checks never throw; a check that fails to finish in time says so.
 */
import { execFile } from 'node:child_process'

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip'

export interface CheckResult {
  /** the collector or area: core, host, containers, smart, gpu, systemd, sensors, hub */
  group: string
  /** what was checked, e.g. "native addon", "DNS" */
  name: string
  status: CheckStatus
  /** one line: what was found */
  message: string
  /** the exact setting or command that repairs it; given whenever the status is not ok (and may be on skip) */
  fix?: string
}

export function result(group: string, name: string, status: CheckStatus, message: string, fix?: string): CheckResult {
  return fix === undefined ? { group, name, status, message } : { group, name, status, message, fix }
}

/** A check group: runs its own checks, each bounded in time. */
export type CheckGroup = () => Promise<CheckResult[]>

export class TimeoutError extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${formatMs(ms)}`)
    this.name = 'TimeoutError'
  }
}

export function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms} ms`
}

/**
 * `work` or a TimeoutError after `ms`, whichever comes first; `onTimeout` releases what the work
 * holds (a socket, a child) so a late answer cannot keep the process alive.
 */
export function withTimeout<T>(work: Promise<T>, ms: number, onTimeout?: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout?.()
      reject(new TimeoutError(ms))
    }, Math.max(1, ms))
    work.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error instanceof Error ? error : new Error(String(error)))
      },
    )
  })
}

export interface ToolRun {
  /** exit status; null when killed (timeout) */
  code: number | null
  stdout: string
  stderr: string
  timedOut: boolean
  /** set when the program could not be started at all (ENOENT, EACCES) */
  spawnError?: string
}

/** Runs a program with a hard time limit (SIGKILL), never a shell; never throws. */
export function runTool(file: string, args: readonly string[], timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile(file, [...args], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024, env, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (!error) return resolve({ code: 0, stdout, stderr, timedOut: false })
      const e = error as NodeJS.ErrnoException & { code?: string | number; killed?: boolean; signal?: string | null }
      if (typeof e.code === 'string') return resolve({ code: null, stdout, stderr, timedOut: false, spawnError: e.code })
      const timedOut = e.killed === true && e.signal === 'SIGKILL'
      resolve({ code: typeof e.code === 'number' ? e.code : null, stdout, stderr, timedOut })
    })
  })
}

/** The error's code (ENOENT, EACCES…) or its first line. */
export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string') return code
  return error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error)
}
