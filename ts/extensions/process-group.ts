/**
 * One program run in its own process group, bounded in time and output: what ExecuteCommand
 * (commands.ts) uses once the policy has said yes. No shell: the argv array goes to execve as is.
 *
 * The program is the leader of a new session (spawn's `detached`: setsid), so a single
 * kill(-pgid, SIGKILL) reaches it and everything it started that stayed in its group — on timeout,
 * when the program exits (nothing it left behind outlives the run), and on `killAllGroups`.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import type { Readable } from 'node:stream'

export interface GroupSpec {
  /** argv[0] is an absolute path; no PATH lookup, no shell */
  argv: readonly string[]
  cwd: string
  /** the child's whole environment */
  env: Record<string, string>
  timeoutMs: number
  /** per stream: the first this many bytes are kept, the rest is read and dropped */
  outputLimitBytes: number
  /** switch to this uid/gid in the child (libuv also drops supplementary groups) */
  user?: { uid: number; gid: number }
}

export interface GroupResult {
  /** exit status; −1 when a signal ended the program */
  exit: number
  /** the signal that ended the program, "" if none */
  signal: string
  stdout: Buffer
  stderr: Buffer
  truncated: boolean
  timedOut: boolean
  durationMs: number
}

export type GroupOutcome = { started: true; result: GroupResult } | { started: false; error: string }

/**
 * After the program exited and its group was killed, how long its pipes may stay open: a process
 * that left the group (its own setsid) can hold them forever, and must not hold up the answer.
 */
const PIPE_GRACE_MS = 500

interface Running {
  kill(): void
  done: Promise<void>
}

const running = new Set<Running>()

/** SIGKILL to every group still running; resolves when each run has finished. */
export async function killAllGroups(): Promise<void> {
  const all = [...running]
  for (const run of all) run.kill()
  await Promise.all(all.map((run) => run.done))
}

export function runningGroups(): number {
  return running.size
}

/** Keeps the first `limit` bytes of a stream and counts the rest. */
class Capture {
  private readonly chunks: Buffer[] = []
  private kept = 0
  overflow = false
  constructor(private readonly limit: number) {}

  add(chunk: Buffer): void {
    const room = this.limit - this.kept
    if (chunk.length > room) this.overflow = true
    if (room <= 0) return
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk
    this.chunks.push(Buffer.from(part)) // a copy: a subarray would pin the whole pooled chunk
    this.kept += part.length
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks, this.kept)
  }
}

function killGroup(pgid: number | undefined): void {
  if (pgid === undefined) return
  try {
    process.kill(-pgid, 'SIGKILL')
  } catch {
    // ESRCH: the group is already gone
  }
}

export function runInGroup(spec: GroupSpec): Promise<GroupOutcome> {
  const [file, ...args] = spec.argv
  if (file === undefined) return Promise.resolve({ started: false, error: 'empty argv' })
  const started = performance.now()
  let child: ChildProcess
  try {
    child = spawn(file, args, {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ['ignore', 'pipe', 'pipe'], // stdin: /dev/null
      detached: true,
      shell: false,
      windowsHide: true,
      ...(spec.user ? { uid: spec.user.uid, gid: spec.user.gid } : {}),
    })
  } catch (error) {
    // libuv errors other than ENOENT/EACCES/EAGAIN/EMFILE/ENFILE (EPERM from setuid, E2BIG…) throw here
    return Promise.resolve({ started: false, error: error instanceof Error ? error.message : String(error) })
  }

  let finish!: (outcome: GroupOutcome) => void
  const outcome = new Promise<GroupOutcome>((resolve) => (finish = resolve))
  const pgid = child.pid
  const stdout = new Capture(spec.outputLimitBytes)
  const stderr = new Capture(spec.outputLimitBytes)
  let timedOut = false
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined
  let openStreams = 2
  let graceTimer: NodeJS.Timeout | undefined
  let settled = false

  const run: Running = {
    // after the exit the group was killed once already; a later kill could only hit a reused pid
    kill: () => {
      if (!exited) killGroup(pgid)
    },
    done: outcome.then(() => undefined),
  }
  running.add(run)

  const timeoutTimer = setTimeout(() => {
    timedOut = true
    killGroup(pgid)
  }, spec.timeoutMs)

  const settle = (value: GroupOutcome) => {
    if (settled) return
    settled = true
    clearTimeout(timeoutTimer)
    if (graceTimer) clearTimeout(graceTimer)
    running.delete(run)
    finish(value)
  }

  const maybeDone = () => {
    if (!exited || openStreams > 0) return
    settle({
      started: true,
      result: {
        exit: exited.code ?? -1,
        signal: exited.code === null ? (exited.signal ?? '') : '',
        stdout: stdout.bytes(),
        stderr: stderr.bytes(),
        truncated: stdout.overflow || stderr.overflow,
        timedOut,
        durationMs: Math.max(0, Math.round(performance.now() - started)),
      },
    })
  }

  const watch = (stream: Readable | null, capture: Capture) => {
    if (!stream) {
      openStreams -= 1
      return
    }
    // Flowing mode: every chunk is taken as it comes and dropped past the cap, so the child never
    // blocks on a full pipe and the agent holds at most outputLimitBytes per stream.
    stream.on('data', (chunk: Buffer) => capture.add(chunk))
    stream.on('error', () => undefined)
    stream.once('close', () => {
      openStreams -= 1
      maybeDone()
    })
  }
  watch(child.stdout, stdout)
  watch(child.stderr, stderr)

  child.once('error', (error) => {
    // ENOENT, EACCES… before the program ran: there is no exit to wait for
    if (exited) return
    clearTimeout(timeoutTimer)
    child.stdout?.destroy()
    child.stderr?.destroy()
    settle({ started: false, error: error.message })
  })

  child.once('exit', (code, signal) => {
    exited = { code, signal }
    clearTimeout(timeoutTimer)
    killGroup(pgid)
    if (openStreams > 0) {
      graceTimer = setTimeout(() => {
        child.stdout?.destroy()
        child.stderr?.destroy()
      }, PIPE_GRACE_MS)
    }
    maybeDone()
  })

  return outcome
}
