/**
 * The dev hub page: the list of systems, and for the selected one its summary (host facts from the
 * stored Details, else the legacy Info fields), live charts and the containers, services and SMART
 * tables. History comes from /api/systems/:id/history, new samples from the
 * /api/events stream (opening it for a system makes the hub poll that system every second).
 */
import 'uplot/dist/uPlot.min.css'
import './style.css'
import type { HistoryResponse, HubSample, SampleEvent, ServiceJson, SystemView } from '../api-types.js'
import { ActionsPanel } from './actions.js'
import { LiveChart } from './chart.js'
import { element } from './dom.js'
import { ago, bytes, duration, gib, percent } from './format.js'
import { CHART_SPECS } from './specs.js'
import { containersTable, servicesTable, smartTable } from './tables.js'

const WINDOWS: [string, number][] = [
  ['5 min', 300],
  ['1 h', 3600],
  ['24 h', 86400],
]
const OS_NAMES = ['Linux', 'macOS', 'Windows', 'FreeBSD']

const systemsNav = document.getElementById('systems') as HTMLElement
const main = document.getElementById('system') as HTMLElement
const streamState = document.getElementById('stream-state') as HTMLElement

interface View {
  id: string
  charts: LiveChart[]
  summary: HTMLElement
  containers: HTMLElement
  services: HTMLElement
  smart: HTMLElement
  actions: ActionsPanel
  lastAt: number
  latest: HubSample | undefined
  lastServices: ServiceJson[] | undefined
  /** samples that arrived on the stream while the history was loading */
  pending: HubSample[] | null
}

let systems: SystemView[] = []
let view: View | undefined
let events: EventSource | undefined
let windowSeconds = WINDOWS[0]?.[1] ?? 300

function renderSystems(): void {
  systemsNav.replaceChildren(element('h2', undefined, 'Systems'))
  if (systems.length === 0) systemsNav.append(element('p', 'hint', 'No agent has connected yet.'))
  for (const system of systems) {
    const link = element('a', `system-link${system.id === view?.id ? ' selected' : ''}`)
    link.href = `#${encodeURIComponent(system.id)}`
    link.dataset.system = system.id
    link.append(element('span', `dot ${system.connected ? 'up' : 'down'}`), element('span', 'name', system.name))
    const numbers = system.latest ? `CPU ${percent(system.latest.cpu)} · mem ${percent(system.latest.mp)} · disk ${percent(system.latest.dp)}` : 'no sample yet'
    link.append(element('small', undefined, numbers))
    systemsNav.append(link)
  }
}

type Fact = [term: string, detail: string, key?: string]

/** Host facts as Beszel's info bar picks them: Details first, the legacy Info fields as fallback. */
function hostFacts(system: SystemView | undefined, info: HubSample['data']['info'] | undefined, memGiB: number | undefined): Fact[] {
  const stored = system?.details
  const details = stored?.details
  if (!details && !info) return []
  const os = details?.Os ?? info?.os ?? 0
  const kernel = details?.Kernel || info?.k || ''
  const facts: Fact[] = [
    ['OS', details?.OsName || OS_NAMES[os] || 'unknown', 'os'],
    ['Architecture', details?.Arch || '—', 'arch'],
    ['Kernel', kernel || '—', 'kernel'],
  ]
  const model = details?.CpuModel || info?.m || ''
  const cores = details?.Cores || info?.c || 0
  const threads = details?.Threads || info?.t || 0
  facts.push(['CPU', `${model || 'unknown'} · ${cores} cores${threads ? ` / ${threads} threads` : ''}`, 'cpu'])
  const memory = details?.MemoryTotal ? bytes(details.MemoryTotal) : memGiB ? `${gib(memGiB)} (from the memory figure)` : '—'
  facts.push(['Memory', memory, 'memory'])
  if (details?.SmartInterval) facts.push(['SMART every', duration(details.SmartInterval / 1e9), 'smart-interval'])
  if (stored) facts.push(['Details', stored.source === 'agent' ? 'sent by the agent' : 'synthesized by the hub from legacy Info (no OS name, architecture or SMART interval)', 'details-source'])
  return facts
}

function renderSummary(target: View): void {
  const system = systems.find((s) => s.id === target.id)
  const info = target.latest?.data.info
  const rows: Fact[] = []
  if (system) {
    rows.push(['Status', system.connected ? `connected (${system.transport}, ${system.address})` : `disconnected${system.lastError ? `: ${system.lastError}` : ''}`])
    rows.push(['Agent', `protocol ${system.agentVersion}${system.watched ? ' · live (1 s)' : ''}`])
    if (system.hubVersion) rows.push(['Hub', `plays Beszel ${system.hubVersion}`, 'hub-version'])
  }
  rows.push(...hostFacts(system, info, target.latest?.data.stats.m))
  if (info) {
    rows.push(['Uptime', duration(info.u)])
    rows.push(['Load', info.la.map((n) => n.toFixed(2)).join(' / ')])
    if (info.bat) rows.push(['Battery', `${info.bat[0]} %`])
  }
  if (target.latest) rows.push(['Last sample', `${ago(target.latest.at)} (${target.latest.cacheTimeMs === 1000 ? '1 s' : '60 s'} poll)`])
  const heading = element('h1', undefined, system?.name ?? target.id)
  const list = element('dl', 'facts')
  for (const [term, detail, key] of rows) {
    const dd = element('dd', undefined, detail)
    if (key) dd.dataset.fact = key
    list.append(element('dt', undefined, term), dd)
  }
  target.summary.replaceChildren(heading, list)
}

function renderTables(target: View): void {
  target.containers.replaceChildren(element('h2', undefined, 'Containers'), containersTable(target.latest?.data.container ?? null))
  target.services.replaceChildren(element('h2', undefined, 'Services'), servicesTable(target.lastServices))
  renderSmart(target)
}

function renderSmart(target: View): void {
  const system = systems.find((s) => s.id === target.id)
  target.smart.replaceChildren(element('h2', undefined, 'S.M.A.R.T.'), smartTable(system?.smart ?? []))
}

function addSamples(target: View, samples: HubSample[]): void {
  const fresh = samples.filter((s) => s.at > target.lastAt).sort((a, b) => a.at - b.at)
  if (fresh.length === 0) return
  for (const chart of target.charts) chart.push(fresh)
  for (const sample of fresh) if (sample.data.services) target.lastServices = sample.data.services
  target.latest = fresh.at(-1)
  target.lastAt = target.latest?.at ?? target.lastAt
  main.dataset.lastAt = String(target.lastAt)
  renderSummary(target)
  renderTables(target)
}

async function fetchJson<T>(url: string): Promise<T> {
  const response = await fetch(url)
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`)
  return (await response.json()) as T
}

async function loadHistory(target: View): Promise<void> {
  const since = target.lastAt > 0 ? target.lastAt : Date.now() - 24 * 3600 * 1000
  try {
    const history = await fetchJson<HistoryResponse>(`/api/systems/${encodeURIComponent(target.id)}/history?since=${Math.floor(since)}`)
    if (view !== target) return
    addSamples(target, history.samples)
  } finally {
    const buffered = target.pending ?? []
    target.pending = null
    if (view === target) addSamples(target, buffered)
  }
}

function windowButtons(): HTMLElement {
  const group = element('div', 'windows')
  for (const [label, seconds] of WINDOWS) {
    const button = element('button', seconds === windowSeconds ? 'active' : '', label)
    button.type = 'button'
    button.addEventListener('click', () => {
      windowSeconds = seconds
      for (const b of group.querySelectorAll('button')) b.classList.toggle('active', b === button)
      for (const chart of view?.charts ?? []) chart.setWindow(seconds)
    })
    group.append(button)
  }
  return group
}

function select(id: string | undefined): void {
  for (const chart of view?.charts ?? []) chart.destroy()
  view = undefined
  if (id === undefined) {
    main.replaceChildren(
      element('p', 'hint', 'Waiting for an agent to connect. `sonar-agent hub` printed the KEY, TOKEN and HUB_URL to give it; `npm start` connects this machine.'),
    )
    openStream(undefined)
    renderSystems()
    return
  }
  const target: View = {
    id,
    charts: CHART_SPECS.map((spec) => new LiveChart(spec, windowSeconds)),
    summary: element('div', 'summary'),
    containers: element('section', 'tables'),
    services: element('section', 'tables'),
    smart: element('section', 'tables'),
    actions: new ActionsPanel(id),
    lastAt: 0,
    latest: undefined,
    lastServices: undefined,
    pending: [],
  }
  view = target
  main.dataset.system = id
  delete main.dataset.lastAt
  const grid = element('div', 'charts')
  grid.append(...target.charts.map((chart) => chart.element))
  main.replaceChildren(target.summary, windowButtons(), grid, target.containers, target.services, target.smart, target.actions.element)
  target.actions.update(systems.find((s) => s.id === id))
  renderSummary(target)
  renderTables(target)
  renderSystems()
  openStream(id)
  loadHistory(target).catch((error: unknown) => showStreamState(`history failed: ${String(error)}`, 'bad'))
}

function showStreamState(text: string, state: 'good' | 'bad' | ''): void {
  streamState.textContent = text
  streamState.className = `stream-state ${state}`
}

function openStream(id: string | undefined): void {
  events?.close()
  const source = new EventSource(id === undefined ? '/api/events' : `/api/events?system=${encodeURIComponent(id)}`)
  events = source
  let opened = false
  source.addEventListener('open', () => {
    showStreamState(id === undefined ? 'connected' : 'live', 'good')
    // after a reconnect, fetch what the stream missed meanwhile
    if (opened && view && view.id === id && view.pending === null) {
      view.pending = []
      loadHistory(view).catch(() => undefined)
    }
    opened = true
  })
  source.addEventListener('error', () => {
    showStreamState('reconnecting…', 'bad')
    // an unknown system (the hub restarted) answers 404, which ends the EventSource for good
    if (source.readyState === EventSource.CLOSED && events === source) setTimeout(() => void refreshSystems(), 2000)
  })
  source.addEventListener('systems', (event) => {
    systems = JSON.parse((event as MessageEvent<string>).data) as SystemView[]
    onSystems()
  })
  source.addEventListener('sample', (event) => {
    const { id: from, sample } = JSON.parse((event as MessageEvent<string>).data) as SampleEvent
    if (!view || view.id !== from) return
    if (view.pending) view.pending.push(sample)
    else addSamples(view, [sample])
  })
}

function wantedSystem(): string | undefined {
  const fromHash = decodeURIComponent(location.hash.slice(1))
  if (fromHash && systems.some((s) => s.id === fromHash)) return fromHash
  return (systems.find((s) => s.connected) ?? systems[0])?.id
}

function onSystems(): void {
  if (view === undefined && systems.length > 0) {
    select(wantedSystem())
    return
  }
  if (view && !systems.some((s) => s.id === view?.id)) {
    select(wantedSystem())
    return
  }
  renderSystems()
  if (view) {
    renderSummary(view)
    renderSmart(view)
    const current = view
    current.actions.update(systems.find((s) => s.id === current.id))
  }
}

async function refreshSystems(): Promise<void> {
  try {
    systems = await fetchJson<SystemView[]>('/api/systems')
  } catch (error) {
    showStreamState(`hub unreachable: ${String(error)}`, 'bad')
    setTimeout(() => void refreshSystems(), 3000)
    return
  }
  select(wantedSystem())
}

window.addEventListener('hashchange', () => {
  const id = wantedSystem()
  if (id !== view?.id) select(id)
})
// the "x s ago" texts age even when no sample arrives
setInterval(() => {
  if (view) renderSummary(view)
}, 5000)

void refreshSystems()
