/**
 * The gate of SONAR's host actions (ts/extensions/gate.ts): route, signature, freshness, replay,
 * READ_ONLY, plain ws://, the policy file's StrictModes check, and the audit log — with capabilities
 * that only record what reaches them (the capabilities have their own tests, on real processes,
 * files and systemd). Every request here is signed for real with Ed25519.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Encoder } from 'cbor-x'
import { afterAll, describe, expect, it } from 'vitest'
import { Dispatcher, type Session } from '../ts/dispatch.js'
import { AuditLog, type AuditRecord } from '../ts/extensions/audit.js'
import { HostActions, type Capabilities } from '../ts/extensions/gate.js'
import type { HandlerResult } from '../ts/handlers/handler.js'
import { loadPolicy, parseSize, type PolicyState } from '../ts/extensions/policy.js'
import type { Outcome } from '../ts/extensions/types.js'
import { FRESHNESS_MS } from '../ts/extensions/verify.js'
import { signedMessage } from '../ts/extensions/wire.js'
import { ed25519Blob, type HubKey } from '../ts/identity/keys.js'
import { createLogger } from '../ts/log.js'
import { decodeResponse, encodeRequest } from '../ts/protocol/envelope.js'

const FINGERPRINT = 'a'.repeat(64)
const encoder = new Encoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false } as ConstructorParameters<typeof Encoder>[0])
const silent = createLogger('error', { write: () => undefined })
const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function keyPair(comment: string): { key: HubKey; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519')
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32)
  return { key: { type: 'ssh-ed25519', publicKey: Buffer.from(raw), blob: ed25519Blob(raw), comment }, privateKey }
}

const hub = keyPair('hub')
const stranger = keyPair('stranger')

interface SignOptions {
  privateKey?: KeyObject
  fingerprint?: string
  timestampMs?: number
  nonce?: Uint8Array
}

let nonceCounter = 0
/** Request key 1 for `action` with these params, signed as a hub would. */
function signed(action: number, params: Map<number, unknown>, options: SignOptions = {}): Map<number, unknown> {
  const bytes = encoder.encode(params)
  const nonce = options.nonce ?? Buffer.from(String(++nonceCounter).padStart(16, '0'))
  const timestampMs = options.timestampMs ?? Date.now()
  const message = signedMessage({ action, nonce, timestampMs, fingerprint: options.fingerprint ?? FINGERPRINT, params: bytes })
  const signature = sign(null, message, options.privateKey ?? hub.privateKey)
  return new Map<number, unknown>([
    [0, bytes],
    [1, nonce],
    [2, timestampMs],
    [3, signature],
  ])
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sonar-gate-'))
  chmodSync(dir, 0o700)
  dirs.push(dir)
  return dir
}

const POLICY = `
commands:
  - id: hello
    argv: [/bin/echo, "{who}"]
    slots: { who: "[a-z]{1,16}" }
services:
  list: ["*.service"]
  manage: [nginx.service]
files:
  - name: logs
    path: ${tmpdir()}
`

function policyFile(text = POLICY, mode = 0o600): string {
  const dir = tempDir()
  const path = join(dir, 'extensions.yml')
  writeFileSync(path, text, { mode })
  chmodSync(path, mode)
  return path
}

const deps = { uid: process.getuid?.() ?? 0, parseDuration: (text: string) => (text === '30s' ? 30_000 : text === '5s' ? 5_000 : null) }

/** Capabilities that record the call and answer {0: action}. */
function recording(): { capabilities: Capabilities; calls: [string, unknown][] } {
  const calls: [string, unknown][] = []
  const answer = (name: string, action: number) => (...args: unknown[]): Promise<Outcome> => {
    calls.push([name, args[1]])
    return Promise.resolve({ ok: true, result: new Map([[0, action]]) })
  }
  return {
    calls,
    capabilities: {
      executeCommand: answer('executeCommand', 6),
      listServices: answer('listServices', 7),
      getServiceStatus: answer('getServiceStatus', 8),
      performServiceAction: answer('performServiceAction', 9),
      listFiles: answer('listFiles', 10),
      readFile: answer('readFile', 11),
      writeFile: answer('writeFile', 12),
      deleteFile: answer('deleteFile', 13),
    },
  }
}

interface Setup {
  actions: HostActions
  calls: [string, unknown][]
  auditPath: string
  audit: () => AuditRecord[]
}

function setup(options: { policy?: PolicyState; readOnly?: boolean; auditPath?: string; now?: () => number } = {}): Setup {
  const { capabilities, calls } = recording()
  const auditPath = options.auditPath ?? join(tempDir(), 'audit.jsonl')
  const policy = options.policy ?? loadPolicy(policyFile(), deps)
  const actions = new HostActions({
    policy: () => policy,
    readOnly: options.readOnly ?? false,
    audit: new AuditLog(auditPath),
    keys: () => [hub.key],
    fingerprint: () => FINGERPRINT,
    capabilities,
    logger: silent,
    ...(options.now ? { now: options.now } : {}),
  })
  const audit = () => {
    try {
      return readFileSync(auditPath, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as AuditRecord)
    } catch {
      return []
    }
  }
  return { actions, calls, auditPath, audit }
}

const sonar: Session = { transport: 'websocket', verified: true, route: 'sonar' }
const listServices = () => signed(7, new Map())
const hello = (who = 'world') => signed(6, new Map<number, unknown>([[0, 'hello'], [1, new Map([['who', who]])]]))

function message(result: HandlerResult): string | undefined {
  return result.body.kind === 'error' ? result.body.message : undefined
}

describe('host actions: the gate', () => {
  it('a verified request reaches its capability with the decoded params, and is audited before and after', async () => {
    const s = setup()
    const result = await s.actions.handle(6, hello('alice'), sonar, 5)
    expect(result.body).toEqual({ kind: 'result', value: new Map([[0, 6]]) })
    expect(s.calls).toEqual([['executeCommand', { id: 'hello', args: new Map([['who', 'alice']]) }]])
    const records = s.audit()
    expect(records.map((r) => r.decision)).toEqual(['allowed', 'done'])
    expect(records[0]).toMatchObject({ action: 6, name: 'ExecuteCommand', id: 5, key: 'hub' })
    expect(records[0]?.params).toMatch(/^[0-9a-f]{64}$/)
    expect(statSync(s.auditPath).mode & 0o777).toBe(0o600)
  })

  it('no policy file: every action is refused and nothing runs (the default)', async () => {
    const s = setup({ policy: loadPolicy(join(tempDir(), 'missing.yml'), deps) })
    for (const action of [6, 7, 8, 9, 10, 11, 12, 13]) {
      const result = await s.actions.handle(action, signed(action, new Map()), sonar)
      expect(message(result)).toMatch(/no host actions without a policy file \(EXTENSIONS_FILE, .*missing\.yml\)/)
    }
    expect(s.calls).toEqual([])
    expect(s.audit().every((r) => r.decision === 'refused')).toBe(true)
  })

  it('the Beszel route never reaches a handler: actions 6–13 are unknown actions there', async () => {
    const s = setup()
    const dispatcher = new Dispatcher({
      collector: { collect: () => Promise.reject(new Error('unused')) },
      keys: () => [hub.key],
      token: () => undefined,
      fingerprint: () => FINGERPRINT,
      hostname: () => 'h',
      listenPort: () => '45876',
      systemName: () => undefined,
      logger: silent,
      hostActions: s.actions,
    })
    const beszel: Session = { transport: 'websocket', verified: true, route: 'beszel' }
    for (const action of [6, 7, 8, 9, 10, 11, 12, 13]) {
      const reply = (await dispatcher.handle(encodeRequest({ action, data: signed(action, new Map()), id: action }), beszel)).reply
      const decoded = decodeResponse(reply as Buffer)
      expect(decoded.fields.get(3)).toBe(`unknown action: ${action}`)
    }
    const reply = (await dispatcher.handle(encodeRequest({ action: 7, data: listServices(), id: 1 }), sonar)).reply
    expect(decodeResponse(reply as Buffer).fields.get(7)).toEqual(new Map([[0, 7]]))
    expect(s.calls.map(([name]) => name)).toEqual(['listServices'])
  })

  it('over SSH host actions are refused', async () => {
    const s = setup()
    const result = await s.actions.handle(7, listServices(), { transport: 'ssh' })
    expect(message(result)).toMatch(/not served over SSH/)
    expect(s.calls).toEqual([])
  })

  it('a replayed request is refused', async () => {
    const s = setup()
    const request = listServices()
    expect(message(await s.actions.handle(7, request, sonar))).toBeUndefined()
    expect(message(await s.actions.handle(7, request, sonar))).toMatch(/replayed/)
    expect(s.calls).toHaveLength(1)
  })

  it('a stale or future timestamp is refused (±60 s)', async () => {
    const s = setup()
    const now = Date.now()
    expect(message(await s.actions.handle(7, signed(7, new Map(), { timestampMs: now - FRESHNESS_MS - 1_000 }), sonar))).toMatch(/ago/)
    expect(message(await s.actions.handle(7, signed(7, new Map(), { timestampMs: now + FRESHNESS_MS + 1_000 }), sonar))).toMatch(/in the future/)
    expect(message(await s.actions.handle(7, signed(7, new Map(), { timestampMs: now - FRESHNESS_MS + 5_000 }), sonar))).toBeUndefined()
    expect(s.calls).toHaveLength(1)
  })

  it('a request signed by another key, or for another agent, is refused', async () => {
    const s = setup()
    expect(message(await s.actions.handle(7, signed(7, new Map(), { privateKey: stranger.privateKey }), sonar))).toMatch(/does not verify with KEY/)
    expect(message(await s.actions.handle(7, signed(7, new Map(), { fingerprint: 'b'.repeat(64) }), sonar))).toMatch(/does not verify with KEY/)
    // the same bytes under another action number do not verify either
    const asList = signed(7, new Map())
    expect(message(await s.actions.handle(8, asList, sonar))).toMatch(/does not verify/)
    expect(s.calls).toEqual([])
  })

  it('READ_ONLY overrides the file: commands, service actions, writes and deletes are refused; reads are not', async () => {
    const s = setup({ readOnly: true })
    for (const action of [6, 9, 12, 13]) {
      expect(message(await s.actions.handle(action, signed(action, new Map()), sonar))).toMatch(/READ_ONLY=true/)
    }
    expect(message(await s.actions.handle(7, listServices(), sonar))).toBeUndefined()
    expect(message(await s.actions.handle(11, signed(11, new Map<number, unknown>([[0, 'logs'], [1, 'x']])), sonar))).toBeUndefined()
    expect(s.calls.map(([name]) => name)).toEqual(['listServices', 'readFile'])
  })

  it('over a plain ws:// to another host, mutating actions are refused whatever is signed', async () => {
    const s = setup()
    const plain: Session = { ...sonar, plainRemote: true }
    expect(message(await s.actions.handle(6, hello(), plain))).toMatch(/plain ws:\/\//)
    expect(message(await s.actions.handle(7, listServices(), plain))).toBeUndefined()
    expect(s.calls.map(([name]) => name)).toEqual(['listServices'])
  })

  it('unknown params keys and malformed envelopes are refused before anything runs', async () => {
    const s = setup()
    expect(message(await s.actions.handle(7, signed(7, new Map([[3, 'x']])), sonar))).toMatch(/unknown key 3/)
    expect(message(await s.actions.handle(7, new Map([[0, 'x']]), sonar))).toMatch(/envelope key 0/)
    expect(message(await s.actions.handle(7, 'junk', sonar))).toMatch(/signed envelope/)
    expect(s.calls).toEqual([])
  })

  it('an unwritable audit log: the action does not run', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'audit.jsonl')) // a directory where the log should be: open(…, 'a') fails
    const s = setup({ auditPath: join(dir, 'audit.jsonl') })
    const result = await s.actions.handle(6, hello(), sonar)
    expect(message(result)).toMatch(/was not run: the audit log .* cannot be written/)
    expect(s.calls).toEqual([])
  })
})

describe('host actions: the policy file', () => {
  it('loads commands, services and file roots with their defaults', () => {
    const state = loadPolicy(policyFile(), deps)
    expect(state.kind).toBe('loaded')
    if (state.kind !== 'loaded') return
    const [command] = state.policy.commands
    expect(command).toMatchObject({ id: 'hello', argv: ['/bin/echo', '{who}'], cwd: '/', env: [], timeoutMs: 30_000, outputLimitBytes: 65536, concurrency: 1 })
    expect(command?.slots.get('who')?.test('abc')).toBe(true)
    expect(command?.slots.get('who')?.test('abc; id')).toBe(false) // anchored
    expect(state.policy.services).toEqual({ list: ['*.service'], manage: ['nginx.service'], actions: ['start', 'stop', 'restart', 'reload'] })
    expect(state.policy.files[0]).toMatchObject({ name: 'logs', writable: false, maxReadBytes: 1048576 })
  })

  it('a world-writable policy file is refused, and says why', () => {
    const state = loadPolicy(policyFile(POLICY, 0o666), deps)
    expect(state).toMatchObject({ kind: 'refused' })
    expect(state.kind === 'refused' && state.reason).toMatch(/writable by everyone \(mode 666\)/)
  })

  it('a policy file in a group-writable directory is refused (StrictModes)', () => {
    const path = policyFile()
    chmodSync(join(path, '..'), 0o770)
    const state = loadPolicy(path, deps)
    expect(state.kind === 'refused' && state.reason).toMatch(/its directory .* is writable by its group/)
  })

  it('a file owned by another user is refused', () => {
    const state = loadPolicy(policyFile(), { ...deps, uid: 4242 })
    if (deps.uid === 0) {
      // root owns it: accepted whatever the agent's uid
      expect(state.kind).toBe('loaded')
    } else {
      expect(state.kind === 'refused' && state.reason).toMatch(/owned by uid/)
    }
  })

  for (const [what, text, reason] of [
    ['a misspelt field', 'files:\n  - name: x\n    path: /tmp\n    writeable: true\n', /files\.0: unknown field writeable/],
    ['a relative program', 'commands:\n  - id: a\n    argv: [echo, hi]\n', /argv\[0\] must be an absolute path/],
    ['a slot inside an argument', 'commands:\n  - id: a\n    argv: [/bin/echo, "--name={who}"]\n    slots: { who: "[a-z]+" }\n', /a slot must be a whole argument/],
    ['an undefined slot', 'commands:\n  - id: a\n    argv: [/bin/echo, "{who}"]\n', /which slots does not define/],
    ['a bad pattern', 'commands:\n  - id: a\n    argv: [/bin/echo, "{who}"]\n    slots: { who: "([" }\n', /not a regular expression/],
    ['a duplicate id', 'commands:\n  - id: a\n    argv: [/bin/true]\n  - id: a\n    argv: [/bin/true]\n', /appears twice/],
    ['a bad duration', 'commands:\n  - id: a\n    argv: [/bin/true]\n    timeout: soon\n', /timeout/],
    ['a root that does not exist', 'files:\n  - name: x\n    path: /nonexistent/dir\n', /files\[x\]\.path/],
    ['not YAML', 'commands: [', /not valid YAML/],
  ] as const) {
    it(`refuses ${what}, naming the field`, () => {
      const state = loadPolicy(policyFile(text), deps)
      expect(state.kind).toBe('refused')
      expect(state.kind === 'refused' && state.reason).toMatch(reason)
    })
  }

  it('sizes are bytes or binary units', () => {
    expect([parseSize('64KiB'), parseSize('1MiB'), parseSize(512), parseSize('12 B'), parseSize('1MB'), parseSize('-1')]).toEqual([65536, 1048576, 512, 12, undefined, undefined])
  })
})

describe('host actions: the audit log', () => {
  it('rotates at its size limit and keeps the old files, each 0600', async () => {
    const dir = tempDir()
    const path = join(dir, 'audit.jsonl')
    const log = new AuditLog(path, 400, 2)
    for (let i = 0; i < 20; i++) await log.append({ time: new Date(0).toISOString(), action: 7, name: 'ListServices', decision: 'refused', reason: `r${i}` })
    await log.close()
    const files = readdirSync(dir).sort()
    expect(files).toEqual(['audit.jsonl', 'audit.jsonl.1', 'audit.jsonl.2'])
    for (const file of files) expect(statSync(join(dir, file)).mode & 0o777).toBe(0o600)
    const newest = readFileSync(path, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as AuditRecord).reason)
    expect(newest.at(-1)).toBe('r19')
    for (const file of files) expect(statSync(join(dir, file)).size).toBeLessThanOrEqual(400)
  })
})
