/** `sonar-agent polkit-rule`: the polkit rule for exactly what EXTENSIONS_FILE lets the agent do to services. */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { polkitRuleCommand } from '../ts/commands/polkit-rule.js'

const dir = mkdtempSync(join(tmpdir(), 'sonar-polkit-cmd-'))
chmodSync(dir, 0o700)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function run(policy: string | undefined): Promise<{ code: number; out: string; err: string }> {
  const path = join(dir, `extensions-${Math.random().toString(36).slice(2)}.yml`)
  if (policy !== undefined) writeFileSync(path, policy, { mode: 0o600 })
  let out = ''
  let err = ''
  const code = await polkitRuleCommand([], {
    env: { PATH: process.env.PATH, EXTENSIONS_FILE: path },
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
  })
  return { code, out, err }
}

describe('sonar-agent polkit-rule', () => {
  it('prints a rule naming exactly the managed units and allowed verbs', async () => {
    const { code, out, err } = await run('services:\n  list: ["*.service"]\n  manage: [nginx.service, app]\n  actions: [restart, reload]\n')
    expect(err).toBe('')
    expect(code).toBe(0)
    expect(out).toContain('polkit.addRule(')
    expect(out).toContain('"sonar-agent"')
    expect(out).toContain('nginx.service')
    expect(out).toContain('app.service')
    expect(out).toContain('"restart"')
    expect(out).not.toContain('"stop"')
  })

  it('refuses globs in services.manage: polkit compares exact names', async () => {
    const { code, out, err } = await run('services:\n  manage: ["web-*.service"]\n')
    expect(code).toBe(1)
    expect(out).toBe('')
    expect(err).toMatch(/services\.manage has globs/)
  })

  it('says when there is no policy file', async () => {
    const { code, err } = await run(undefined)
    expect(code).toBe(1)
    expect(err).toMatch(/no policy file .* \(EXTENSIONS_FILE\)/)
  })
})
