/**
 * `sonar-agent run` as users run it (`node dist/bin.cjs run`) in a child process with a clean
 * environment and its own temporary HOME, TMPDIR and DATA_DIR, and the /proc figures the soak and
 * fault benches read from it. Build first: npm run build:ts.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const AGENT_BIN = new URL('../../dist/bin.cjs', import.meta.url).pathname
/** stderr kept for diagnosis: the last this many characters */
const STDERR_KEEP = 256 * 1024

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface AgentProcess {
  readonly child: ChildProcess
  readonly pid: number
  /** the temporary directory that is HOME, TMPDIR and (under data/) DATA_DIR */
  readonly dir: string
  readonly exited: Promise<Exit>
  /** the exit once it happened */
  readonly exit: Exit | undefined
  /** the last 256 KiB of stderr */
  stderr(): string
  /** SIGTERM, then SIGKILL after `graceMs`; removes the temporary directory */
  stop(graceMs?: number): Promise<Exit>
}

/** Settings no developer's environment may leak into a run: only PATH, plus the temporary dirs. */
export function cleanEnv(dir: string): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, TMPDIR: dir, DATA_DIR: join(dir, 'data') }
}

/** Starts the built CLI; `env` is added to (and overrides) the clean environment. */
export function startAgentProcess(env: Record<string, string>, args: string[] = ['run'], nodeArgs: string[] = []): AgentProcess {
  if (!existsSync(AGENT_BIN)) throw new Error(`${AGENT_BIN} is missing: run npm run build:ts first`)
  const dir = mkdtempSync(join(tmpdir(), 'sonar-agent-proc-'))
  const child = spawn(process.execPath, [...nodeArgs, AGENT_BIN, ...args], { env: { ...cleanEnv(dir), ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
  if (child.pid === undefined) throw new Error('the agent process did not start')
  let stderr = ''
  child.stderr?.setEncoding('utf8')
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk
    if (stderr.length > 2 * STDERR_KEEP) stderr = stderr.slice(-STDERR_KEEP)
  })
  let exit: Exit | undefined
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = { code, signal }
      resolve(exit)
    }),
  )
  return {
    child,
    pid: child.pid,
    dir,
    exited,
    get exit() {
      return exit
    },
    stderr: () => stderr.slice(-STDERR_KEEP),
    async stop(graceMs = 5_000) {
      if (exit === undefined) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
        await exited
        clearTimeout(timer)
      }
      rmSync(dir, { recursive: true, force: true })
      return exited
    },
  }
}

/** VmRSS in KiB. */
export function rssKiB(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN)
}

export function threadCount(pid: number): number {
  return Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN)
}

export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length
}

export interface ProcessSample {
  rssKiB: number
  /** RssAnon: the heap, malloc, stacks — where a leak shows (file pages are bounded code) */
  anonKiB: number
  fds: number
  threads: number
}

/** RssAnon of /proc/PID/status, in KiB. */
export function anonKiB(pid: number): number {
  const match = /^RssAnon:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(match?.[1] ?? 0)
}

export function sampleProcess(pid: number): ProcessSample {
  return { rssKiB: rssKiB(pid), anonKiB: anonKiB(pid), fds: fdCount(pid), threads: threadCount(pid) }
}
