/**
 * A live time-series chart over uPlot: series are found in each sample by name (a NIC, a sensor, a
 * GPU…), so a series that appears later rebuilds the chart; new samples append and redraw. The
 * element carries data-points / data-last-at so tests (and curious people) can read its state.
 */
import uPlot from 'uplot'
import type { HubSample } from '../api-types.js'

export interface ChartSpec {
  /** data-chart attribute, stable */
  key: string
  title: string
  format: (value: number) => string
  /** the values of one sample by series name; undefined/absent = no value at that time */
  values: (sample: HubSample) => Record<string, number | undefined>
  /** fixed y range, e.g. [0, 100] for percentages; default from 0 to the data's max */
  range?: [number, number]
  /** allow negative values (temperatures) */
  signed?: boolean
}

const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#475569', '#ea580c', '#0d9488', '#9333ea']
const HEIGHT = 170
/** Samples older than this are dropped: the hub keeps 24 h of minute samples. */
const KEEP_SECONDS = 24 * 3600 + 600
/** The x axis shows at least this much time, so a young chart is not stretched. */
const MIN_SPAN_SECONDS = 60
/** Beyond this many series the legend is hidden (it would be taller than the chart). */
const MAX_LEGEND_SERIES = 16

export class LiveChart {
  readonly element: HTMLElement
  private readonly plotHost: HTMLElement
  private readonly names: string[] = []
  private readonly xs: number[] = []
  private readonly columns = new Map<string, (number | null)[]>()
  private plot: uPlot | undefined
  private shape = ''
  private readonly resize: ResizeObserver

  constructor(
    private readonly spec: ChartSpec,
    private windowSeconds: number,
  ) {
    this.element = document.createElement('section')
    this.element.className = 'chart'
    this.element.dataset.chart = spec.key
    this.element.dataset.points = '0'
    this.element.hidden = true
    const title = document.createElement('h3')
    title.textContent = spec.title
    this.plotHost = document.createElement('div')
    this.element.append(title, this.plotHost)
    this.resize = new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: HEIGHT }))
    this.resize.observe(this.element)
  }

  /** Appends samples (oldest first); samples not newer than the last one are ignored. */
  push(samples: readonly HubSample[]): void {
    for (const sample of samples) {
      const x = sample.at / 1000
      const last = this.xs.at(-1)
      if (last !== undefined && x <= last) continue
      const values = this.spec.values(sample)
      for (const [name, value] of Object.entries(values)) {
        if (value === undefined || this.columns.has(name)) continue
        this.names.push(name)
        this.columns.set(name, new Array<number | null>(this.xs.length).fill(null))
      }
      this.xs.push(x)
      for (const name of this.names) {
        const value = values[name]
        this.columns.get(name)?.push(value === undefined || !Number.isFinite(value) ? null : value)
      }
    }
    this.trim()
    this.render()
  }

  setWindow(seconds: number): void {
    this.windowSeconds = seconds
    this.plot?.setData(this.data(), true)
  }

  destroy(): void {
    this.resize.disconnect()
    this.plot?.destroy()
    this.element.remove()
  }

  private trim(): void {
    const newest = this.xs.at(-1)
    if (newest === undefined) return
    let drop = 0
    while (drop < this.xs.length && (this.xs[drop] ?? 0) < newest - KEEP_SECONDS) drop++
    if (drop === 0) return
    this.xs.splice(0, drop)
    for (const column of this.columns.values()) column.splice(0, drop)
  }

  private data(): uPlot.AlignedData {
    return [this.xs, ...this.names.map((name) => this.columns.get(name) ?? [])]
  }

  private render(): void {
    this.element.hidden = this.names.length === 0
    this.element.dataset.points = String(this.xs.length)
    this.element.dataset.series = String(this.names.length)
    const last = this.xs.at(-1)
    if (last !== undefined) this.element.dataset.lastAt = String(Math.round(last * 1000))
    if (this.names.length === 0) return
    const shape = this.names.join('\u0000')
    if (this.plot && shape === this.shape) {
      this.plot.setData(this.data(), true)
    } else {
      this.plot?.destroy()
      this.shape = shape
      this.plot = new uPlot(this.options(), this.data(), this.plotHost)
    }
    this.showLatest()
  }

  /** The legend shows the newest values unless the pointer is over the chart. */
  private showLatest(): void {
    const plot = this.plot
    if (!plot || this.xs.length === 0 || (plot.cursor.left ?? -1) >= 0) return
    plot.setLegend({ idx: this.xs.length - 1 }, false)
  }

  private width(): number {
    return Math.max(240, this.element.clientWidth - 16)
  }

  private options(): uPlot.Options {
    const { format, range, signed } = this.spec
    const show = (_: uPlot, value: number | null): string => (value === null || value === undefined ? '—' : format(value))
    return {
      width: this.width(),
      height: HEIGHT,
      cursor: { drag: { x: false, y: false } },
      legend: { live: true, show: this.names.length <= MAX_LEGEND_SERIES },
      hooks: {
        setCursor: [
          (plot) => {
            // the pointer left: back to the newest values (after uPlot has cleared the legend)
            if (plot.cursor.idx === null || plot.cursor.idx === undefined) queueMicrotask(() => this.showLatest())
          },
        ],
      },
      scales: {
        x: {
          time: true,
          range: (_u, min, max) => {
            let low = Math.max(min, max - this.windowSeconds)
            if (max - low < MIN_SPAN_SECONDS) low = max - MIN_SPAN_SECONDS
            return [low, max]
          },
        },
        y: {
          range: (_u, min, max): uPlot.Range.MinMax => {
            if (range) return [range[0], Math.max(range[1], max)]
            const top = max > 0 ? max * 1.1 : 1
            return [signed && min < 0 ? min * 1.1 : 0, top]
          },
        },
      },
      axes: [
        { stroke: '#555', grid: { stroke: '#eee' }, ticks: { stroke: '#ddd' } },
        { stroke: '#555', grid: { stroke: '#eee' }, ticks: { stroke: '#ddd' }, size: 78, values: (_u, ticks) => ticks.map((tick) => format(tick)) },
      ],
      series: [
        { value: (_u, value) => (value === null ? '—' : new Date(value * 1000).toLocaleTimeString()) },
        ...this.names.map((name, index) => ({
          label: name,
          stroke: PALETTE[index % PALETTE.length],
          width: 1.5,
          points: { show: false },
          value: show,
        })),
      ],
    }
  }
}
