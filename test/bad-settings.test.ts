/**
 * The README's rule, "a bad value stops the agent with one line naming the setting and a good
 * example", for the built CLI (`node dist/bin.cjs run`): a table of bad values — derived from the
 * core's settings table (every boolean with "maybe", every enum with "bogus", every duration with
 * "soon", every glob list with an unclosed bracket, every refused name) plus values found by hand —
 * each must end the process with a non-zero status within a few seconds, with exactly one stderr
 * line that names the setting, and before the agent dials its hub.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { settingCatalog, type SettingSpec } from '../ts/config/catalog.js'
import { AGENT_BIN, cleanEnv, type Exit } from './helpers/agent-process.js'

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea hub'
/** "a few seconds": start-up is ~0.2 s here; the limit leaves room for a loaded machine */
const LIMIT_MS = 5_000

interface Row {
  name: string
  value: string
  /** settings the row needs unset (TOKEN for TOKEN_FILE, …) */
  unset?: string[]
  /** settings the row needs set too (REMOTE_WRITE_URL for the other REMOTE_WRITE_ settings) */
  with?: Record<string, string>
}

/** A receiver no request reaches: the rows stop before any is sent. */
const REMOTE_WRITE = { REMOTE_WRITE_URL: 'http://127.0.0.1:9/api/v1/write' }

/** A value of the wrong shape for each kind the core's table declares. */
function derived(spec: SettingSpec): Row[] {
  if (spec.refused !== undefined) return [{ name: spec.name, value: '/x' }]
  switch (spec.kind) {
    case 'bool':
      return [{ name: spec.name, value: 'maybe' }]
    case 'enum':
    case 'enum-list':
      return [{ name: spec.name, value: 'bogus' }]
    case 'duration':
      return [{ name: spec.name, value: 'soon' }]
    case 'globs':
      return [{ name: spec.name, value: 'ngin[x' }]
    case 'filter':
      // a glob entry (it has a *) that does not parse; entries without * are exact names
      return [{ name: spec.name, value: 'eth[0*' }]
    default:
      return []
  }
}

const byHand: Row[] = [
  { name: 'SKIP_GPU', value: 'maybe' },
  { name: 'MEM_CALC', value: 'everything' },
  { name: 'DOCKER_TIMEOUT', value: 'soon' },
  { name: 'DOCKER_TIMEOUT', value: '0s' },
  { name: 'DOCKER_TIMEOUT', value: '-1s' },
  { name: 'DISABLE_SSH', value: '1' },
  { name: 'LOG_LEVEL', value: 'loud' },
  { name: 'GPU_COLLECTOR', value: 'cuda' },
  { name: 'SERVICE_PATTERNS', value: 'ngin[x' },
  { name: 'SENSORS', value: 'cpu[*' },
  { name: 'SENSORS_TIMEOUT', value: '2s' },
  { name: 'HOST_ROOT', value: '/x' },
  { name: 'LISTEN', value: '99999' },
  { name: 'LISTEN', value: 'host:' },
  { name: 'PORT', value: 'abc' },
  { name: 'HUB_URL', value: 'ftp://x' },
  { name: 'HUB_URL', value: 'not a url' },
  { name: 'KEY', value: 'ssh-rsa AAAA hub' },
  { name: 'AMD_SYSFS', value: 'false' },
  { name: 'DISK_USAGE_CACHE', value: '-5s' },
  { name: 'CA_CERT_FILE', value: '/nonexistent/ca.pem' },
  { name: 'TOKEN_FILE', value: '/nonexistent/token', unset: ['TOKEN'] },
  { name: 'KEY_FILE', value: '/nonexistent/hub.pub', unset: ['KEY'] },
  { name: 'REMOTE_WRITE_URL', value: 'ftp://x' },
  { name: 'REMOTE_WRITE_URL', value: 'vm.example.com:8428' },
  { name: 'REMOTE_WRITE_URL', value: 'https://user:pass@vm.example.com/api/v1/write' },
  { name: 'REMOTE_WRITE_INTERVAL', value: 'soon' },
  { name: 'REMOTE_WRITE_LABELS', value: 'env', with: REMOTE_WRITE },
  { name: 'REMOTE_WRITE_LABELS', value: '__name__=up', with: REMOTE_WRITE },
  { name: 'REMOTE_WRITE_QUEUE_MAX_AGE', value: '0s' },
  { name: 'REMOTE_WRITE_QUEUE_MAX_BYTES', value: '8 lots', with: REMOTE_WRITE },
  { name: 'REMOTE_WRITE_PASSWORD_FILE', value: '/nonexistent/password', with: { ...REMOTE_WRITE, REMOTE_WRITE_USERNAME: 'sonar' } },
  { name: 'REMOTE_WRITE_BEARER_TOKEN_FILE', value: '/nonexistent/token', with: REMOTE_WRITE },
]

const rows = [...byHand, ...settingCatalog().flatMap(derived)].filter(
  (row, index, all) => all.findIndex((other) => other.name === row.name && other.value === row.value) === index,
)
const refused = new Set(settingCatalog().flatMap((spec) => (spec.refused === undefined ? [] : [spec.name])))

/** A TCP listener standing in for the hub: it only counts who dials it. */
async function dialRecorder(): Promise<{ url: string; dials: () => number; close: () => void }> {
  let dials = 0
  const server: Server = createServer((socket) => {
    dials += 1
    socket.destroy()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, dials: () => dials, close: () => server.close() }
}

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

interface Run {
  exit: Exit
  ms: number
  stderr: string
  dials: number
}

/** `run` with a working configuration (a hub, token, key) plus `extra`; killed after `limitMs`. */
async function run(extra: Record<string, string>, unset: string[] = [], limitMs = LIMIT_MS): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'sonar-bad-setting-'))
  dirs.push(dir)
  const hub = await dialRecorder()
  const env: Record<string, string> = { ...cleanEnv(dir), HUB_URL: hub.url, TOKEN: 'token', KEY, DISABLE_SSH: 'true', SMART_DEVICES: '', SKIP_SYSTEMD: 'true', ...extra }
  for (const name of unset) delete env[name]
  const started = performance.now()
  const child = spawn(process.execPath, [AGENT_BIN, 'run'], { env, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const timer = setTimeout(() => child.kill('SIGKILL'), limitMs)
  const exit = await new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  clearTimeout(timer)
  const ms = performance.now() - started
  // a dial in flight at the exit still reaches the listener
  await new Promise((resolve) => setTimeout(resolve, 50))
  hub.close()
  return { exit, ms, stderr, dials: hub.dials() }
}

describe.concurrent('a bad value stops the agent with one line naming the setting', () => {
  it('control: the same configuration without a bad value runs and dials its hub', async () => {
    const result = await run({ LOG_LEVEL: 'error' }, [], 2_000)
    expect(result.exit.signal).toBe('SIGKILL') // still running when the limit came
    expect(result.dials).toBeGreaterThan(0)
  })

  for (const row of rows) {
    it(`${row.name}=${row.value}`, async () => {
      const result = await run({ ...row.with, [row.name]: row.value }, row.unset)
      const lines = result.stderr.trim().split('\n')
      expect(result.exit.signal, `still running after ${LIMIT_MS} ms; stderr:\n${result.stderr}`).toBeNull()
      expect(result.exit.code).not.toBe(0)
      expect(result.ms).toBeLessThan(LIMIT_MS)
      expect(lines, result.stderr).toHaveLength(1)
      expect(lines[0]).toMatch(/^sonar-agent: /)
      expect(lines[0]).toContain(row.name)
      // a good example, except for names that are refused whatever their value
      if (!refused.has(row.name)) expect(lines[0]).toContain(`${row.name}=`)
      expect(result.dials).toBe(0)
    })
  }
})
