/** `doctor` off Linux: it says what this OS cannot report instead of failing on a missing /proc. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { DoctorContext } from '../ts/doctor/core.js'
import { checkHost, unavailableOn } from '../ts/doctor/host.js'
import { checkSensors } from '../ts/doctor/sensors.js'

const dir = mkdtempSync(join(tmpdir(), 'sonar-doctor-platform-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function context(settings: Record<string, string>): DoctorContext {
  return { env: {}, setting: (name) => settings[name], flag: () => false, keys: [], coreSettings: {}, uid: 0 }
}

describe('doctor: what each OS cannot report', () => {
  it('Linux lacks nothing; Windows lacks disk I/O and every /proc- or /sys-only figure', () => {
    expect(unavailableOn('linux')).toEqual([])
    const windows = unavailableOn('win32').join('\n')
    for (const missing of ['disk I/O', 'CPU breakdown', 'temperatures', 'systemd', 'file actions']) expect(windows).toContain(missing)
    expect(unavailableOn('darwin').join('\n')).toContain('/proc/diskstats')
  })

  it('on Windows the host group reports the platform instead of a failing /proc check', async () => {
    const results = await checkHost(context({ DATA_DIR: dir }), {}, 'win32')
    expect(results.map((r) => r.name)).toEqual(['platform', 'data dir'])
    expect(results[0]).toMatchObject({ status: 'warn' })
    expect(results[0]?.message).toContain('Unavailable on this OS: disk I/O rates')
    expect(results[1]).toMatchObject({ status: 'ok' })
  })

  it('HOST_PROC set off Linux (a Linux host mounted here) is still checked', async () => {
    const results = await checkHost(context({ DATA_DIR: dir, HOST_PROC: join(dir, 'missing') }), {}, 'win32')
    expect(results.map((r) => r.name)).toEqual(['proc', 'sys', 'data dir'])
  })

  it('on Windows the sensors group skips with the reason instead of Linux driver advice', async () => {
    const [sensors] = await checkSensors(context({}), 'win32')
    expect(sensors).toMatchObject({ name: 'temperatures', status: 'skip' })
    expect(sensors?.message).toContain('not available on win32')
    expect(sensors?.fix).toBeUndefined()
  })
})
