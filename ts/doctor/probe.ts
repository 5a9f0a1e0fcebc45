/**
 * The core's probe for one doctor area: what the collectors themselves find on this host with
 * the agent's settings (GPU detection, the system bus, smartctl, sensor inputs), so the doctor
 * reports what the agent would do instead of re-deriving it.
 */
import type { ProbeArea, ProbeReport } from '../../index.js'
import { settingNamesReadBy } from '../config/catalog.js'
import { withTimeout } from './check.js'
import type { DoctorContext } from './core.js'

/** Above the core's own bounds (bus 3 s, smartctl --version 3 s), below the group's 9.5 s. */
const PROBE_TIMEOUT_MS = 8_000

export type Probed<A extends ProbeArea> = { ok: true; report: NonNullable<ProbeReport[A]> } | { ok: false; message: string; fix: string }

/**
 * The area's part of the core's probe. A setting the core rejects is named in the core group
 * already: when the area reads it (the settings table says which do, plus the host roots) the area
 * is not checked, otherwise the area is probed without it, so one bad setting does not hide the
 * others.
 */
export async function probe<A extends ProbeArea>(context: DoctorContext, area: A): Promise<Probed<A>> {
  const native = context.native
  if (!native) return { ok: false, message: 'not checked: the native addon did not load', fix: 'see the core group: the native addon line says how to build or install it' }
  const own = new Set([...settingNamesReadBy(area, native), ...settingNamesReadBy('host', native)])
  // a copy: the settings other areas need stay whole
  const settings = { ...context.coreSettings }
  const notParsing = (name: string): Probed<A> => ({ ok: false, message: `not checked: ${name} does not parse`, fix: `correct ${name} (the core group's collector settings line says how)` })
  for (const problem of native.parseSettings(settings).errors) {
    if (own.has(problem.name)) return notParsing(problem.name)
    delete settings[problem.name]
  }
  // What only the whole set shows (NVML=false with nvml in GPU_COLLECTOR) comes back from the
  // core's own check: dropped once when it is another area's.
  for (let attempt = 0; ; attempt++) {
    try {
      const report = await withTimeout(native.probe(settings, [area]), PROBE_TIMEOUT_MS)
      const part = report[area]
      if (part === undefined) throw new Error(`the core's answer has no ${area} part`)
      return { ok: true, report: part as NonNullable<ProbeReport[A]> }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      const name = /^([A-Z_]+)=/.exec(message)?.[1]
      if ((error as { code?: unknown }).code !== 'ERR_SONAR_SETTING' || name === undefined) {
        return { ok: false, message: `the core's probe failed: ${message}`, fix: 'run again; if it repeats, report it with this output' }
      }
      if (own.has(name) || attempt > 0 || !(name in settings)) return notParsing(name)
      delete settings[name]
    }
  }
}
