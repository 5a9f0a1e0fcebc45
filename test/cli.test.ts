/** The built CLI, run as a user runs it (node dist/bin.cjs). */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const BIN = new URL('../dist/bin.cjs', import.meta.url).pathname

async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run bash scripts/setup.sh first`)
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

describe('sonar-agent CLI', () => {
  it('snapshot prints a readable table after two samples', async () => {
    const { code, stdout } = await cli(['snapshot', '--interval', '300ms'])
    expect(code).toBe(0)
    for (const label of ['CPU', 'Load', 'Memory', 'Disk /', 'Network', 'Temps']) expect(stdout).toContain(label)
  })

  it('snapshot --json prints CombinedData with the JSON names', async () => {
    const { code, stdout } = await cli(['snapshot', '--json', '--interval', '200'])
    expect(code).toBe(0)
    const data = JSON.parse(stdout) as { stats: Record<string, unknown>; info: Record<string, unknown>; container: unknown }
    expect(Object.keys(data)).toEqual(['stats', 'info', 'container'])
    expect(data.container).toBeNull()
    expect(typeof data.stats.cpu).toBe('number')
    expect(data.info.v).toBe('0.17.0')
  })

  it('--help and --version work', async () => {
    expect((await cli(['--help'])).stdout).toContain('Usage: sonar-agent')
    const version = await cli(['--version'])
    expect(version.code).toBe(0)
    expect(version.stdout).toMatch(/^sonar-agent \d+\.\d+\.\d+ \(protocol 0\.18\.8\)/)
  })

  it('a bad --interval is a usage error naming the option', async () => {
    const { code, stderr } = await cli(['snapshot', '--interval', 'soon'])
    expect(code).toBe(2)
    expect(stderr).toContain('--interval "soon"')
  })

  it('a bad setting stops with one line naming it', async () => {
    const { code, stderr } = await cli(['snapshot', '--interval', '0'], { SONAR_AGENT_DISK_USAGE_CACHE: 'soon' })
    expect(code).toBe(1)
    expect(stderr.trim().split('\n')).toHaveLength(1)
    expect(stderr).toContain('DISK_USAGE_CACHE="soon"')
  })

  it('an unknown command is a usage error', async () => {
    expect((await cli(['frobnicate'])).code).toBe(2)
  })
})
