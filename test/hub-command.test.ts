/** `sonar-agent hub` options and its errors, through the built CLI as a user meets them. */
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parseHubFlags } from '../ts/commands/hub.js'

const BIN = new URL('../dist/bin.cjs', import.meta.url).pathname
const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function runHub(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const home = mkdtempSync(join(tmpdir(), 'sonar-hub-cmd-'))
  dirs.push(home)
  const child = spawn(process.execPath, [BIN, 'hub', '--data', join(home, 'hub'), ...args], { env: { PATH: process.env.PATH, HOME: home, TMPDIR: home, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  // a hub that did start is stopped as soon as it printed its banner (unless its agent is watched)
  child.stdout.on('data', () => {
    if (!args.includes('--agent') && /Ctrl-C stops/.test(stdout)) child.kill('SIGTERM')
  })
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })))
}

describe('sonar-agent hub', () => {
  it('parses its options with the documented defaults', () => {
    expect(parseHubFlags([])).toEqual({ port: 8090, host: '127.0.0.1', dataDir: undefined, ssh: [], agent: false, beszelVersion: '0.18.8' })
    expect(parseHubFlags(['--port', '0', '--host', '::1', '--data', '/d', '--ssh', 'a:1', '--ssh', '[::1]:2', '--agent', '--beszel-version', '0.17'])).toEqual({
      port: 0,
      host: '::1',
      dataDir: '/d',
      ssh: ['a:1', '[::1]:2'],
      agent: true,
      beszelVersion: '0.17',
    })
    expect(() => parseHubFlags(['--port', '80a'])).toThrow(/--port "80a": expected a port number/)
    expect(() => parseHubFlags(['--port', '70000'])).toThrow(/--port/)
    expect(parseHubFlags(['--beszel-version', '0.18.8']).beszelVersion).toBe('0.18.8')
    expect(() => parseHubFlags(['--beszel-version', '0.16'])).toThrow(/--beszel-version: Beszel hub version "0.16": expected one of 0\.17, 0\.18\.8/)
  })

  it('starts, prints the labelled banner and what an agent needs, and exits 0 on SIGTERM', async () => {
    const result = await runHub(['--port', '0'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/DEV HUB — for trying SONAR and for tests: in-memory history, one process, not for production/)
    expect(result.stdout).toMatch(/^ {2}KEY="ssh-ed25519 AAAA[^"]+"$/m)
    expect(result.stdout).toMatch(/^ {2}TOKEN=[0-9a-f-]{36}$/m)
    expect(result.stdout).toMatch(/^ {2}HUB_URL=http:\/\/127\.0\.0\.1:\d+$/m)
    expect(result.stdout).toMatch(/KEY='ssh-ed25519 [^']+' TOKEN=\S+ HUB_URL=\S+ node dist\/bin\.cjs run/)
    expect(result.stderr).toMatch(/hub: stopped/)
    expect(result.stdout).toMatch(/^ {2}plays: Beszel hub 0\.18\.8 \(--beszel-version 0\.17 for the other\)$/m)
  })

  it('--beszel-version 0.17 plays the older hub; a version it cannot play is a usage error', async () => {
    const old = await runHub(['--port', '0', '--beszel-version', '0.17'])
    expect(old.code).toBe(0)
    expect(old.stdout).toMatch(/^ {2}plays: Beszel hub 0\.17 \(--beszel-version 0\.18\.8 for the other\)$/m)
    const bad = await runHub(['--port', '0', '--beszel-version', '1.0'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--beszel-version: Beszel hub version "1\.0": expected one of 0\.17, 0\.18\.8/)
  })

  it('a bad option is a usage error (exit 2); a busy port says to pick another with --port (exit 1)', async () => {
    const bad = await runHub(['--port', 'x'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--port "x"/)

    const busy = createServer()
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve))
    const port = (busy.address() as { port: number }).port
    try {
      const result = await runHub(['--port', String(port)])
      expect(result.code).toBe(1)
      expect(result.stderr).toMatch(new RegExp(`port ${port} on 127.0.0.1 is in use: pick another with --port`))
    } finally {
      busy.close()
    }
  })

  it('--agent: an agent that cannot start stops the hub with status 1, its reason shown', async () => {
    const result = await runHub(['--port', '0', '--agent'], { DISK_USAGE_CACHE: 'soon' })
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/DISK_USAGE_CACHE/)
    expect(result.stderr).toMatch(/the agent exited with status 1; stopping the hub/)
  })
})
