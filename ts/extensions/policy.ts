/**
 * The host-action policy (EXTENSIONS_FILE, default /etc/sonar-agent/extensions.yml): the only thing
 * that enables actions 6–13. Not the environment, not flags, never the hub. A file anyone but root
 * or the agent's own user could change — or one in a directory they could change — is refused, as
 * sshd's StrictModes refuses such an authorized_keys: whoever can write it could run anything the
 * policy allows (a root-owned sticky directory such as /tmp is accepted above it: nobody else can
 * rename or remove what is in it). Every field is checked; unknown fields are errors (a misspelt `writable` must not
 * silently mean read-only, nor a misspelt `slots` mean "no check").
 */
import { readFileSync, realpathSync, statSync, type Stats } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, isAbsolute } from 'node:path'
import * as z from 'zod/mini'
import { SERVICE_ACTIONS, type CommandPolicy, type ExtensionsPolicy, type FileRoot, type ServicePolicy } from './types.js'

const requireModule = createRequire(import.meta.url)
// yaml is loaded only when a policy file exists
const loadYaml = (): typeof import('yaml') => requireModule('yaml') as typeof import('yaml')

export const DEFAULT_EXTENSIONS_FILE = '/etc/sonar-agent/extensions.yml'
/** A policy is a few entries; anything larger is a mistake. */
const MAX_POLICY_BYTES = 256 * 1024
/** Upper bounds, whatever the file says: the agent's own memory is at stake. */
const MAX_OUTPUT_LIMIT = 16 * 1024 * 1024
const MAX_FILE_BYTES = 64 * 1024 * 1024
const MAX_TIMEOUT_MS = 60 * 60 * 1000

export type PolicyState =
  /** no file: every action is refused (the default) */
  | { kind: 'absent'; path: string }
  /** a file that cannot be used, and why */
  | { kind: 'refused'; path: string; reason: string }
  | { kind: 'loaded'; path: string; policy: ExtensionsPolicy }

export interface PolicyDeps {
  /** the agent's own uid (root's is always accepted) */
  uid: number
  /** the core's Go-duration grammar (native.parseDuration): milliseconds, or null */
  parseDuration: (text: string) => number | null
  /** name → uid/gid (default: /etc/passwd) */
  lookupUser?: (name: string) => { uid: number; gid: number } | undefined
}

/**
 * sshd's StrictModes: the file and every directory above it owned by root or `uid`, writable by
 * nobody else. undefined when safe, else the reason.
 */
export function unsafeOwnership(path: string, uid: number): string | undefined {
  let target: string
  try {
    target = realpathSync(path)
  } catch (error) {
    return `cannot resolve it: ${(error as Error).message}`
  }
  const file = statSync(target)
  if (!file.isFile()) return `${target} is not a regular file`
  const check = (at: string, what: string, st: Stats = statSync(at)): string | undefined => {
    if (st.uid !== 0 && st.uid !== uid) return `${what} ${at} is owned by uid ${st.uid}, not root or the agent's user (uid ${uid})`
    // a sticky directory owned by root (/tmp) is fine above the file: nobody else may rename or
    // remove what is in it, so the path below cannot be swapped
    const stickyAbove = what !== 'the file' && st.isDirectory() && (st.mode & 0o1000) !== 0 && st.uid === 0
    if ((st.mode & 0o022) !== 0 && !stickyAbove) return `${what} ${at} is writable by ${st.mode & 0o002 ? 'everyone' : 'its group'} (mode ${(st.mode & 0o7777).toString(8)}); only its owner may write it`
    return undefined
  }
  const problem = check(target, 'the file', file)
  if (problem) return problem
  for (let dir = dirname(target); ; dir = dirname(dir)) {
    const above = check(dir, 'its directory')
    if (above) return above
    if (dir === dirname(dir)) return undefined
  }
}

/** `64KiB`, `1MiB`, `512` (bytes): binary units, as the README writes sizes. */
export function parseSize(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined
  const match = /^\s*(\d+)\s*(B|KiB|MiB|GiB)?\s*$/.exec(value)
  if (!match) return undefined
  const unit = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }[match[2] ?? 'B'] ?? 1
  const bytes = Number(match[1]) * unit
  return Number.isSafeInteger(bytes) ? bytes : undefined
}

function passwdUser(name: string): { uid: number; gid: number } | undefined {
  let text: string
  try {
    text = readFileSync('/etc/passwd', 'utf8')
  } catch {
    return undefined
  }
  for (const line of text.split('\n')) {
    const [user, , uid, gid] = line.split(':')
    if (user === name && uid !== undefined && gid !== undefined && /^\d+$/.test(uid) && /^\d+$/.test(gid)) return { uid: Number(uid), gid: Number(gid) }
  }
  return undefined
}

const ID = /^[a-z0-9][a-z0-9._-]{0,63}$/
const SLOT_REF = /^\{([A-Za-z_][A-Za-z0-9_]{0,31})\}$/
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const UNIT_GLOB = /^[A-Za-z0-9:_.\\@*?[\]-]{1,255}$/

const absolute = (what: string) => z.string({ error: `${what} must be a text` }).check(z.refine((p) => isAbsolute(p), { error: `${what} must be an absolute path` }))
const size = (what: string) => z.union([z.string(), z.number()], { error: `${what} must be a size such as 64KiB` })
const duration = (what: string) => z.string({ error: `${what} must be a duration such as 30s` })

const commandSchema = z.strictObject({
  id: z.string().check(z.regex(ID, { error: 'id must be 1–64 of a-z 0-9 . _ - (starting with a letter or digit)' })),
  argv: z.array(z.string({ error: 'argv entries must be texts' })).check(z.minLength(1, { error: 'argv must name the program' })),
  slots: z.optional(z.record(z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]{0,31}$/, { error: 'slot names are identifiers' })), z.string({ error: 'a slot pattern must be a text (a regular expression)' }))),
  cwd: z.optional(absolute('cwd')),
  env: z.optional(z.array(z.string().check(z.regex(ENV_NAME, { error: 'env entries are variable names' })))),
  timeout: z.optional(duration('timeout')),
  output_limit: z.optional(size('output_limit')),
  concurrency: z.optional(z.int().check(z.gte(1), z.lte(64))),
  user: z.optional(z.string()),
})

const servicesSchema = z.strictObject({
  list: z.optional(z.array(z.string().check(z.regex(UNIT_GLOB, { error: 'list entries are unit names or globs' })))),
  manage: z.optional(z.array(z.string().check(z.regex(UNIT_GLOB, { error: 'manage entries are unit names or globs' })))),
  actions: z.optional(z.array(z.enum(SERVICE_ACTIONS, { error: `actions are ${SERVICE_ACTIONS.join(', ')}` }))),
})

const fileRootSchema = z.strictObject({
  name: z.string().check(z.regex(ID, { error: 'name must be 1–64 of a-z 0-9 . _ -' })),
  path: absolute('path'),
  writable: z.optional(z.boolean({ error: 'writable must be true or false' })),
  max_read: z.optional(size('max_read')),
  max_write: z.optional(size('max_write')),
})

const policySchema = z.strictObject({
  commands: z.optional(z.array(commandSchema)),
  services: z.optional(servicesSchema),
  files: z.optional(z.array(fileRootSchema)),
})

class PolicyError extends Error {}

function bytesOf(value: string | number | undefined, fallback: number, max: number, what: string): number {
  if (value === undefined) return fallback
  const bytes = parseSize(value)
  if (bytes === undefined || bytes < 1 || bytes > max) throw new PolicyError(`${what}: ${JSON.stringify(value)} is not a size from 1 B to ${max / 1024 / 1024} MiB (e.g. 64KiB)`)
  return bytes
}

function command(entry: z.output<typeof commandSchema>, deps: PolicyDeps): CommandPolicy {
  const at = `commands[${entry.id}]`
  const [program] = entry.argv
  if (!program || !isAbsolute(program)) throw new PolicyError(`${at}.argv[0] must be an absolute path (no PATH lookup)`)
  const slots = new Map<string, RegExp>()
  for (const [name, pattern] of Object.entries(entry.slots ?? {})) {
    try {
      // anchored: the whole value must match, whatever the pattern says
      slots.set(name, new RegExp(`^(?:${pattern})$`, 'u'))
    } catch (error) {
      throw new PolicyError(`${at}.slots.${name}: not a regular expression (${(error as Error).message})`)
    }
  }
  const used = new Set<string>()
  entry.argv.forEach((arg, i) => {
    const ref = SLOT_REF.exec(arg)
    if (ref) {
      const name = ref[1] ?? ''
      if (!slots.has(name)) throw new PolicyError(`${at}.argv[${i}] uses slot {${name}}, which slots does not define`)
      if (i === 0) throw new PolicyError(`${at}.argv[0] cannot be a slot`)
      used.add(name)
    } else if (/[{}]/.test(arg)) {
      throw new PolicyError(`${at}.argv[${i}] ${JSON.stringify(arg)}: a slot must be a whole argument ({name}), never part of one`)
    }
  })
  for (const name of slots.keys()) if (!used.has(name)) throw new PolicyError(`${at}.slots.${name} is not used in argv`)
  const timeoutMs = entry.timeout === undefined ? 30_000 : deps.parseDuration(entry.timeout)
  if (timeoutMs === null || timeoutMs <= 0 || timeoutMs > MAX_TIMEOUT_MS) throw new PolicyError(`${at}.timeout: ${JSON.stringify(entry.timeout)} is not a duration from 1ms to 1h (e.g. 30s)`)
  let user: CommandPolicy['user']
  if (entry.user !== undefined) {
    const found = (deps.lookupUser ?? passwdUser)(entry.user)
    if (!found) throw new PolicyError(`${at}.user: no user ${JSON.stringify(entry.user)} on this host`)
    user = { name: entry.user, ...found }
  }
  return {
    id: entry.id,
    argv: entry.argv,
    slots,
    cwd: entry.cwd ?? '/',
    env: entry.env ?? [],
    timeoutMs,
    outputLimitBytes: bytesOf(entry.output_limit, 64 * 1024, MAX_OUTPUT_LIMIT, `${at}.output_limit`),
    concurrency: entry.concurrency ?? 1,
    ...(user ? { user } : {}),
  }
}

function fileRoot(entry: z.output<typeof fileRootSchema>): FileRoot {
  const at = `files[${entry.name}]`
  let path: string
  try {
    path = realpathSync(entry.path)
  } catch (error) {
    throw new PolicyError(`${at}.path ${entry.path}: ${(error as Error).message}`)
  }
  if (!statSync(path).isDirectory()) throw new PolicyError(`${at}.path ${entry.path} is not a directory`)
  return {
    name: entry.name,
    path,
    writable: entry.writable ?? false,
    maxReadBytes: bytesOf(entry.max_read, 1024 * 1024, MAX_FILE_BYTES, `${at}.max_read`),
    maxWriteBytes: bytesOf(entry.max_write, 1024 * 1024, MAX_FILE_BYTES, `${at}.max_write`),
  }
}

/** The policy in `text` (already read from `source`), or a PolicyError naming the field. */
export function parsePolicy(text: string, source: string, deps: PolicyDeps): ExtensionsPolicy {
  let document: unknown
  try {
    document = loadYaml().parse(text) ?? {}
  } catch (error) {
    throw new PolicyError(`not valid YAML: ${(error as Error).message.split('\n')[0]}`)
  }
  const parsed = policySchema.safeParse(document)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const at = issue?.path.map(String).join('.') || 'the file'
    // a misspelt field must be named: it would otherwise mean its default (read-only, no check…)
    if (issue?.code === 'unrecognized_keys') throw new PolicyError(`${at}: unknown field ${issue.keys.join(', ')} (fields are listed in docs/extensions.md)`)
    throw new PolicyError(`${at}: ${issue?.message ?? 'invalid'}`)
  }
  const commands = (parsed.data.commands ?? []).map((entry) => command(entry, deps))
  const ids = new Set<string>()
  for (const { id } of commands) {
    if (ids.has(id)) throw new PolicyError(`commands: id ${id} appears twice`)
    ids.add(id)
  }
  const files = (parsed.data.files ?? []).map(fileRoot)
  const names = new Set<string>()
  for (const { name } of files) {
    if (names.has(name)) throw new PolicyError(`files: name ${name} appears twice`)
    names.add(name)
  }
  const services: ServicePolicy = {
    list: parsed.data.services?.list ?? [],
    manage: parsed.data.services?.manage ?? [],
    actions: parsed.data.services?.actions ?? ['start', 'stop', 'restart', 'reload'],
  }
  return { source, commands, services, files }
}

/** Reads and checks the policy file at `path` (never throws). */
export function loadPolicy(path: string, deps: PolicyDeps): PolicyState {
  let size: number
  try {
    size = statSync(path).size
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent', path }
    return { kind: 'refused', path, reason: `cannot read it: ${(error as Error).message}` }
  }
  const unsafe = unsafeOwnership(path, deps.uid)
  if (unsafe) return { kind: 'refused', path, reason: unsafe }
  if (size > MAX_POLICY_BYTES) return { kind: 'refused', path, reason: `it is larger than ${MAX_POLICY_BYTES / 1024} KiB` }
  try {
    return { kind: 'loaded', path, policy: parsePolicy(readFileSync(path, 'utf8'), path, deps) }
  } catch (error) {
    if (error instanceof PolicyError) return { kind: 'refused', path, reason: error.message }
    return { kind: 'refused', path, reason: `cannot read it: ${(error as Error).message}` }
  }
}

/** One line for the log at start: what the policy enables. */
export function describePolicy(state: PolicyState): string {
  switch (state.kind) {
    case 'absent':
      return `host actions: none enabled (no ${state.path})`
    case 'refused':
      return `host actions: none enabled — ${state.path} is not used: ${state.reason}`
    case 'loaded': {
      const { commands, services, files } = state.policy
      return `host actions from ${state.path}: ${commands.length} command(s), services list ${services.list.length} / manage ${services.manage.length} pattern(s), ${files.length} file root(s)`
    }
  }
}
