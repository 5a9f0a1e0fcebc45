/** Which charts a system gets and where each one finds its numbers in a sample (data-model.md §1). */
import type { ChartSpec } from './chart.js'
import { bytesPerSecond, celsius, gib, megabytes, MIB, mib, percent, plain, rpm, watts } from './format.js'

type Values = Record<string, number | undefined>

const CPU_PARTS = ['user', 'system', 'iowait', 'steal'] as const

export const CHART_SPECS: ChartSpec[] = [
  {
    key: 'cpu',
    title: 'CPU',
    format: percent,
    range: [0, 100],
    values: ({ data: { stats } }) => {
      const values: Values = { total: stats.cpu }
      CPU_PARTS.forEach((part, index) => (values[part] = stats.cpub?.[index]))
      return values
    },
  },
  {
    key: 'cpu-cores',
    title: 'CPU per core',
    format: percent,
    range: [0, 100],
    values: ({ data: { stats } }) => Object.fromEntries((stats.cpus ?? []).map((value, core) => [`core ${core}`, value])),
  },
  {
    key: 'load',
    title: 'Load average',
    format: plain,
    values: ({ data: { stats } }) => ({ '1 min': stats.la[0], '5 min': stats.la[1], '15 min': stats.la[2] }),
  },
  {
    key: 'memory',
    title: 'Memory',
    format: gib,
    values: ({ data: { stats } }) => ({
      used: stats.mu,
      'buffers/cache': stats.mb,
      'ZFS ARC': stats.mz,
      'swap used': stats.s ? (stats.su ?? 0) : undefined,
    }),
  },
  {
    key: 'disk-usage',
    title: 'Disk usage',
    format: percent,
    range: [0, 100],
    values: ({ data: { stats } }) => {
      const values: Values = { root: stats.dp }
      for (const [name, fs] of Object.entries(stats.efs ?? {})) values[name] = fs.d > 0 ? (fs.du / fs.d) * 100 : undefined
      return values
    },
  },
  {
    key: 'disk-io',
    title: 'Disk I/O',
    format: bytesPerSecond,
    values: ({ data: { stats } }) => {
      const values: Values = {
        'root read': stats.dio?.[0] ?? stats.dr * MIB,
        'root write': stats.dio?.[1] ?? stats.dw * MIB,
      }
      for (const [name, fs] of Object.entries(stats.efs ?? {})) {
        values[`${name} read`] = fs.rb ?? fs.r * MIB
        values[`${name} write`] = fs.wb ?? fs.w * MIB
      }
      return values
    },
  },
  {
    key: 'network',
    title: 'Network per interface',
    format: bytesPerSecond,
    values: ({ data: { stats } }) => {
      const values: Values = {}
      for (const [nic, [up, down]] of Object.entries(stats.ni ?? {})) {
        values[`${nic} ↑`] = up
        values[`${nic} ↓`] = down
      }
      if (Object.keys(values).length === 0 && stats.b) [values['sent'], values['received']] = stats.b
      return values
    },
  },
  {
    key: 'temperatures',
    title: 'Temperatures',
    format: celsius,
    signed: true,
    values: ({ data: { stats } }) => ({ ...stats.t }),
  },
  {
    key: 'gpu-usage',
    title: 'GPU usage',
    format: percent,
    range: [0, 100],
    values: ({ data: { stats } }) => Object.fromEntries(Object.values(stats.g ?? {}).map((gpu) => [gpu.n, gpu.u ?? 0])),
  },
  {
    key: 'gpu-memory',
    title: 'GPU memory used',
    format: megabytes,
    values: ({ data: { stats } }) => Object.fromEntries(Object.values(stats.g ?? {}).map((gpu) => [gpu.n, gpu.mu])),
  },
  {
    key: 'gpu-power',
    title: 'GPU power',
    format: watts,
    values: ({ data: { stats } }) => Object.fromEntries(Object.values(stats.g ?? {}).map((gpu) => [gpu.n, gpu.p ?? gpu.pp])),
  },
  {
    key: 'fans',
    title: 'Fans',
    format: rpm,
    values: ({ data: { stats } }) => ({ ...stats.f }),
  },
  {
    key: 'container-cpu',
    title: 'Containers: CPU (of the host)',
    format: percent,
    values: ({ data }) => Object.fromEntries((data.container ?? []).map((c) => [c.n, c.c])),
  },
  {
    key: 'container-memory',
    title: 'Containers: memory',
    format: mib,
    values: ({ data }) => Object.fromEntries((data.container ?? []).map((c) => [c.n, c.m])),
  },
]
