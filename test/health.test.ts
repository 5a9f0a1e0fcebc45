import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { checkHealth, HealthFile, healthDir, healthFilePath } from '../ts/health.js'

const run = promisify(execFile)
const BIN = new URL('../dist/bin.cjs', import.meta.url).pathname
const dirs: string[] = []
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sonar-health-'))
  dirs.push(dir)
  return dir
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

async function healthCli(dir: string) {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, 'health'], { env: { ...process.env, TMPDIR: dir } })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

describe('health file', () => {
  it('lives in the temp dir as sonar-agent_health', () => {
    expect(healthFilePath('/x')).toBe('/x/sonar-agent_health')
    // Windows: one place every account sees (a LocalSystem service and an administrator's shell
    // have different TEMP folders)
    expect(healthDir('win32', { ProgramData: 'D:\\ProgramData' })).toBe('D:\\ProgramData')
    expect(healthDir('win32', {})).toBe('C:\\ProgramData')
    expect(healthDir('linux', {})).toBe(tmpdir())
  })

  it('is touched at start, fresh while running, removed on stop', () => {
    const path = healthFilePath(tempDir())
    const file = new HealthFile(path)
    expect(checkHealth(path)).toMatchObject({ ok: false })
    file.start()
    expect(existsSync(path)).toBe(true)
    expect(checkHealth(path)).toEqual({ ok: true })
    file.stop()
    expect(existsSync(path)).toBe(false)
  })

  it('is stale after 91 s', () => {
    const path = healthFilePath(tempDir())
    writeFileSync(path, '')
    const old = (Date.now() - 92_000) / 1000
    utimesSync(path, old, old)
    const status = checkHealth(path)
    expect(status.ok).toBe(false)
    expect(status.ok ? '' : status.message).toMatch(/last touched 9\d s ago/)
    expect(checkHealth(path, Date.now() - 2_000)).toEqual({ ok: true })
  })

  it('re-touches on its interval', async () => {
    const path = healthFilePath(tempDir())
    const file = new HealthFile(path, undefined, 50)
    file.start()
    const old = (Date.now() - 120_000) / 1000
    utimesSync(path, old, old)
    expect(checkHealth(path).ok).toBe(false)
    await new Promise((r) => setTimeout(r, 120))
    expect(checkHealth(path).ok).toBe(true)
    file.stop()
  })

  it('`sonar-agent health` prints ok for a fresh file and fails without one', async () => {
    const dir = tempDir()
    const missing = await healthCli(dir)
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('sonar-agent_health')
    writeFileSync(healthFilePath(dir), '')
    const fresh = await healthCli(dir)
    expect(fresh).toMatchObject({ code: 0, stdout: 'ok\n' })
  })
})
