/**
 * The dev hub page's Actions panel in a real headless Chromium (Debian's, driven by playwright-core)
 * against the real dev hub: the page posts, the hub signs and sends on the agent's real WebSocket.
 *  - a hand-driven SONAR-route agent (helpers/fake-sonar-agent.ts) answering known result maps:
 *    every result type is drawn, the row buttons (restart, status, open, read) work, the agent's
 *    refusals are shown as refusals;
 *  - a Beszel-route agent, an SSH system and a disconnected agent: the panel is disabled with the
 *    reason, and nothing is sent;
 *  - the real agent (`sonar-agent run` from the source) on SONAR's route: its refusal is shown.
 * Where Chromium cannot start, these tests are skipped with the reason.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { openCollector } from '../ts/collector.js'
import { startDevHub, type DevHub } from '../ts/hub/hub.js'
import { HubStore } from '../ts/hub/store.js'
import { createWebHandler } from '../ts/hub/web/server.js'
import { BLOB, knownAnswer, LOG_TEXT, REFUSE_COMMAND, REFUSE_ROOT, sha256, STDOUT } from './helpers/action-results.js'
import { FakeSonarAgent } from './helpers/fake-sonar-agent.js'
import { until as pollUntil } from './helpers/until.js'
import { launchBrowser } from './helpers/browser.js'

const ROOT = new URL('..', import.meta.url).pathname
const ARTIFACTS = join(ROOT, 'test', 'artifacts')
const collector = openCollector({ SKIP_GPU: 'true', SMART_DEVICES: '', SKIP_SYSTEMD: 'true' })
const dirs: string[] = []
const hubs: DevHub[] = []
const agents: FakeSonarAgent[] = []

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sonar-hub-page-'))
  dirs.push(dir)
  return dir
}

/** polls with the shared helper; this file's waits default to 20 s */
const until = <T,>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000) => pollUntil(what, probe, timeoutMs, 100)

async function startHub(): Promise<DevHub> {
  const store = new HubStore()
  const hub = await startDevHub({ dataDir: tempDir(), port: 0, store, web: createWebHandler(store) })
  hubs.push(hub)
  return hub
}

async function fakeAgent(hub: DevHub, route: 'sonar' | 'beszel'): Promise<{ agent: FakeSonarAgent; id: string }> {
  const fingerprint = randomBytes(24).toString('hex')
  const agent = new FakeSonarAgent({ hub, route, fingerprint, collector, answer: knownAnswer })
  agents.push(agent)
  await until('the agent to be verified', () => hub.sessions().some((s) => s.id === fingerprint))
  return { agent, id: fingerprint }
}

const { browser } = await launchBrowser('extensions-hub-page.test')

afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close()))
  await Promise.all(hubs.splice(0).map((h) => h.close()))
})
afterAll(async () => {
  await browser?.close()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/** Opens the page on one system and collects its errors. */
async function openPage(hub: DevHub, id: string): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }> {
  const context = await browser!.newContext({ viewport: { width: 1440, height: 1000 } })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(error.message))
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text())
  })
  await page.goto(`${hub.url}#${encodeURIComponent(id)}`)
  await page.waitForSelector(`#system[data-system="${id}"] [data-panel="actions"]`)
  return { page, errors, close: () => context.close() }
}

describe.skipIf(!browser)('Actions panel in headless Chromium, a SONAR-route agent answering known result maps', () => {
  it('draws every result type, restarts and inspects a manageable unit from its row, opens and reads files, and shows refusals as refusals', async () => {
    const hub = await startHub()
    const { agent, id } = await fakeAgent(hub, 'sonar')
    const { page, errors, close } = await openPage(hub, id)
    try {
      const panel = page.locator('[data-panel="actions"]')
      const answer = panel.locator('[data-action-answer] .answer')
      await expect.poll(() => panel.getAttribute('data-available')).toBe('true')
      expect(await panel.locator('[data-actions-unavailable]').isHidden()).toBe(true)

      // ListServices: a table; Restart only on the manageable row
      await panel.locator('[data-action="list-services"]').click()
      await expect.poll(() => answer.getAttribute('data-result')).toBe('ListServices')
      const rows = answer.locator('table[data-table="action-services"] tbody tr')
      expect(await rows.count()).toBe(2)
      expect(await rows.nth(0).locator('td').allTextContents()).toEqual(['nginx.service', 'loaded', 'active', 'running', 'A high performance web server', 'StatusRestart'])
      expect(await rows.nth(1).locator('td').nth(2).getAttribute('class')).toBe('bad')
      expect(await answer.locator('[data-restart]').count()).toBe(1)
      expect(await answer.locator('[data-restart="backup.service"]').count()).toBe(0)
      // the signed request is shown
      expect(await answer.locator('[data-signed]').textContent()).toMatch(/^signed request: action 7, nonce [0-9a-f]{32}, at /)

      // PerformServiceAction from the row
      await answer.locator('[data-restart="nginx.service"]').click()
      await expect.poll(() => answer.getAttribute('data-result')).toBe('PerformServiceAction')
      const fact = (key: string) => answer.locator(`dd[data-fact="${key}"]`).textContent()
      expect(await fact('unit')).toBe('nginx.service')
      expect(await fact('service-action')).toBe('restart')
      expect(await fact('job')).toBe('/org/freedesktop/systemd1/job/1234')
      expect(await fact('active-state')).toBe('active')
      const restartFrame = agent.actionFrames.at(-1)
      expect(restartFrame?.[2]).toBe(9) // {0: 9, …}

      // GetServiceStatus from the row
      await panel.locator('[data-action="list-services"]').click()
      await expect.poll(() => answer.getAttribute('data-result')).toBe('ListServices')
      await answer.locator('[data-status="nginx.service"]').click()
      await expect.poll(() => answer.getAttribute('data-result')).toBe('GetServiceStatus')
      expect(await fact('main-pid')).toBe('4242')
      expect(await fact('unit-file')).toBe('enabled')
      expect(await fact('state')).toBe('loaded · active (running)')
      expect(await fact('manageable')).toMatch(/^yes/)

      // ListFiles: directories first, modes in both notations; a directory opens, a file reads
      await panel.locator('input[name="root"]').fill('logs')
      await panel.locator('[data-action="list-files"]').click()
      await expect.poll(() => answer.getAttribute('data-result')).toBe('ListFiles')
      const entries = answer.locator('table[data-table="action-files"] tbody tr')
      expect(await entries.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-entry')))).toEqual(['archive', 'app.log', 'blob.bin', 'current'])
      expect(await entries.nth(1).locator('td').nth(3).textContent()).toBe('-rw-r----- (0640)')
      expect(await entries.nth(3).locator('td').nth(1).textContent()).toBe('symlink')
      await answer.locator('[data-open="archive"]').click()
      await expect.poll(() => entries.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-entry')))).toEqual(['old.log'])
      expect(await panel.locator('input[name="path"]').inputValue()).toBe('archive')

      // ReadFile: UTF-8 content as text, with its SHA-256
      await panel.locator('input[name="path"]').fill('')
      await panel.locator('[data-action="list-files"]').click()
      await expect.poll(() => entries.count()).toBe(4)
      await answer.locator('[data-read="app.log"]').click()
      await expect.poll(() => answer.getAttribute('data-result')).toBe('ReadFile')
      expect(await answer.locator('pre[data-output="content"]').textContent()).toBe(LOG_TEXT)
      expect(await fact('sha256')).toBe(sha256(Buffer.from(LOG_TEXT)).toString('hex'))
      expect(await fact('read')).toMatch(/end of file$/)
      // binary content: base64, marked
      await panel.locator('input[name="path"]').fill('blob.bin')
      await panel.locator('[data-action="read-file"]').click()
      await expect.poll(() => answer.locator('pre[data-output="content"]').getAttribute('data-binary')).toBe('true')
      expect(await answer.locator('pre[data-output="content"]').textContent()).toBe(`binary, ${BLOB.length} bytes; base64:\n${BLOB.toString('base64')}`)

      // a root the policy lacks: the agent's refusal, quoted
      await panel.locator('input[name="root"]').fill('etc')
      await panel.locator('[data-action="list-files"]').click()
      await expect.poll(() => answer.getAttribute('data-outcome')).toBe('refused')
      expect(await answer.locator('[data-refusal]').textContent()).toBe(REFUSE_ROOT)

      // ExecuteCommand with slots: exit status, stdout as text, stderr (not UTF-8) as base64
      await panel.locator('input[name="command"]').fill('backup')
      await panel.locator('textarea[name="slots"]').fill('target=db\n\nmode=full')
      await panel.locator('[data-action="run-command"]').click()
      await expect.poll(() => answer.getAttribute('data-result')).toBe('ExecuteCommand')
      expect(await fact('exit')).toBe('0')
      expect(await fact('duration')).toBe('123 ms')
      expect(await answer.locator('pre[data-output="stdout"]').textContent()).toBe(STDOUT)
      expect(await answer.locator('pre[data-output="stderr"]').getAttribute('data-binary')).toBe('true')

      // a command the policy lacks: a refusal, clearly marked, quoting the agent
      await panel.locator('input[name="command"]').fill('reboot')
      await panel.locator('textarea[name="slots"]').fill('')
      await panel.locator('[data-action="run-command"]').click()
      await expect.poll(() => answer.getAttribute('data-outcome')).toBe('refused')
      expect(await answer.getAttribute('role')).toBe('alert')
      expect(await answer.locator('strong').textContent()).toBe('Run reboot: refused by the agent')
      expect(await answer.locator('[data-refusal]').textContent()).toBe(REFUSE_COMMAND)
      // drawn as a refusal (red band), not as a result
      type Styled = { getComputedStyle(element: unknown): { backgroundColor: string; borderLeftColor: string } }
      const colours = await answer.evaluate((el) => {
        const style = (globalThis as unknown as Styled).getComputedStyle(el)
        return [style.backgroundColor, style.borderLeftColor]
      })
      expect(colours).toEqual(['rgb(254, 242, 242)', 'rgb(220, 38, 38)'])

      // a slot line without "=" is caught on the page and not sent
      const sent = agent.actionFrames.length
      await panel.locator('textarea[name="slots"]').fill('no equals sign')
      await panel.locator('[data-action="run-command"]').click()
      await expect.poll(() => answer.getAttribute('data-outcome')).toBe('error')
      expect(await answer.locator('strong').textContent()).toBe('Run command: not sent')
      expect(await answer.locator('[data-hub-error]').textContent()).toBe('slot line 1 is not name=value: "no equals sign"')
      expect(agent.actionFrames.length).toBe(sent)

      mkdirSync(ARTIFACTS, { recursive: true })
      await panel.scrollIntoViewIfNeeded()
      await page.screenshot({ path: join(ARTIFACTS, 'hub-actions.png'), fullPage: true })

      // the agent goes away: the panel turns off with the reason, live
      await agent.close()
      await expect.poll(() => panel.getAttribute('data-available'), { timeout: 10_000 }).toBe('false')
      expect(await panel.locator('[data-actions-unavailable]').textContent()).toBe('Actions unavailable: the agent is not connected')
      expect(await panel.locator('[data-action="list-services"]').isDisabled()).toBe(true)
      expect(errors).toEqual([])
    } finally {
      await close()
    }
  }, 90_000)
})

describe.skipIf(!browser)('Actions panel in headless Chromium: systems that cannot be asked', () => {
  it('a Beszel-route agent and an SSH system: the panel is disabled with the reason, and nothing reaches the agent', async () => {
    const hub = await startHub()
    const { agent, id } = await fakeAgent(hub, 'beszel')
    hub.store.upsertSystem({ id: 'fp-ssh', name: 'ssh-box', transport: 'ssh', address: '10.0.0.9:45876', agentVersion: '0.18.8', connected: true, connectedAt: Date.now(), lastSampleAt: null })
    const { page, errors, close } = await openPage(hub, id)
    try {
      const panel = page.locator('[data-panel="actions"]')
      await expect.poll(() => panel.getAttribute('data-available')).toBe('false')
      expect(await panel.locator('[data-actions-unavailable]').textContent()).toMatch(/^Actions unavailable: this agent connected on Beszel's route \(\/api\/beszel\/agent-connect\), where actions 6–13 do not exist/)
      for (const action of ['list-services', 'list-files', 'read-file', 'run-command']) expect(await panel.locator(`[data-action="${action}"]`).isDisabled(), action).toBe(true)
      // a disabled control cannot be used
      await panel.locator('[data-action="list-services"]').click({ force: true })
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(await panel.locator('[data-action-answer] .answer').count()).toBe(0)
      expect(agent.actionFrames).toEqual([])

      await page.goto(`${hub.url}#fp-ssh`)
      await page.waitForSelector('#system[data-system="fp-ssh"] [data-panel="actions"]')
      await expect.poll(() => panel.locator('[data-actions-unavailable]').textContent()).toMatch(/^Actions unavailable: 10\.0\.0\.9:45876 is reached over SSH, where the agent refuses host actions/)
      expect(await panel.locator('[data-action="list-services"]').isDisabled()).toBe(true)
      expect(errors).toEqual([])
    } finally {
      await close()
    }
  }, 60_000)
})

// The real agent with a policy file: one command, one file root, no services.
const NO_SERVICES = 'no units may be listed: add unit names or globs to services.list in the extensions policy (EXTENSIONS_FILE, /etc/sonar-agent/extensions.yml)'

describe.skipIf(!browser)('Actions panel in headless Chromium with the real agent (`sonar-agent run`)', () => {
  let agent: ChildProcess | undefined
  afterEach(async () => {
    if (agent && agent.exitCode === null) {
      const exited = new Promise((resolve) => agent?.once('exit', resolve))
      agent.kill('SIGTERM')
      await exited
    }
  })

  it('the real agent answers the panel: a command runs, a file in a root is read, what the policy lacks is refused', async () => {
    const hub = await startHub()
    const home = tempDir()
    const notes = join(home, 'notes')
    mkdirSync(notes)
    writeFileSync(join(notes, 'todo.txt'), 'patch the hub\n')
    const policy = join(home, 'extensions.yml')
    writeFileSync(policy, `commands:\n  - id: greet\n    argv: [/bin/echo, hello, "{who}"]\n    slots: { who: "[a-z]{1,16}" }\nfiles:\n  - name: notes\n    path: ${notes}\n`, { mode: 0o600 })
    let log = ''
    agent = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'ts', 'bin.ts'), 'run'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: home, TMPDIR: home, LOG_LEVEL: 'info', KEY: hub.key, TOKEN: hub.token, HUB_URL: hub.agentUrl, DATA_DIR: join(home, 'data'), DISABLE_SSH: 'true', SMART_DEVICES: '', SKIP_SYSTEMD: 'true', EXTENSIONS_FILE: policy },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    agent.stdout?.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)))
    agent.stderr?.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)))
    const id = await until(`the real agent to connect (agent log: ${log})`, () => hub.sessions()[0]?.id, 30_000)
    expect(hub.store.get(id)?.route).toBe('sonar')
    const { page, errors, close } = await openPage(hub, id)
    try {
      const panel = page.locator('[data-panel="actions"]')
      const answer = panel.locator('[data-action-answer] .answer')
      await expect.poll(() => panel.getAttribute('data-available')).toBe('true')

      await panel.locator('[data-action="list-services"]').click()
      await expect.poll(() => answer.getAttribute('data-outcome'), { timeout: 10_000 }).toBe('refused')
      expect(await answer.locator('strong').textContent()).toBe('List services: refused by the agent')
      expect(await answer.locator('[data-refusal]').textContent()).toBe(NO_SERVICES)

      await panel.locator('input[name="command"]').fill('greet')
      await panel.locator('textarea[name="slots"]').fill('who=world')
      await panel.locator('[data-action="run-command"]').click()
      await expect.poll(() => answer.getAttribute('data-outcome'), { timeout: 10_000 }).toBe('done')
      expect(await answer.textContent()).toContain('hello world')

      await panel.locator('input[name="root"]').fill('notes')
      await panel.locator('input[name="path"]').fill('todo.txt')
      await panel.locator('[data-action="read-file"]').click()
      await expect.poll(async () => (await answer.textContent()) ?? '', { timeout: 10_000 }).toContain('patch the hub')

      await panel.locator('input[name="path"]').fill('../extensions.yml')
      await panel.locator('[data-action="read-file"]').click()
      await expect.poll(() => answer.getAttribute('data-outcome'), { timeout: 10_000 }).toBe('refused')

      // every decision is in the agent's audit log, next to its data
      const audit = readFileSync(join(home, 'data', 'audit.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { name: string; decision: string })
      expect(audit.map((r) => `${r.name} ${r.decision}`)).toEqual(['ListServices allowed', 'ListServices failed', 'ExecuteCommand allowed', 'ExecuteCommand done', 'ReadFile allowed', 'ReadFile done', 'ReadFile allowed', 'ReadFile failed'])
      // a refusal is an answer: the connection stays up
      expect(hub.sessions().map((s) => s.id)).toEqual([id])
      expect(errors).toEqual([])
    } finally {
      await close()
    }
  }, 60_000)
})
