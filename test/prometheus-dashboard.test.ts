/**
 * The panels of Grafana's "Node Exporter Full" (dashboard 1860) against this agent's /metrics
 * exposition, read from this machine: the metric names each panel queries and the label names
 * its selectors use (test/fixtures/dashboards, extracted from the dashboard). The overview rows
 * must be served whole (every gap listed here with its reason); the coverage of every panel is
 * printed, so a family that goes missing shows in the numbers.
 */
import { existsSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { loadNative } from '../ts/native.js'

interface Panel {
  row: string
  panel: string
  metrics: string[]
  labels: Record<string, string[]>
}
const dashboard = JSON.parse(readFileSync('test/fixtures/dashboards/node-exporter-full.metrics.json', 'utf8')) as {
  variables: { variable: string; query: string }[]
  panels: Panel[]
}

/** Rows a user of the dashboard looks at first: served whole, but for these. */
const OVERVIEW_ROWS = ['Quick CPU / Mem / Disk', 'Basic CPU / Mem / Net / Disk', 'CPU / Memory / Net / Disk']
/**
 * Series node_exporter too writes only where the kernel has them: a gap is allowed when this
 * host's kernel lacks the source (the test says which).
 */
const KERNEL_DEPENDENT: Record<string, { source: string; absent: () => boolean }> = {
  node_memory_HardwareCorrupted_bytes: {
    source: '/proc/meminfo HardwareCorrupted (CONFIG_MEMORY_FAILURE)',
    absent: () => !readFileSync('/proc/meminfo', 'utf8').includes('HardwareCorrupted:'),
  },
  node_pressure_irq_stalled_seconds_total: { source: '/proc/pressure/irq (Linux 6.1+, CONFIG_IRQ_TIME_ACCOUNTING)', absent: () => !existsSync('/proc/pressure/irq') },
}

function allowedGap(name: string): boolean {
  const dependent = KERNEL_DEPENDENT[name]
  if (!dependent?.absent()) return false
  console.log(`${name}: not on this host (${dependent.source} is absent), as with node_exporter`)
  return true
}

/** name → the label names its series carry */
function parseExposition(text: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s/.exec(line)
    if (!match) throw new Error(`unparsable exposition line: ${line}`)
    const labels = out.get(match[1]!) ?? new Set<string>()
    for (const pair of (match[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) labels.add(pair[1]!)
    out.set(match[1]!, labels)
  }
  return out
}

function missing(panel: Panel, served: Map<string, Set<string>>): string[] {
  const gaps: string[] = []
  for (const name of panel.metrics) {
    const labels = served.get(name)
    if (!labels) {
      gaps.push(name)
      continue
    }
    for (const label of panel.labels[name] ?? []) if (!labels.has(label)) gaps.push(`${name}{${label}}`)
  }
  return gaps
}

describe('Grafana "Node Exporter Full" (1860) on this agent', async () => {
  const native = loadNative()
  const served = parseExposition((await native.metricsExposition('text')).toString('utf8'))

  it('serves the node_uname_info its host variables are read from, with nodename', () => {
    expect(served.get('node_uname_info')?.has('nodename')).toBe(true)
  })

  it('serves every panel of the overview rows', () => {
    const gaps = dashboard.panels
      .filter((p) => OVERVIEW_ROWS.includes(p.row))
      .flatMap((p) => missing(p, served).filter((g) => !allowedGap(g)).map((g) => `${p.row} / ${p.panel}: ${g}`))
    expect(gaps).toEqual([])
  })

  it('prints the coverage of every panel', () => {
    const rows = new Map<string, { whole: number; all: number; gaps: Set<string> }>()
    for (const panel of dashboard.panels) {
      const row = rows.get(panel.row) ?? { whole: 0, all: 0, gaps: new Set<string>() }
      const gaps = missing(panel, served)
      row.all += 1
      if (gaps.length === 0) row.whole += 1
      for (const gap of gaps) row.gaps.add(gap)
      rows.set(panel.row, row)
    }
    let whole = 0
    for (const [name, row] of rows) {
      whole += row.whole
      console.log(`${name}: ${row.whole}/${row.all} panels served whole${row.gaps.size ? `; not served: ${[...row.gaps].join(', ')}` : ''}`)
    }
    console.log(`Node Exporter Full: ${whole}/${dashboard.panels.length} panels served whole`)
    expect(whole).toBeGreaterThan(0)
  })
})
