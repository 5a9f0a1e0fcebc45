/**
 * Action 6, ExecuteCommand (docs/extensions-commands.md): the hub names a command id from the
 * host's policy file and fills its slots; nothing else reaches the program. Every slot value must
 * match its pattern as a whole, goes to the program as exactly one argument (no shell, ever), and
 * the program gets only the allow-listed environment, the policy's working directory, /dev/null
 * as stdin, a timeout that kills its whole process group, and capped output.
 *
 * The params come already decoded and verified; the policy already loaded. Nothing in params is
 * trusted: the id, the slot names and the values are checked here against the policy entry.
 */
import { stat } from 'node:fs/promises'
import { isAbsolute } from 'node:path'
import { killAllGroups, runInGroup, type GroupSpec } from './process-group.js'
import { refused, type CommandParams, type CommandPolicy, type Outcome } from './types.js'

/** A slot value longer than this is refused before its pattern runs (bounds regex time). */
export const MAX_SLOT_VALUE_CHARS = 4096

const DEFAULT_POLICY_NAME = 'the policy file (EXTENSIONS_FILE)'

/** runs in progress per command id (concurrency is per id; one more is refused, not queued) */
const runningById = new Map<string, number>()

/**
 * Kills every running command's process group (SIGKILL) and resolves when all have ended. For the
 * agent's shutdown; this module registers no signal or exit handler of its own.
 */
export function killRunningCommands(): Promise<void> {
  return killAllGroups()
}

/** An argument that is exactly `{name}` is that slot's value. */
function slotOf(arg: string): string | undefined {
  const match = /^\{([^{}]+)\}$/.exec(arg)
  return match?.[1]
}

/** Hub-chosen text in a message: quoted, control characters escaped, length bounded. */
function quote(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text)
}

const anchoredCache = new WeakMap<RegExp, RegExp>()

/**
 * The slot's pattern, anchored at both ends whatever the loader did, without the flags that make
 * a match depend on state (g, y) or let `^`/`$` stop at a line break (m).
 */
function anchored(pattern: RegExp): RegExp {
  let whole = anchoredCache.get(pattern)
  if (!whole) {
    whole = new RegExp(`^(?:${pattern.source})$`, pattern.flags.replace(/[gmy]/g, ''))
    anchoredCache.set(pattern, whole)
  }
  return whole
}

export function matchesWhole(pattern: RegExp, value: string): boolean {
  const match = anchored(pattern).exec(value)
  return match !== null && match.index === 0 && match[0].length === value.length
}

/** The loader validates the policy; this repeats what a wrong entry would turn into a hole. */
function policyFault(entry: CommandPolicy): string | undefined {
  const [program] = entry.argv
  if (program === undefined) return 'argv is empty'
  if (slotOf(program) !== undefined) return 'argv[0] is a slot: the hub would choose the program'
  if (!isAbsolute(program)) return `argv[0] ${quote(program)} is not an absolute path (no PATH lookup is done)`
  if (!isAbsolute(entry.cwd)) return `cwd ${quote(entry.cwd)} is not an absolute path`
  for (const arg of entry.argv) {
    const slot = slotOf(arg)
    if (slot !== undefined && !entry.slots.has(slot)) return `argv uses {${slot}}, which is not one of its slots`
    if (arg.includes('\0')) return 'argv contains a NUL byte'
  }
  if (!Number.isSafeInteger(entry.timeoutMs) || entry.timeoutMs <= 0) return 'timeout must be a positive number of milliseconds'
  if (!Number.isSafeInteger(entry.outputLimitBytes) || entry.outputLimitBytes < 0) return 'output limit must be a byte count'
  if (!Number.isSafeInteger(entry.concurrency) || entry.concurrency < 1) return 'concurrency must be at least 1'
  if (entry.user && !(Number.isSafeInteger(entry.user.uid) && entry.user.uid >= 0 && Number.isSafeInteger(entry.user.gid) && entry.user.gid >= 0)) return 'user has no valid uid/gid'
  return undefined
}

/** The slot values → the final argv, or why not. */
function fillSlots(entry: CommandPolicy, args: ReadonlyMap<string, string>, where: string): { argv: string[] } | { refusal: string } {
  const used = new Set(entry.argv.map(slotOf).filter((slot): slot is string => slot !== undefined))
  const id = quote(entry.id)
  for (const name of args.keys()) {
    if (!used.has(name)) {
      const known = used.size ? `its slots are ${[...used].join(', ')}` : 'it takes no arguments'
      return { refusal: `command ${id} has no slot ${quote(name)} in ${where} (commands: ${id}, argv): ${known}` }
    }
  }
  for (const name of used) {
    const value = args.get(name)
    const field = `${where} (commands: ${id}, slots: ${name})`
    if (value === undefined) return { refusal: `command ${id} needs slot ${quote(name)} (${field})` }
    if (value.includes('\0')) return { refusal: `command ${id}: slot ${quote(name)} contains a NUL byte` }
    if (value.length > MAX_SLOT_VALUE_CHARS) return { refusal: `command ${id}: slot ${quote(name)} is longer than ${MAX_SLOT_VALUE_CHARS} characters` }
    const pattern = entry.slots.get(name)
    if (!pattern || !matchesWhole(pattern, value)) return { refusal: `command ${id}: the value of slot ${quote(name)} does not match its pattern in ${field}` }
  }
  const argv = entry.argv.map((arg) => {
    const slot = slotOf(arg)
    return slot === undefined ? arg : (args.get(slot) as string)
  })
  return { argv }
}

/** The child's whole environment: the allow-listed names the agent itself has, nothing else. */
function allowedEnv(names: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {}
  for (const name of names) {
    const value = process.env[name]
    if (value !== undefined) env[name] = value
  }
  return env
}

/** uid/gid to switch to, undefined to run as the agent, or why it cannot be done. */
function runAs(entry: CommandPolicy, where: string): { user?: { uid: number; gid: number } } | { refusal: string } {
  const user = entry.user
  if (!user) return {}
  const ownUid = process.getuid?.()
  const ownGid = process.getgid?.()
  if (user.uid === ownUid && user.gid === ownGid) return {}
  if (ownUid !== 0) {
    return {
      refusal: `command ${quote(entry.id)} runs as user ${quote(user.name)} (uid ${user.uid}, gid ${user.gid}) in ${where} (commands: ${quote(entry.id)}, user), but the agent runs as uid ${ownUid ?? '?'}, gid ${ownGid ?? '?'} and cannot switch users: remove user from the entry or make it the agent's own`,
    }
  }
  return { user: { uid: user.uid, gid: user.gid } }
}

/**
 * ExecuteCommand: runs the policy entry `params.id` with `params.args` in its slots, or refuses.
 * `policyFile` names the file in messages (the loader's `ExtensionsPolicy.source`).
 */
export async function executeCommand(commands: readonly CommandPolicy[], params: CommandParams, policyFile?: string): Promise<Outcome> {
  const where = policyFile ?? DEFAULT_POLICY_NAME
  const entry = commands.find((command) => command.id === params.id)
  if (!entry) return refused(`command ${quote(params.id)} is not in ${where} (commands)`)
  const id = quote(entry.id)

  const fault = policyFault(entry)
  if (fault) return refused(`command ${id} in ${where} is not usable: ${fault}`)
  const filled = fillSlots(entry, params.args, where)
  if ('refusal' in filled) return refused(filled.refusal)
  const identity = runAs(entry, where)
  if ('refusal' in identity) return refused(identity.refusal)

  // Taken before the first await, so two requests arriving together cannot both pass the check.
  const now = runningById.get(entry.id) ?? 0
  if (now >= entry.concurrency) {
    return refused(`command ${id} is already running ${now} time${now === 1 ? '' : 's'}, its limit in ${where} (commands: ${id}, concurrency)`)
  }
  runningById.set(entry.id, now + 1)
  try {
    const dir = await stat(entry.cwd).catch(() => undefined)
    if (!dir?.isDirectory()) return refused(`command ${id}: working directory ${quote(entry.cwd)} is not a directory (${where}, commands: ${id}, cwd)`)
    const spec: GroupSpec = {
      argv: filled.argv,
      cwd: entry.cwd,
      env: allowedEnv(entry.env),
      timeoutMs: entry.timeoutMs,
      outputLimitBytes: entry.outputLimitBytes,
      ...(identity.user ? { user: identity.user } : {}),
    }
    const outcome = await runInGroup(spec)
    if (!outcome.started) return refused(`command ${id} could not start: ${outcome.error}`)
    const r = outcome.result
    const result = new Map<number, unknown>([
      [0, r.exit],
      [1, r.signal],
      [2, r.stdout],
      [3, r.stderr],
      [4, r.truncated],
      [5, r.timedOut],
      [6, r.durationMs],
    ])
    return { ok: true, result, audit: { exit: r.exit, bytes: r.stdout.length + r.stderr.length } }
  } finally {
    const left = (runningById.get(entry.id) ?? 1) - 1
    if (left > 0) runningById.set(entry.id, left)
    else runningById.delete(entry.id)
  }
}
