/**
 * Temperatures and fans: hwmon chips under SYS_SENSORS (else HOST_SYS, else /sys), and what the
 * core actually reports after the SENSORS filter (one native sample, so the names are the agent's).
 */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { errorCode, result, withTimeout, type CheckResult } from './check.js'
import type { DoctorContext } from './core.js'

const GROUP = 'sensors'
const SAMPLE_TIMEOUT_MS = 5_000

interface Hwmon {
  chips: number
  temps: number
  fans: number
}

async function scanHwmon(dir: string): Promise<Hwmon> {
  const chips = await readdir(dir)
  const hw: Hwmon = { chips: 0, temps: 0, fans: 0 }
  await Promise.all(
    chips.map(async (chip) => {
      let files: string[]
      try {
        files = await readdir(join(dir, chip))
      } catch {
        return
      }
      hw.chips++
      hw.temps += files.filter((f) => /^temp\d+_input$/.test(f)).length
      hw.fans += files.filter((f) => /^fan\d+_input$/.test(f)).length
    }),
  )
  return hw
}

function names(map: Record<string, number> | undefined, limit = 6): string {
  const keys = Object.keys(map ?? {})
  return keys.length > limit ? `${keys.slice(0, limit).join(', ')}, …` : keys.join(', ')
}

export async function checkSensors(context: DoctorContext): Promise<CheckResult[]> {
  const filter = context.setting('SENSORS')
  if (filter !== undefined && filter.trim() === '') return [result(GROUP, 'temperatures', 'skip', 'disabled: SENSORS is set but empty')]
  const root = context.setting('SYS_SENSORS')?.trim() || context.setting('HOST_SYS')?.trim() || '/sys'
  const dir = join(root, 'class/hwmon')
  let hw: Hwmon
  try {
    hw = await scanHwmon(dir)
  } catch (error) {
    return [
      result(GROUP, 'hwmon', 'warn', `no ${dir} (${errorCode(error)}): no temperatures or fans (virtual machines usually have none)`, 'on real hardware: load the sensor drivers (apt-get install lm-sensors && sensors-detect); in a container, mount the host\'s /sys and set HOST_SYS (or SYS_SENSORS)'),
    ]
  }
  if (hw.temps === 0 && hw.fans === 0) {
    return [result(GROUP, 'hwmon', 'warn', `${dir} has ${hw.chips} chip${hw.chips === 1 ? '' : 's'} but no temp*_input or fan*_input`, 'load the sensor drivers for this board (apt-get install lm-sensors && sensors-detect)')]
  }
  const results = [result(GROUP, 'hwmon', 'ok', `${dir}: ${hw.chips} chips, ${hw.temps} temperature and ${hw.fans} fan inputs`)]
  if (!context.native) return [...results, result(GROUP, 'temperatures', 'skip', 'not sampled: the native addon did not load')]
  try {
    const sample = await withTimeout(context.native.snapshot({ cacheTimeMs: 0 }), SAMPLE_TIMEOUT_MS)
    const temps = sample.stats.t
    const count = Object.keys(temps ?? {}).length
    if (count > 0) {
      results.push(result(GROUP, 'temperatures', 'ok', `${count} reported${filter ? ` (SENSORS=${filter})` : ''}: ${names(temps)}`))
    } else if (hw.temps > 0) {
      results.push(
        filter
          ? result(GROUP, 'temperatures', 'warn', `SENSORS=${filter} matches none of the ${hw.temps} temperature inputs`, 'correct SENSORS (globs over the names `sonar-agent snapshot --json` lists under stats.t with SENSORS unset), or unset it')
          : result(GROUP, 'temperatures', 'warn', `${hw.temps} temperature inputs, but none gave a reading`, 'check the sensor driver (sensors from lm-sensors shows the same inputs)'),
      )
    }
  } catch (error) {
    results.push(result(GROUP, 'temperatures', 'warn', `sampling failed: ${error instanceof Error ? error.message : String(error)}`, 'run sonar-agent snapshot to see the error'))
  }
  return results
}
