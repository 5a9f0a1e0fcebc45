/** The readable form of a snapshot: a short table a person can check at a glance. */
import type { CombinedDataJson } from '../native.js'

const OS_NAMES = ['Linux', 'macOS', 'Windows', 'FreeBSD'] as const
const BATTERY_STATES = ['unknown', 'empty', 'full', 'charging', 'discharging', 'not charging'] as const

function fixed(n: number, digits = 2): string {
  return n.toFixed(digits)
}

/** Bytes per second in the largest unit that keeps the number readable (1024-based). */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${unit === 0 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`
}

export function formatUptime(seconds: number): string {
  const days = Math.floor(seconds / 86400)
  const hours = Math.floor((seconds % 86400) / 3600)
  const minutes = Math.floor((seconds % 3600) / 60)
  if (days > 0) return `${days}d ${hours}h`
  if (hours > 0) return `${hours}h ${minutes}m`
  return `${minutes}m`
}

function row(label: string, text: string): string {
  return `${label.length >= 10 ? `${label} ` : label.padEnd(10)}${text}`
}

export function renderSummary(data: CombinedDataJson): string {
  const { stats: s, info: i } = data
  const lines: string[] = []
  const threads = i.t ? `${i.c} cores / ${i.t} threads` : `${i.c} cores`
  const os = OS_NAMES[i.os] ?? `os ${i.os}`
  lines.push(`${i.h} — ${os}${i.k ? ` ${i.k}` : ''}, ${i.m || 'unknown CPU'}, ${threads}, up ${formatUptime(i.u)}`)
  lines.push('')
  const breakdown = s.cpub
    ? `  user ${fixed(s.cpub[0] ?? 0)}  system ${fixed(s.cpub[1] ?? 0)}  iowait ${fixed(s.cpub[2] ?? 0)}  steal ${fixed(s.cpub[3] ?? 0)}  idle ${fixed(s.cpub[4] ?? 0)}`
    : ''
  lines.push(row('CPU', `${fixed(s.cpu)} %${breakdown}`))
  if (s.cpus?.length) lines.push(row('', `per core: ${s.cpus.map((c) => `${c}%`).join(' ')}`))
  lines.push(row('Load', s.la.map((l) => fixed(l)).join(' ')))
  const zfs = s.mz ? `, ZFS ARC ${fixed(s.mz)} GiB` : ''
  lines.push(row('Memory', `${fixed(s.mu)} / ${fixed(s.m)} GiB (${fixed(s.mp)} %), buff/cache ${fixed(s.mb)} GiB${zfs}`))
  lines.push(row('Swap', s.s ? `${fixed(s.su ?? 0)} / ${fixed(s.s)} GiB` : 'none'))
  const rootIo = s.dio ? `read ${formatRate(s.dio[0])}, write ${formatRate(s.dio[1])}` : 'no I/O'
  lines.push(row('Disk /', `${fixed(s.du)} / ${fixed(s.d)} GiB (${fixed(s.dp)} %), ${rootIo}`))
  for (const [name, fs] of Object.entries(s.efs ?? {})) {
    const pct = fs.d > 0 ? (fs.du / fs.d) * 100 : 0
    lines.push(
      row('', `${name}: ${fixed(fs.du)} / ${fixed(fs.d)} GiB (${fixed(pct)} %), read ${formatRate(fs.rb ?? 0)}, write ${formatRate(fs.wb ?? 0)}`),
    )
  }
  const [sent, recv] = s.b ?? [0, 0]
  lines.push(row('Network', `up ${formatRate(sent)}, down ${formatRate(recv)}`))
  for (const [name, [up, down, totalUp, totalDown]] of Object.entries(s.ni ?? {})) {
    lines.push(
      row('', `${name.padEnd(12)} up ${formatRate(up).padEnd(12)} down ${formatRate(down).padEnd(12)} total up ${formatBytes(totalUp)}, down ${formatBytes(totalDown)}`),
    )
  }
  const temps = Object.entries(s.t ?? {})
  if (temps.length === 0) {
    lines.push(row('Temps', 'no sensors'))
  } else {
    lines.push(row('Temps', temps.map(([name, c]) => `${name} ${c.toFixed(1)} °C`).join(', ')))
  }
  const fans = Object.entries(s.f ?? {})
  if (fans.length > 0) lines.push(row('Fans', fans.map(([name, rpm]) => `${name} ${rpm} RPM`).join(', ')))
  if (s.bat) {
    const state = BATTERY_STATES[s.bat[1]] ?? 'unknown'
    lines.push(row('Battery', `${s.bat[0]} % (${state})`))
  }
  for (const [name, pct] of Object.entries(s.bats ?? {})) lines.push(row('', `${name}: ${pct} %`))
  if (data.container === null) {
    lines.push(row('Containers', 'no engine (Docker/Podman socket not found or DOCKER_HOST="")'))
  } else if (data.container.length === 0) {
    lines.push(row('Containers', `none running${i.p ? ' (Podman)' : ''}`))
  } else {
    lines.push(row('Containers', `${data.container.length} running${i.p ? ' (Podman)' : ''}`))
    for (const c of data.container) {
      lines.push(
        row('', `${c.n.padEnd(20)} ${fixed(c.c).padStart(6)} %  ${fixed(c.m).padStart(9)} MiB  ${c.status}${c.health === 2 ? ' (healthy)' : c.health === 3 ? ' (unhealthy)' : ''}  ${c.image}`),
      )
    }
  }
  lines.push(row('Agent', `protocol ${i.v}`))
  return lines.join('\n')
}
