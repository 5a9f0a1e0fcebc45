/**
 * How the Actions panel shows an answer: each result map (issue 11) as a table, facts or output,
 * a refusal (the agent's key 3) as a refusal that quotes the agent, a hub error as the hub's.
 * Services and file rows carry the follow-up buttons (restart, status, open); the panel wires them.
 */
import type { ActionAnswerJson, ActionResultJson, BytesJson, FileEntryJson, ServiceUnitJson } from '../api-types.js'
import { element } from './dom.js'
import { bytes } from './format.js'

/** What a row's button asks the panel to do next. */
export type FollowUp =
  | { action: 'GetServiceStatus'; unit: string }
  | { action: 'PerformServiceAction'; unit: string; serviceAction: 'restart' }
  | { action: 'ListFiles'; root: string; path: string }
  | { action: 'ReadFile'; root: string; path: string }

export interface RenderContext {
  /** the root and directory a ListFiles answer was for (to open its entries) */
  root: string
  path: string
  followUp: (request: FollowUp) => void
}

function button(label: string, onClick: () => void, data: Record<string, string> = {}): HTMLButtonElement {
  const b = element('button', 'small', label)
  b.type = 'button'
  Object.assign(b.dataset, data)
  b.addEventListener('click', onClick)
  return b
}

function headedTable(key: string, headings: string[]): { table: HTMLTableElement; body: HTMLTableSectionElement } {
  const table = element('table')
  table.dataset.table = key
  const head = table.createTHead().insertRow()
  for (const heading of headings) head.append(element('th', undefined, heading))
  return { table, body: table.createTBody() }
}

function cells(row: HTMLTableRowElement, values: (string | Node)[]): void {
  for (const value of values) {
    const td = row.insertCell()
    if (typeof value === 'string') td.textContent = value
    else td.append(value)
  }
}

function facts(rows: [string, string, string][]): HTMLElement {
  const list = element('dl', 'facts')
  for (const [term, detail, key] of rows) {
    const dd = element('dd', undefined, detail)
    dd.dataset.fact = key
    list.append(element('dt', undefined, term), dd)
  }
  return list
}

/** Text where the bytes are UTF-8, else a note and the base64. */
function output(label: string, key: string, data: BytesJson): HTMLElement {
  const wrap = element('div', 'output')
  wrap.append(element('h4', undefined, `${label} (${bytes(data.length)})`))
  const pre = element('pre')
  pre.dataset.output = key
  if (data.text !== undefined) pre.textContent = data.text
  else {
    pre.dataset.binary = 'true'
    pre.textContent = `binary, ${data.length} bytes; base64:\n${data.base64}`
  }
  wrap.append(pre)
  return wrap
}

function servicesResult(units: ServiceUnitJson[], context: RenderContext): HTMLElement {
  if (units.length === 0) return element('p', 'hint', 'The agent lists no units (its policy shows none).')
  const { table, body } = headedTable('action-services', ['Unit', 'Load', 'Active', 'Sub-state', 'Description', ''])
  for (const unit of units) {
    const row = body.insertRow()
    row.dataset.unit = unit.unit
    const controls = element('span', 'row-actions')
    controls.append(button('Status', () => context.followUp({ action: 'GetServiceStatus', unit: unit.unit }), { status: unit.unit }))
    if (unit.manageable) controls.append(button('Restart', () => context.followUp({ action: 'PerformServiceAction', unit: unit.unit, serviceAction: 'restart' }), { restart: unit.unit }))
    cells(row, [unit.unit, unit.loadState, unit.activeState, unit.subState, unit.description, controls])
    const active = row.cells[2]
    if (active) active.className = unit.activeState === 'failed' ? 'bad' : unit.activeState === 'active' ? 'good' : ''
  }
  return table
}

const MODE_TYPES: Record<FileEntryJson['kind'], string> = { file: '-', directory: 'd', symlink: 'l', other: '?' }

function modeText(entry: FileEntryJson): string {
  const rwx = (bits: number) => `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${bits & 1 ? 'x' : '-'}`
  return `${MODE_TYPES[entry.kind]}${rwx(entry.mode >> 6)}${rwx(entry.mode >> 3)}${rwx(entry.mode)} (${entry.mode.toString(8).padStart(4, '0')})`
}

function filesResult(entries: FileEntryJson[], truncated: boolean, context: RenderContext): HTMLElement {
  const wrap = element('div')
  wrap.append(element('p', 'hint', `${context.root}:/${context.path}`))
  const { table, body } = headedTable('action-files', ['Name', 'Kind', 'Size', 'Mode', 'Modified'])
  const child = (name: string) => (context.path === '' ? name : `${context.path.replace(/\/+$/, '')}/${name}`)
  for (const entry of [...entries].sort((a, b) => Number(b.kind === 'directory') - Number(a.kind === 'directory') || a.name.localeCompare(b.name))) {
    const row = body.insertRow()
    row.dataset.entry = entry.name
    const name =
      entry.kind === 'directory'
        ? button(`${entry.name}/`, () => context.followUp({ action: 'ListFiles', root: context.root, path: child(entry.name) }), { open: entry.name })
        : entry.kind === 'file'
          ? button(entry.name, () => context.followUp({ action: 'ReadFile', root: context.root, path: child(entry.name) }), { read: entry.name })
          : entry.name
    cells(row, [name, entry.kind, entry.kind === 'directory' ? '—' : bytes(entry.size), modeText(entry), new Date(entry.mtimeMs).toLocaleString()])
  }
  wrap.append(table)
  if (entries.length === 0) wrap.append(element('p', 'hint', 'Empty directory.'))
  if (truncated) wrap.append(element('p', 'hint', 'Truncated: the directory has more than 10000 entries.'))
  return wrap
}

function resultBody(result: ActionResultJson, context: RenderContext): HTMLElement {
  switch (result.action) {
    case 'ListServices':
      return servicesResult(result.units, context)
    case 'GetServiceStatus':
      return facts([
        ['Unit', result.unit, 'unit'],
        ['Description', result.description, 'description'],
        ['State', `${result.loadState} · ${result.activeState} (${result.subState})`, 'state'],
        ['Unit file', result.unitFileState, 'unit-file'],
        ['Main PID', result.mainPid ? String(result.mainPid) : '—', 'main-pid'],
        ['Active since', result.activeEnterUs ? new Date(result.activeEnterUs / 1000).toLocaleString() : '—', 'active-since'],
        ['Manageable', result.manageable ? 'yes (policy `manage`)' : 'no', 'manageable'],
      ])
    case 'PerformServiceAction':
      return facts([
        ['Unit', result.unit, 'unit'],
        ['Action', result.serviceAction, 'service-action'],
        ['systemd job', result.job || '— (no job: enable/disable)', 'job'],
        ['Active state now', result.activeState, 'active-state'],
      ])
    case 'ListFiles':
      return filesResult(result.entries, result.truncated, context)
    case 'ReadFile': {
      const wrap = element('div')
      wrap.append(
        facts([
          ['File', `${context.root}:/${context.path}`, 'file'],
          ['Read', `${bytes(result.data.length)} of ${bytes(result.size)}${result.eof ? ' · end of file' : ' · more follows'}`, 'read'],
          ['SHA-256', result.sha256 ?? '— (not the whole file)', 'sha256'],
        ]),
        output('Content', 'content', result.data),
      )
      return wrap
    }
    case 'ExecuteCommand': {
      const wrap = element('div')
      const flags = [result.timedOut ? 'timed out (process group killed)' : '', result.truncated ? 'output truncated' : ''].filter(Boolean)
      wrap.append(
        facts([
          ['Exit status', result.exitStatus === -1 ? `— (ended by ${result.signal || 'a signal'})` : String(result.exitStatus), 'exit'],
          ['Duration', `${result.durationMs} ms`, 'duration'],
          ['Notes', flags.join(' · ') || '—', 'notes'],
        ]),
        output('stdout', 'stdout', result.stdout),
        output('stderr', 'stderr', result.stderr),
      )
      return wrap
    }
  }
}

function signedLine(answer: ActionAnswerJson): HTMLElement {
  const line = element('p', 'hint signed', `signed request: action ${answer.signed.action}, nonce ${answer.signed.nonce}, at ${new Date(answer.signed.timestampMs).toLocaleTimeString()}; answered in ${answer.tookMs} ms`)
  line.dataset.signed = answer.signed.nonce
  return line
}

/** The agent's answer: a result, or its refusal quoted as the agent sent it. */
export function renderAnswer(label: string, answer: ActionAnswerJson, context: RenderContext): HTMLElement {
  const box = element('div', `answer ${answer.outcome}`)
  box.dataset.outcome = answer.outcome
  if (answer.outcome === 'refused') {
    box.setAttribute('role', 'alert')
    box.append(element('strong', undefined, `${label}: refused by the agent`))
    const message = element('p', 'message', answer.message)
    message.dataset.refusal = ''
    box.append(message)
  } else {
    box.dataset.result = answer.result.action
    box.append(element('strong', undefined, label), resultBody(answer.result, context))
  }
  box.append(signedLine(answer))
  return box
}

/**
 * The hub could not ask (not connected, not SONAR's route, a timeout, a bad answer, a refused page
 * request: `status` is the HTTP status), or the hub was not reached (`status` undefined).
 */
export function renderHubError(label: string, status: number | undefined, message: string): HTMLElement {
  const headline = status === undefined ? `${label}: the hub did not answer` : `${label}: the hub could not ask the agent (HTTP ${status})`
  return errorBox(headline, message)
}

/** The page found the input unusable: nothing was sent. */
export function renderNotSent(label: string, message: string): HTMLElement {
  return errorBox(`${label}: not sent`, message)
}

function errorBox(headline: string, message: string): HTMLElement {
  const box = element('div', 'answer error')
  box.dataset.outcome = 'error'
  box.setAttribute('role', 'alert')
  box.append(element('strong', undefined, headline))
  const text = element('p', 'message', message)
  text.dataset.hubError = ''
  box.append(text)
  return box
}

export function renderPending(label: string): HTMLElement {
  const box = element('div', 'answer pending', `${label}: waiting for the agent…`)
  box.dataset.outcome = 'pending'
  return box
}
