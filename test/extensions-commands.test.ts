/**
 * Action 6, ExecuteCommand, against real child processes: a tiny program that prints its argv,
 * environment, working directory and identity as JSON shows what actually reached execve; real
 * shells fork real grandchildren whose pids are checked in /proc after a timeout.
 */
import { spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { executeCommand, killRunningCommands, MAX_SLOT_VALUE_CHARS } from '../ts/extensions/commands.js'
import { runningGroups, type GroupResult } from '../ts/extensions/process-group.js'
import { message as refusal } from './helpers/outcome.js'
import type { CommandParams, CommandPolicy, Outcome } from '../ts/extensions/types.js'

const ROOT = resolve(import.meta.dirname, '..')
const POLICY_FILE = '/etc/sonar-agent/extensions.yml'
const SH = '/bin/sh'
const SLEEP = '/usr/bin/sleep'
const ANYTHING = /^[\s\S]*$/
/** a sane pattern for a file name: it cannot start with a dash */
const NAME = /^[a-z0-9][a-z0-9._-]*$/

let dir: string
let printer: string

beforeAll(() => {
  // 0755 all the way, so the run-as test's `nobody` can reach the printer and the cwd
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'sonar-commands-')))
  chmodSync(dir, 0o755)
  printer = join(dir, 'print-argv')
  writeFileSync(
    printer,
    `#!${process.execPath}
process.stdout.write(JSON.stringify({ argv: process.argv.slice(2), env: process.env, cwd: process.cwd(), uid: process.getuid(), gid: process.getgid(), groups: process.getgroups() }))
`,
    { mode: 0o755 },
  )
})

afterAll(async () => {
  await killRunningCommands()
  rmSync(dir, { recursive: true, force: true })
})

function entry(fields: Partial<CommandPolicy> & Pick<CommandPolicy, 'id' | 'argv'>): CommandPolicy {
  return { slots: new Map(), cwd: dir, env: [], timeoutMs: 20_000, outputLimitBytes: 1 << 20, concurrency: 1, ...fields }
}

function ask(id: string, args: Record<string, string> = {}): CommandParams {
  return { id, args: new Map(Object.entries(args)) }
}

/** the answer's result map read back into the shape the runner produced it from */
type Ran = GroupResult

function ran(outcome: Outcome): Ran {
  if (!outcome.ok) throw new Error(`refused: ${outcome.message}`)
  expect([...outcome.result.keys()]).toEqual([0, 1, 2, 3, 4, 5, 6])
  const r = outcome.result
  return {
    exit: r.get(0) as number,
    signal: r.get(1) as string,
    stdout: r.get(2) as Buffer,
    stderr: r.get(3) as Buffer,
    truncated: r.get(4) as boolean,
    timedOut: r.get(5) as boolean,
    durationMs: r.get(6) as number,
  }
}


interface Printed {
  argv: string[]
  env: Record<string, string>
  cwd: string
  uid: number
  gid: number
  groups: number[]
}

function printed(outcome: Outcome): Printed {
  const r = ran(outcome)
  expect(r.exit, r.stderr.toString()).toBe(0)
  return JSON.parse(r.stdout.toString()) as Printed
}

/**
 * alive = /proc/<pid> exists, is not a zombie and its name is one of `comms` (a reused pid is not
 * the process; a forked child is `sh` until it has exec'd `sleep`)
 */
function alive(pid: number, ...comms: string[]): boolean {
  try {
    if (comms.length && !comms.includes(readFileSync(`/proc/${pid}/comm`, 'utf8').trim())) return false
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2).charAt(0)
    return state !== 'Z' && state !== 'X'
  } catch {
    return false
  }
}

/** SIGKILL is delivered asynchronously: give the kernel a moment, then the process must be gone */
async function expectDead(pid: number, ...comms: string[]): Promise<void> {
  for (let i = 0; i < 100 && alive(pid, ...comms); i++) await new Promise((r) => setTimeout(r, 10))
  expect(alive(pid, ...comms), `pid ${pid} (${comms.join('/')}) still alive`).toBe(false)
}

const pids = (r: Ran) => r.stdout.toString().trim().split(/\s+/).map(Number)

describe('policy: the hub names an id and fills slots, nothing else', () => {
  it('an unknown id is refused, naming the policy file and its commands section', async () => {
    const commands = [entry({ id: 'uptime', argv: ['/usr/bin/uptime'] })]
    expect(refusal(await executeCommand(commands, ask('backup'), POLICY_FILE))).toBe(`command "backup" is not in ${POLICY_FILE} (commands)`)
    expect(refusal(await executeCommand(commands, ask('backup')))).toBe('command "backup" is not in the policy file (EXTENSIONS_FILE) (commands)')
    expect(refusal(await executeCommand([], ask('uptime'), POLICY_FILE))).toContain('is not in')
  })

  it('a missing slot is refused and nothing runs', async () => {
    const marker = join(dir, 'missing-slot-ran')
    const commands = [entry({ id: 'touch', argv: ['/usr/bin/touch', marker, '{name}'], slots: new Map([['name', NAME]]) })]
    const message = refusal(await executeCommand(commands, ask('touch'), POLICY_FILE))
    expect(message).toBe(`command "touch" needs slot "name" (${POLICY_FILE} (commands: "touch", slots: name))`)
    expect(existsSync(marker)).toBe(false)
  })

  it('an extra argument is refused: one the argv does not use, even if the entry declares it', async () => {
    const marker = join(dir, 'extra-slot-ran')
    const commands = [entry({ id: 'touch', argv: ['/usr/bin/touch', marker, '{name}'], slots: new Map([['name', NAME], ['unused', ANYTHING]]) })]
    const extra = refusal(await executeCommand(commands, ask('touch', { name: 'a', flags: '-r' }), POLICY_FILE))
    expect(extra).toContain('command "touch" has no slot "flags"')
    expect(extra).toContain('its slots are name')
    expect(refusal(await executeCommand(commands, ask('touch', { name: 'a', unused: 'x' }), POLICY_FILE))).toContain('has no slot "unused"')
    const none = [entry({ id: 'date', argv: ['/usr/bin/date'] })]
    expect(refusal(await executeCommand(none, ask('date', { x: '1' }), POLICY_FILE))).toContain('it takes no arguments')
    expect(existsSync(marker)).toBe(false)
  })

  it('a value that does not match its pattern is refused, naming the slot in the policy', async () => {
    const commands = [entry({ id: 'p', argv: [printer, '{name}'], slots: new Map([['name', NAME]]) })]
    expect(refusal(await executeCommand(commands, ask('p', { name: 'Upper' }), POLICY_FILE))).toBe(
      `command "p": the value of slot "name" does not match its pattern in ${POLICY_FILE} (commands: "p", slots: name)`,
    )
    expect(printed(await executeCommand(commands, ask('p', { name: 'fine.txt' }))).argv).toEqual(['fine.txt'])
  })

  it('a pattern must match the whole value, even when the loader left it unanchored, multi-line or global', async () => {
    const loose = [entry({ id: 'p', argv: [printer, '{v}'], slots: new Map([['v', /[a-z]+/]]) })]
    expect(refusal(await executeCommand(loose, ask('p', { v: 'abc; id' })))).toContain('does not match')
    expect(refusal(await executeCommand(loose, ask('p', { v: '-rf abc' })))).toContain('does not match')
    const multiline = [entry({ id: 'p', argv: [printer, '{v}'], slots: new Map([['v', /^[a-z]+$/m]]) })]
    expect(refusal(await executeCommand(multiline, ask('p', { v: 'abc\n-rf' })))).toContain('does not match')
    // a stateful /g pattern: lastIndex must not make the second identical request differ
    const global = [entry({ id: 'p', argv: [printer, '{v}'], slots: new Map([['v', /^[a-z]+$/g]]) })]
    expect(printed(await executeCommand(global, ask('p', { v: 'abc' }))).argv).toEqual(['abc'])
    expect(printed(await executeCommand(global, ask('p', { v: 'abc' }))).argv).toEqual(['abc'])
    // alternation that matches a prefix first still finds the whole-value match
    const alternation = [entry({ id: 'p', argv: [printer, '{v}'], slots: new Map([['v', /a|ab/]]) })]
    expect(printed(await executeCommand(alternation, ask('p', { v: 'ab' }))).argv).toEqual(['ab'])
  })

  it('an over-long value is refused before its pattern runs', async () => {
    const commands = [entry({ id: 'p', argv: [printer, '{v}'], slots: new Map([['v', ANYTHING]]) })]
    expect(refusal(await executeCommand(commands, ask('p', { v: 'a'.repeat(MAX_SLOT_VALUE_CHARS + 1) })))).toContain(`longer than ${MAX_SLOT_VALUE_CHARS}`)
    expect(printed(await executeCommand(commands, ask('p', { v: 'a'.repeat(MAX_SLOT_VALUE_CHARS) }))).argv[0]).toHaveLength(MAX_SLOT_VALUE_CHARS)
  })

  it('a broken entry is refused, not run: program not absolute, program from a slot, unknown placeholder', async () => {
    const relative = [entry({ id: 'r', argv: ['touch', join(dir, 'relative-ran')] })]
    expect(refusal(await executeCommand(relative, ask('r'), POLICY_FILE))).toContain('argv[0] "touch" is not an absolute path')
    const chosen = [entry({ id: 'c', argv: ['{program}'], slots: new Map([['program', ANYTHING]]) })]
    expect(refusal(await executeCommand(chosen, ask('c', { program: '/usr/bin/id' }), POLICY_FILE))).toContain('argv[0] is a slot')
    const dangling = [entry({ id: 'd', argv: [printer, '{nope}'] })]
    expect(refusal(await executeCommand(dangling, ask('d', { nope: 'x' }), POLICY_FILE))).toContain('argv uses {nope}, which is not one of its slots')
    expect(existsSync(join(dir, 'relative-ran'))).toBe(false)
  })

  it('a placeholder is a whole argument only: `--name={name}` stays literal', async () => {
    const commands = [entry({ id: 'p', argv: [printer, '--name={name}', '{name}'], slots: new Map([['name', NAME]]) })]
    expect(printed(await executeCommand(commands, ask('p', { name: 'x' }))).argv).toEqual(['--name={name}', 'x'])
  })
})

describe('argument injection: every value reaches the program as one literal argument', () => {
  it('shell metacharacters, newline, backticks, globs, quotes: exactly the bytes sent, nothing interpreted', async () => {
    const pwned = join(dir, 'pwned')
    const values = [
      `; touch ${pwned}`,
      `$(touch ${pwned})`,
      `\`touch ${pwned}\``,
      `a\ntouch ${pwned}`,
      `| touch ${pwned}`,
      `&& touch ${pwned}`,
      `> ${pwned}`,
      '*',
      '/etc/*',
      '~root',
      '${HOME}',
      `'" \\`,
      'a b\tc',
      '',
    ]
    const slots = new Map(values.map((_, i) => [`v${i}`, ANYTHING]))
    const commands = [entry({ id: 'p', argv: [printer, ...values.map((_, i) => `{v${i}}`)], slots })]
    const args = Object.fromEntries(values.map((v, i) => [`v${i}`, v]))
    expect(printed(await executeCommand(commands, ask('p', args))).argv).toEqual(values)
    expect(existsSync(pwned)).toBe(false)
  })

  it('a NUL byte is refused (it would cut the argument in execve) and nothing runs', async () => {
    const marker = join(dir, 'nul-ran')
    const commands = [entry({ id: 'touch', argv: ['/usr/bin/touch', marker, '{v}'], slots: new Map([['v', ANYTHING]]) })]
    expect(refusal(await executeCommand(commands, ask('touch', { v: 'a\0-rf' })))).toBe('command "touch": slot "v" contains a NUL byte')
    expect(existsSync(marker)).toBe(false)
  })

  it('a leading `-` cannot become an option: a sane pattern refuses it (`-rf`, `--reference=…`)', async () => {
    const commands = [entry({ id: 'touch', argv: ['/usr/bin/touch', '{name}'], slots: new Map([['name', NAME]]) })]
    for (const name of ['-rf', '--reference=/etc/shadow', '--help', '-']) {
      expect(refusal(await executeCommand(commands, ask('touch', { name }))), name).toContain('does not match its pattern')
    }
    expect(ran(await executeCommand(commands, ask('touch', { name: 'made.txt' }))).exit).toBe(0)
    expect(existsSync(join(dir, 'made.txt'))).toBe(true)
  })

  it('the pattern is the authority: one that allows a leading dash lets it through, as one argument', async () => {
    const commands = [entry({ id: 'p', argv: [printer, '--', '{n}'], slots: new Map([['n', /^-?[0-9]+$/]]) })]
    expect(printed(await executeCommand(commands, ask('p', { n: '-5' }))).argv).toEqual(['--', '-5'])
    expect(refusal(await executeCommand(commands, ask('p', { n: '-rf' })))).toContain('does not match')
  })
})

describe('the process: environment, directory, stdin, identity, status', () => {
  it('gets only the allow-listed variables the agent has: not even PATH', async () => {
    process.env.SONAR_CMD_TEST_ALLOWED = 'yes'
    process.env.SONAR_CMD_TEST_SECRET = 'hub must not see this'
    try {
      expect(process.env.PATH).toBeTruthy()
      const commands = [entry({ id: 'p', argv: [printer], env: ['SONAR_CMD_TEST_ALLOWED', 'SONAR_CMD_TEST_UNSET'] })]
      expect(printed(await executeCommand(commands, ask('p'))).env).toEqual({ SONAR_CMD_TEST_ALLOWED: 'yes' })
      const none = [entry({ id: 'p', argv: [printer] })]
      expect(printed(await executeCommand(none, ask('p'))).env).toEqual({})
    } finally {
      delete process.env.SONAR_CMD_TEST_ALLOWED
      delete process.env.SONAR_CMD_TEST_SECRET
    }
  })

  it('runs in the policy working directory; a missing one is refused, naming cwd', async () => {
    const work = join(dir, 'work')
    mkdirSync(work, { recursive: true })
    chmodSync(work, 0o755)
    expect(printed(await executeCommand([entry({ id: 'p', argv: [printer], cwd: work })], ask('p'))).cwd).toBe(work)
    const gone = [entry({ id: 'p', argv: [printer], cwd: join(dir, 'absent') })]
    expect(refusal(await executeCommand(gone, ask('p'), POLICY_FILE))).toContain(`is not a directory (${POLICY_FILE}, commands: "p", cwd)`)
  })

  it('stdin is /dev/null', async () => {
    const commands = [entry({ id: 's', argv: ['/usr/bin/readlink', '/proc/self/fd/0'] })]
    expect(ran(await executeCommand(commands, ask('s'))).stdout.toString()).toBe('/dev/null\n')
    // a program that reads stdin gets end of file at once instead of waiting for the timeout
    const cat = ran(await executeCommand([entry({ id: 'c', argv: ['/usr/bin/cat'], timeoutMs: 5_000 })], ask('c')))
    expect(cat).toMatchObject({ exit: 0, timedOut: false })
  })

  it('reports the exit status, and -1 with the signal name when a signal ended it', async () => {
    const exit3 = ran(await executeCommand([entry({ id: 'e', argv: [SH, '-c', 'echo out; echo err >&2; exit 3'] })], ask('e')))
    expect(exit3).toMatchObject({ exit: 3, signal: '', truncated: false, timedOut: false })
    expect(exit3.stdout.toString()).toBe('out\n')
    expect(exit3.stderr.toString()).toBe('err\n')
    expect(Number.isInteger(exit3.durationMs) && exit3.durationMs >= 0).toBe(true)
    const term = ran(await executeCommand([entry({ id: 't', argv: [SH, '-c', 'kill -TERM $$'] })], ask('t')))
    expect(term).toMatchObject({ exit: -1, signal: 'SIGTERM', timedOut: false })
  })

  it('a program that cannot start is a failure naming the command, with no result', async () => {
    const missing = [entry({ id: 'm', argv: [join(dir, 'no-such-program')] })]
    const message = refusal(await executeCommand(missing, ask('m')))
    expect(message).toContain('command "m" could not start')
    expect(message).toContain('ENOENT')
    writeFileSync(join(dir, 'not-executable'), '#!/bin/sh\n', { mode: 0o644 })
    expect(refusal(await executeCommand([entry({ id: 'x', argv: [join(dir, 'not-executable')] })], ask('x')))).toContain('EACCES')
  })

  it('run as another user: as root it switches uid, gid and drops root\'s groups; otherwise it is refused clearly', async () => {
    const commands = [entry({ id: 'p', argv: [printer], user: { name: 'nobody', uid: 65534, gid: 65534 } })]
    const outcome = await executeCommand(commands, ask('p'), POLICY_FILE)
    if (process.getuid?.() === 0) {
      const who = printed(outcome)
      expect(who).toMatchObject({ uid: 65534, gid: 65534 })
      expect(who.groups).not.toContain(0)
    } else {
      expect(refusal(outcome)).toContain('cannot switch users')
    }
  })

  it('an agent that is not root refuses another user with a clear message instead of failing in spawn', async () => {
    // a real second agent process, unprivileged (nobody when this test runs as root)
    const script = join(dir, 'unprivileged-agent.mts')
    writeFileSync(
      script,
      `import { executeCommand } from ${JSON.stringify(join(ROOT, 'ts/extensions/commands.ts'))}
const own = { uid: process.getuid(), gid: process.getgid() }
const base = { slots: new Map(), cwd: ${JSON.stringify(dir)}, env: [], timeoutMs: 10000, outputLimitBytes: 4096, concurrency: 1 }
const other = await executeCommand([{ ...base, id: 'root', argv: ['/usr/bin/id', '-u'], user: { name: 'other', uid: own.uid === 0 ? 65534 : 0, gid: 0 } }], { id: 'root', args: new Map() }, ${JSON.stringify(POLICY_FILE)})
const same = await executeCommand([{ ...base, id: 'self', argv: ['/usr/bin/id', '-u'], user: { name: 'self', ...own } }], { id: 'self', args: new Map() })
process.stdout.write(JSON.stringify({ own, other, same: same.ok ? Buffer.from(same.result.get(2)).toString() : same.message }))
`,
      { mode: 0o644 },
    )
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {}
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'], ...asNobody })
    let out = ''
    let err = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.stderr.on('data', (c: Buffer) => (err += c.toString()))
    const code = await new Promise<number | null>((r) => child.on('close', r))
    expect(code, err).toBe(0)
    const answer = JSON.parse(out) as { own: { uid: number }; other: Outcome; same: string }
    expect(answer.own.uid).not.toBe(0)
    expect(answer.other.ok).toBe(false)
    expect((answer.other as { message: string }).message).toMatch(
      new RegExp(`^command "root" runs as user "other" \\(uid \\d+, gid 0\\) in ${POLICY_FILE} \\(commands: "root", user\\), but the agent runs as uid ${answer.own.uid}, gid \\d+ and cannot switch users`),
    )
    // naming the agent's own user is no switch at all
    expect(answer.same).toBe(`${answer.own.uid}\n`)
  })
})

describe('bounds: output, time, concurrency, shutdown', () => {
  it('an over-long output is cut at the cap, flagged, and never held in the agent', async () => {
    const limit = 64 * 1024
    const commands = [entry({ id: 'flood', argv: ['/usr/bin/head', '-c', '400000000', '/dev/zero'], outputLimitBytes: limit, timeoutMs: 60_000 })]
    const before = process.memoryUsage.rss()
    let peak = before
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5)
    try {
      const r = ran(await executeCommand(commands, ask('flood')))
      // all 400 MB were read (head exits 0 only after writing them all), the first 64 KiB kept
      expect(r).toMatchObject({ exit: 0, truncated: true, timedOut: false })
      expect(r.stdout.length).toBe(limit)
      expect(r.stdout.every((b) => b === 0)).toBe(true)
      expect(r.stderr.length).toBe(0)
    } finally {
      clearInterval(sampler)
    }
    expect(peak - before, 'agent RSS growth while 400 MB passed through').toBeLessThan(100 * 1024 * 1024)
  })

  it('each stream has its own cap; output exactly at the cap is not truncated', async () => {
    const cap = 1000
    const exact = ran(await executeCommand([entry({ id: 'x', argv: ['/usr/bin/head', '-c', String(cap), '/dev/zero'], outputLimitBytes: cap })], ask('x')))
    expect(exact).toMatchObject({ truncated: false })
    expect(exact.stdout.length).toBe(cap)
    const both = ran(await executeCommand([entry({ id: 'y', argv: [SH, '-c', `/usr/bin/head -c 5000 /dev/zero >&2; printf abc`], outputLimitBytes: cap })], ask('y')))
    expect(both.stdout.toString()).toBe('abc')
    expect(both.stderr.length).toBe(cap)
    expect(both.truncated).toBe(true)
  })

  it('a command that forks a child and sleeps past its timeout: the whole group dies, grandchild included', async () => {
    const commands = [entry({ id: 'hang', argv: [SH, '-c', `${SLEEP} 60 & echo $! $$; wait`], timeoutMs: 1_000 })]
    const r = ran(await executeCommand(commands, ask('hang')))
    expect(r).toMatchObject({ exit: -1, signal: 'SIGKILL', timedOut: true })
    expect(r.durationMs).toBeGreaterThanOrEqual(1_000)
    expect(r.durationMs).toBeLessThan(10_000)
    const [grandchild, parent] = pids(r)
    expect(pids(r)).toHaveLength(2)
    expect(grandchild).toBeGreaterThan(1)
    expect(parent).toBeGreaterThan(1)
    await expectDead(parent as number, 'sh')
    await expectDead(grandchild as number, 'sh', 'sleep')
  })

  it('what a command leaves running in its group when it exits is killed, and does not hold up the answer', async () => {
    const commands = [entry({ id: 'leave', argv: [SH, '-c', `${SLEEP} 60 & echo $!`], timeoutMs: 30_000 })]
    const r = ran(await executeCommand(commands, ask('leave')))
    expect(r).toMatchObject({ exit: 0, timedOut: false })
    expect(r.durationMs).toBeLessThan(5_000)
    expect(pids(r)[0]).toBeGreaterThan(1)
    await expectDead(pids(r)[0] as number, 'sh', 'sleep')
  })

  it('a process that leaves the group (its own setsid) escapes the kill but cannot hold up the answer', async () => {
    // the documented limit of a process group (docs/extensions-commands.md): it holds the pipes open
    // the shell exits only once the escaper has its own session (it writes its pid after setsid)
    const ready = join(dir, 'escaped-pid')
    const script = `/usr/bin/setsid ${SH} -c 'echo $$ > ${ready}; exec ${SLEEP} 30' & while [ ! -s ${ready} ]; do ${SLEEP} 0.01; done; /usr/bin/cat ${ready}`
    const commands = [entry({ id: 'escape', argv: [SH, '-c', script], timeoutMs: 30_000 })]
    const r = ran(await executeCommand(commands, ask('escape')))
    const escaped = pids(r)[0] as number
    try {
      expect(r).toMatchObject({ exit: 0, timedOut: false })
      expect(r.durationMs).toBeLessThan(5_000)
      expect(alive(escaped)).toBe(true)
    } finally {
      process.kill(escaped, 'SIGKILL')
    }
  })

  it('a run over the concurrency limit of its id is refused, not queued; other ids are not affected', async () => {
    const commands = [
      entry({ id: 'slow', argv: [SLEEP, '1'], concurrency: 1 }),
      entry({ id: 'pair', argv: [SLEEP, '1'], concurrency: 2 }),
      entry({ id: 'quick', argv: ['/usr/bin/true'] }),
    ]
    const first = executeCommand(commands, ask('slow'))
    expect(refusal(await executeCommand(commands, ask('slow'), POLICY_FILE))).toBe(
      `command "slow" is already running 1 time, its limit in ${POLICY_FILE} (commands: "slow", concurrency)`,
    )
    const pair = [executeCommand(commands, ask('pair')), executeCommand(commands, ask('pair'))]
    expect(refusal(await executeCommand(commands, ask('pair')))).toContain('already running 2 times')
    expect(ran(await executeCommand(commands, ask('quick'))).exit).toBe(0)
    expect(ran(await first).exit).toBe(0)
    for (const run of pair) expect(ran(await run).exit).toBe(0)
    // the slot is free again once a run ended, also after a refusal or a failed start
    expect(ran(await executeCommand(commands, ask('slow'))).exit).toBe(0)
    const broken = [entry({ id: 'slow', argv: [join(dir, 'no-such-program')] })]
    expect(refusal(await executeCommand(broken, ask('slow')))).toContain('could not start')
    expect(ran(await executeCommand(commands, ask('slow'))).exit).toBe(0)
  })

  it('killRunningCommands kills every running group (for the agent\'s shutdown) and waits for them', async () => {
    // each run writes "grandchild parent" to pids-<tag> once its sleeper runs
    const script = `${SLEEP} 60 & echo $! $$ > ${dir}/pids-$1; wait`
    const commands = [entry({ id: 'long', argv: [SH, '-c', script, 'sh', '{tag}'], slots: new Map([['tag', NAME]]), timeoutMs: 60_000, concurrency: 2 })]
    const runs = ['a', 'b'].map((tag) => executeCommand(commands, ask('long', { tag })))
    const files = ['a', 'b'].map((tag) => join(dir, `pids-${tag}`))
    const written = () => files.every((f) => existsSync(f) && readFileSync(f, 'utf8').endsWith('\n'))
    for (let i = 0; i < 500 && !written(); i++) await new Promise((r) => setTimeout(r, 10))
    const started = files.map((f) => readFileSync(f, 'utf8').trim().split(' ').map(Number))
    // $! is known right after the fork, before the child has exec'd sleep
    for (let i = 0; i < 500 && !started.every(([grandchild]) => alive(grandchild as number, 'sleep')); i++) await new Promise((r) => setTimeout(r, 10))
    for (const [grandchild, parent] of started) {
      expect(alive(grandchild as number, 'sleep')).toBe(true)
      expect(alive(parent as number, 'sh')).toBe(true)
    }
    expect(runningGroups()).toBe(2)
    const killedAt = Date.now()
    await killRunningCommands()
    expect(Date.now() - killedAt).toBeLessThan(5_000)
    expect(runningGroups()).toBe(0)
    for (const run of runs) expect(ran(await run)).toMatchObject({ exit: -1, signal: 'SIGKILL', timedOut: false })
    for (const [grandchild, parent] of started) {
      await expectDead(parent as number, 'sh')
      await expectDead(grandchild as number, 'sh', 'sleep')
    }
  })
})
