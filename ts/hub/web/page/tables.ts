/** The containers and services tables (latest sample that has them). */
import type { ContainerJson } from '../../../../index.js'
import type { ServiceJson, SmartDeviceView } from '../api-types.js'
import { bytes, bytesPerSecond, MIB, mib, percent } from './format.js'

const HEALTH = ['—', 'starting', 'healthy', 'unhealthy']
const SERVICE_STATE = ['active', 'inactive', 'failed', 'activating', 'deactivating', 'reloading']
const SERVICE_SUB = ['dead', 'running', 'exited', 'failed', 'unknown']

type Cell = string | { text: string; className: string }

function table(key: string, headings: string[], rows: Cell[][], empty: string): HTMLElement {
  const wrap = document.createElement('div')
  wrap.className = 'table-wrap'
  if (rows.length === 0) {
    const p = document.createElement('p')
    p.className = 'hint'
    p.textContent = empty
    wrap.append(p)
  }
  const element = document.createElement('table')
  element.dataset.table = key
  element.hidden = rows.length === 0
  const head = element.createTHead().insertRow()
  for (const heading of headings) {
    const th = document.createElement('th')
    th.textContent = heading
    head.append(th)
  }
  const body = element.createTBody()
  for (const row of rows) {
    const tr = body.insertRow()
    for (const cell of row) {
      const td = tr.insertCell()
      if (typeof cell === 'string') td.textContent = cell
      else {
        td.textContent = cell.text
        td.className = cell.className
      }
    }
  }
  wrap.append(element)
  return wrap
}

export function containersTable(containers: ContainerJson[] | null): HTMLElement {
  const rows = [...(containers ?? [])]
    .sort((a, b) => a.n.localeCompare(b.n))
    .map((c): Cell[] => [
      c.n,
      c.id,
      c.image,
      c.status,
      HEALTH[c.health] ?? String(c.health),
      percent(c.c),
      mib(c.m),
      c.b ? `${bytesPerSecond(c.b[0])} / ${bytesPerSecond(c.b[1])}` : `${bytesPerSecond(c.ns * MIB)} / ${bytesPerSecond(c.nr * MIB)}`,
      c.ports || '—',
    ])
  const empty = containers === null ? 'No container engine answered this agent.' : 'No running containers.'
  return table('containers', ['Name', 'ID', 'Image', 'Status', 'Health', 'CPU', 'Memory', 'Net ↑ / ↓', 'Ports'], rows, empty)
}

export function servicesTable(services: ServiceJson[] | undefined): HTMLElement {
  const rows = [...(services ?? [])]
    .sort((a, b) => Number(b.s === 2) - Number(a.s === 2) || a.n.localeCompare(b.n))
    .map((s): Cell[] => [
      s.n,
      { text: SERVICE_STATE[s.s] ?? String(s.s), className: s.s === 2 ? 'bad' : s.s === 0 ? 'good' : '' },
      SERVICE_SUB[s.ss] ?? String(s.ss),
      percent(s.c),
      percent(s.cp),
      bytes(s.m),
      bytes(s.mp),
    ])
  const empty = services === undefined ? 'No systemd services reported (they come with the 60 s samples, on Linux with systemd).' : 'No services.'
  return table('services', ['Service', 'State', 'Sub-state', 'CPU', 'CPU peak', 'Memory', 'Memory peak'], rows, empty)
}

/** The smart_devices records (what a hub keeps: a vanished drive is gone only once a 0.18.8 hub pruned it). */
export function smartTable(devices: SmartDeviceView[]): HTMLElement {
  const rows = devices.map((d): Cell[] => [
    d.name,
    d.model || '—',
    { text: d.state || '—', className: d.state === 'PASSED' ? 'good' : d.state === 'FAILED' ? 'bad' : '' },
    d.capacity ? bytes(d.capacity) : '—',
    d.temp ? `${d.temp} °C` : '—',
    d.firmware || '—',
    d.serial || '—',
    d.type || '—',
    d.hours === undefined ? '—' : String(d.hours),
    d.cycles === undefined ? '—' : String(d.cycles),
  ])
  return table('smart', ['Device', 'Model', 'State', 'Capacity', 'Temp', 'Firmware', 'Serial', 'Type', 'Power-on hours', 'Power cycles'], rows, 'No S.M.A.R.T. data stored for this system.')
}
