/**
 * Host actions 10–13 through ts/extensions/files.ts and the real addon, on a real filesystem:
 * the policy side (root by name, read-only roots, size limits, the messages that name the policy
 * entry), the answer maps, and the attacks that must stay refused end to end. The jail's full
 * attack suite (both resolutions, racing swaps) is crates/sonar-core/tests/files_jail.rs.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, chownSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { defaultProtectedPaths, deleteFile, listFiles, readFile, writeFile, type FilesContext } from '../ts/extensions/files.js'
import type { FileRoot } from '../ts/extensions/types.js'
import { message, result } from './helpers/outcome.js'

const SOURCE = '/etc/sonar-agent/extensions.yml'
let base: string
let logs: string
let data: string
let context: Partial<FilesContext>

function root(name: string, path: string, extra: Partial<FileRoot> = {}): FileRoot {
  return { name, path, writable: false, maxReadBytes: 1024 * 1024, maxWriteBytes: 1024 * 1024, ...extra }
}

let roots: FileRoot[]

beforeEach(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), 'sonar-files-')))
  logs = join(base, 'logs')
  data = join(base, 'data')
  mkdirSync(logs)
  mkdirSync(data)
  mkdirSync(join(base, 'outside'))
  writeFileSync(join(base, 'outside', 'secret'), 'OUTSIDE')
  writeFileSync(join(data, 'fingerprint'), 'FINGERPRINT')
  writeFileSync(join(logs, 'app.log'), 'line one\nline two\n')
  roots = [root('logs', logs), root('drop', logs, { writable: true, maxWriteBytes: 16 })]
  context = { source: SOURCE, protect: [data] }
})

afterEach(() => rmSync(base, { recursive: true, force: true }))


const sha256 = (bytes: Uint8Array | string) => new Uint8Array(createHash('sha256').update(bytes).digest())

describe('policy', () => {
  it('refuses an unknown root and lists the configured ones', async () => {
    const m = message(await readFile(roots, { root: 'etc', path: 'passwd', offset: 0 }, context))
    expect(m).toBe(`root "etc" is not in ${SOURCE} (files; configured roots: logs, drop)`)
    expect(message(await listFiles([], { root: 'x', path: '' }, context))).toBe(`root "x" is not in ${SOURCE} (files; no roots are configured)`)
  })

  it('refuses writes and deletes on a read-only root, naming the policy file', async () => {
    expect(message(await writeFile(roots, { root: 'logs', path: 'new', content: new Uint8Array([1]) }, context))).toBe(`root "logs" is read-only in ${SOURCE} (files)`)
    expect(message(await deleteFile(roots, { root: 'logs', path: 'app.log' }, context))).toBe(`root "logs" is read-only in ${SOURCE} (files)`)
    expect(existsSync(join(logs, 'new'))).toBe(false)
    expect(existsSync(join(logs, 'app.log'))).toBe(true)
  })

  it('refuses a write larger than max_write', async () => {
    const m = message(await writeFile(roots, { root: 'drop', path: 'big', content: new Uint8Array(17) }, context))
    expect(m).toBe(`root "drop" accepts writes of at most 16 bytes in ${SOURCE} (files: max_write); this one is 17`)
    expect(existsSync(join(logs, 'big'))).toBe(false)
  })

  it('cuts a read at max_read and says the file goes on', async () => {
    const small = [root('logs', logs, { maxReadBytes: 4 })]
    const r = result(await readFile(small, { root: 'logs', path: 'app.log', offset: 0, length: 100 }, context))
    expect(Buffer.from(r.get(0) as Uint8Array).toString()).toBe('line')
    expect([r.get(1), r.get(2), r.has(3)]).toEqual([18, false, false])
  })

  it('names the root in a refusal when its path is gone', async () => {
    rmSync(logs, { recursive: true })
    expect(message(await listFiles(roots, { root: 'logs', path: '' }, context))).toMatch(/^root "logs" in \/etc\/sonar-agent\/extensions\.yml \(files\): root path ".*\/logs" does not exist$/)
  })
})

describe('answers', () => {
  it('ListFiles: {0: entries {0 name, 1 kind, 2 size, 3 mode, 4 mtime}, 1: truncated}', async () => {
    mkdirSync(join(logs, 'old'))
    symlinkSync('/etc', join(logs, 'etc'))
    const r = result(await listFiles(roots, { root: 'logs', path: '' }, context))
    const entries = r.get(0) as Map<number, unknown>[]
    expect(entries.map((e) => [e.get(0), e.get(1)])).toEqual([
      ['app.log', 0],
      ['etc', 2],
      ['old', 1],
    ])
    const st = statSync(join(logs, 'app.log'))
    expect([entries[0]?.get(2), entries[0]?.get(3), entries[0]?.get(4)]).toEqual([18, st.mode & 0o7777, Math.floor(st.mtimeMs)])
    expect(r.get(1)).toBe(false)
  })

  it('ReadFile: data, size, eof and the SHA-256 only for the whole file', async () => {
    const whole = result(await readFile(roots, { root: 'logs', path: 'app.log', offset: 0 }, context))
    expect(Buffer.from(whole.get(0) as Uint8Array).toString()).toBe('line one\nline two\n')
    expect([whole.get(1), whole.get(2)]).toEqual([18, true])
    expect(whole.get(3)).toEqual(Buffer.from(sha256('line one\nline two\n')))
    const part = result(await readFile(roots, { root: 'logs', path: 'app.log', offset: 5, length: 3 }, context))
    expect(Buffer.from(part.get(0) as Uint8Array).toString()).toBe('one')
    expect([part.get(2), part.has(3)]).toEqual([false, false])
    const outcome = await readFile(roots, { root: 'logs', path: 'app.log', offset: 0 }, context)
    expect(outcome.audit).toEqual({ bytes: 18 })
  })

  it('WriteFile and DeleteFile: {0: written, 1: SHA-256} and {0: true}, guarded by the expected hash', async () => {
    const w = result(await writeFile(roots, { root: 'drop', path: 'note', content: Buffer.from('first'), expectedSha256: new Uint8Array() }, context))
    expect([w.get(0), w.get(1)]).toEqual([5, Buffer.from(sha256('first'))])
    expect(readFileSync(join(logs, 'note'), 'utf8')).toBe('first')
    // a second creator is told, not silently overwriting
    expect(message(await writeFile(roots, { root: 'drop', path: 'note', content: Buffer.from('second'), expectedSha256: new Uint8Array() }, context))).toBe(
      'root "drop": "note" already exists and the request expected it not to; nothing was written',
    )
    const stale = sha256('stale')
    expect(message(await writeFile(roots, { root: 'drop', path: 'note', content: Buffer.from('third'), expectedSha256: stale }, context))).toMatch(/"note" has changed: its SHA-256 is [0-9a-f]{64} and the request expected [0-9a-f]{64}; nothing was written/)
    result(await writeFile(roots, { root: 'drop', path: 'note', content: Buffer.from('third'), expectedSha256: sha256('first') }, context))
    expect(readFileSync(join(logs, 'note'), 'utf8')).toBe('third')
    expect(message(await deleteFile(roots, { root: 'drop', path: 'note', expectedSha256: stale }, context))).toMatch(/nothing was deleted/)
    expect(result(await deleteFile(roots, { root: 'drop', path: 'note', expectedSha256: sha256('third') }, context)).get(0)).toBe(true)
    expect(existsSync(join(logs, 'note'))).toBe(false)
  })

  it('WriteFile keeps the mode of the file it replaces', async () => {
    writeFileSync(join(logs, 'conf'), 'old', { mode: 0o640 })
    result(await writeFile(roots, { root: 'drop', path: 'conf', content: Buffer.from('new') }, context))
    expect(statSync(join(logs, 'conf')).mode & 0o7777).toBe(0o640)
  })
})

describe('an agent that is not root', () => {
  // A real unprivileged process (setpriv, as the shipped unit's sonar-agent user would be): it
  // may replace only files it could keep the owner and group of.
  it.runIf(process.getuid?.() === 0)('never changes the owner or group of a file it replaces', () => {
    chmodSync(base, 0o755)
    chownSync(logs, 65534, 65534)
    writeFileSync(join(logs, 'roots-file'), 'old')
    writeFileSync(join(logs, 'group-0'), 'old')
    chownSync(join(logs, 'group-0'), 65534, 0)
    const script = `
      import { writeFile } from ${JSON.stringify(join(import.meta.dirname, '../ts/extensions/files.ts'))}
      const roots = [{ name: 'drop', path: ${JSON.stringify(logs)}, writable: true, maxReadBytes: 1024, maxWriteBytes: 1024 }]
      for (const path of ['roots-file', 'group-0', 'new']) {
        const o = await writeFile(roots, { root: 'drop', path, content: Buffer.from('x') }, { source: 'policy', protect: [] })
        console.log(o.ok ? 'ok' : o.message)
      }`
    const run = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: join(import.meta.dirname, '..') })
    expect(run.stderr).toBe('')
    expect(run.stdout.trim().split('\n')).toEqual([
      'root "drop": "roots-file" is owned by uid 0 and the agent runs as uid 65534: replacing it would change its owner',
      'root "drop": "group-0" belongs to group 0, which the agent\'s user is not in: replacing it would change its group',
      'ok',
    ])
    expect(readFileSync(join(logs, 'roots-file'), 'utf8')).toBe('old')
    expect(statSync(join(logs, 'new')).uid).toBe(65534)
    expect(readdirSync(logs).filter((n) => n.startsWith('.sonar-'))).toEqual([])
  })
})

describe('attacks', () => {
  it('dotdot and absolute paths are refused', async () => {
    for (const path of ['../outside/secret', 'a/../../outside/secret', `${base}/outside/secret`, '/etc/passwd']) {
      expect(message(await readFile(roots, { root: 'logs', path, offset: 0 }, context))).toMatch(/^root "logs": path ".*" (has a "\.\." component|is absolute)/)
    }
  })

  it('a symlink inside a root pointing out is not followed', async () => {
    symlinkSync(join(base, 'outside'), join(logs, 'out'))
    expect(message(await readFile(roots, { root: 'logs', path: 'out/secret', offset: 0 }, context))).toMatch(/symbolic link/)
    expect(message(await writeFile(roots, { root: 'drop', path: 'out/secret', content: Buffer.from('x') }, context))).toMatch(/symbolic link/)
    expect(readFileSync(join(base, 'outside', 'secret'), 'utf8')).toBe('OUTSIDE')
  })

  it('a FIFO is refused and the event loop keeps running', async () => {
    execFileSync('mkfifo', [join(logs, 'pipe')])
    let ticks = 0
    const timer = setInterval(() => ticks++, 5)
    const outcome = await readFile(roots, { root: 'logs', path: 'pipe', offset: 0 }, context)
    await new Promise((r) => setTimeout(r, 20))
    clearInterval(timer)
    expect(message(outcome)).toBe('root "logs": "pipe" is a FIFO; ReadFile reads regular files only')
    expect(ticks).toBeGreaterThan(0)
  })

  it('a hard link to the data directory\'s files is refused (protect)', async () => {
    linkSync(join(data, 'fingerprint'), join(logs, 'innocent.txt'))
    expect(message(await readFile(roots, { root: 'logs', path: 'innocent.txt', offset: 0 }, context))).toMatch(/is never served: it is the agent's own data and configuration/)
  })

  it('the deny list wins over a root at /, and the standard places are protected without being told', async () => {
    const everything = [root('all', '/', { writable: true })]
    expect(message(await readFile(everything, { root: 'all', path: 'etc/shadow', offset: 0 }, context))).toBe(
      'root "all": "etc/shadow" is never served: it is password hashes, on the agent\'s built-in deny list (no root overrides it)',
    )
    const bare = { source: SOURCE, protect: [] }
    for (const path of ['var/lib/sonar-agent/fingerprint', 'etc/sonar-agent/extensions.yml', 'etc/sonar-agent/config.yml']) {
      expect(message(await readFile(everything, { root: 'all', path, offset: 0 }, bare))).toMatch(/is never served/)
      expect(message(await writeFile(everything, { root: 'all', path, content: Buffer.from('x') }, bare))).toMatch(/is never served/)
    }
    expect(defaultProtectedPaths({ HOME: '/home/u' })).toEqual(['/var/lib/sonar-agent', '/home/u/.config/sonar-agent', '/var/lib/beszel-agent', '/home/u/.config/beszel', '/etc/sonar-agent'])
  })

  it('/proc/self/root as a root and through a link is refused', async () => {
    symlinkSync('/proc/self/root', join(logs, 'r'))
    expect(message(await readFile(roots, { root: 'logs', path: 'r/etc/passwd', offset: 0 }, context))).toMatch(/symbolic link/)
    const proc = [root('proc', '/proc/self/root')]
    expect(message(await readFile(proc, { root: 'proc', path: 'etc/passwd', offset: 0 }, context))).toMatch(/^root "proc" in .* \(files\): root path "\/proc\/self\/root" has a symbolic link in its path now/)
  })
})
