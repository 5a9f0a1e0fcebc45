import { describe, expect, it } from 'vitest'
import { formatBytes, formatUptime, renderSummary } from '../ts/snapshot/summary.js'
import type { CombinedDataJson } from '../ts/native.js'

const sample: CombinedDataJson = {
  stats: {
    cpu: 12.5, m: 15.5, mu: 4.2, mp: 27.1, mb: 8.1, s: 2, su: 0.5,
    d: 100, du: 40, dp: 40, dr: 0, dw: 0.1, ns: 0.01, nr: 0.02,
    la: [0.1, 0.2, 0.3], cpub: [8.1, 3.2, 0.5, 0, 87.5], cpus: [10, 15],
    b: [10240, 20480], dio: [0, 104857],
    ni: { eth0: [10240, 20480, 5 * 1024 ** 3, 9 * 1024 ** 3] },
    t: { coretemp_package_id_0: 45.25 },
    efs: { Backup: { d: 500, du: 250, r: 0, w: 0 } },
    bat: [80, 4],
    f: { 'nct6798_CPU Fan': 1203, nct6798_fan2: 0 },
  },
  info: {
    h: 'web-01', k: '6.8.0-45-generic', c: 4, t: 8, m: 'Intel(R) Xeon(R) CPU', u: 86400 * 3 + 7200,
    cpu: 12.5, mp: 27.1, dp: 40, b: 0.03, v: '0.17.0', os: 0, bb: 30720, la: [0.1, 0.2, 0.3],
  },
  container: null,
}

describe('snapshot summary', () => {
  it('shows each subsystem on its own line', () => {
    const text = renderSummary(sample)
    expect(text).toContain('web-01 — Linux 6.8.0-45-generic, Intel(R) Xeon(R) CPU, 4 cores / 8 threads, up 3d 2h')
    expect(text).toMatch(/CPU\s+12\.50 %\s+user 8\.10/)
    expect(text).toMatch(/Memory\s+4\.20 \/ 15\.50 GiB \(27\.10 %\)/)
    expect(text).toMatch(/Disk \/\s+40\.00 \/ 100\.00 GiB \(40\.00 %\), read 0 B\/s, write 102\.4 KiB\/s/)
    expect(text).toContain('Backup: 250.00 / 500.00 GiB (50.00 %)')
    expect(text).toMatch(/eth0\s+up 10\.0 KiB\/s/)
    expect(text).toContain('coretemp_package_id_0 45.3 °C')
    expect(text).toContain('Battery   80 % (discharging)')
    expect(text).toMatch(/Fans\s+nct6798_CPU Fan 1203 RPM, nct6798_fan2 0 RPM/)
  })

  it('lists containers, or says why there are none', () => {
    expect(renderSummary(sample)).toContain('Containers no engine')
    const withContainers: CombinedDataJson = {
      ...sample,
      info: { ...sample.info, p: true },
      container: [
        { n: 'web', c: 1.5, m: 120.25, ns: 0, nr: 0, health: 2, status: 'Up 2 hours', id: 'abcdef012345', image: 'nginx:1', ports: '80' },
      ],
    }
    const text = renderSummary(withContainers)
    expect(text).toContain('Containers 1 running (Podman)')
    expect(text).toMatch(/web\s+1\.50 %\s+120\.25 MiB  Up 2 hours \(healthy\)  nginx:1/)
    expect(renderSummary({ ...sample, container: [] })).toContain('Containers none running')
  })

  it('formats sizes and durations', () => {
    expect(formatBytes(0)).toBe('0 B')
    expect(formatBytes(1536)).toBe('1.5 KiB')
    expect(formatUptime(59)).toBe('0m')
    expect(formatUptime(3700)).toBe('1h 1m')
  })
})
