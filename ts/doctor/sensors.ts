/**
 * Temperatures and fans as the core's collectors find them (the probe): the hwmon chips and
 * thermal zones under SYS_SENSORS (else HOST_SYS, else /sys), the inputs the collectors' own
 * discovery takes, one reading of them, and the names the SENSORS filter lets through.
 */
import { result, type CheckResult } from './check.js'
import type { DoctorContext } from './core.js'
import { probe } from './probe.js'

const GROUP = 'sensors'
const DRIVERS_FIX = 'load the sensor drivers for this board (apt-get install lm-sensors && sensors-detect)'

function names(list: readonly string[], limit = 6): string {
  return list.length > limit ? `${list.slice(0, limit).join(', ')}, …` : list.join(', ')
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

export async function checkSensors(context: DoctorContext, platform: NodeJS.Platform = process.platform): Promise<CheckResult[]> {
  // hwmon and thermal zones are Linux's; elsewhere there is nothing to fix (host / platform says so)
  if (platform !== 'linux' && context.setting('HOST_SYS') === undefined && context.setting('SYS_SENSORS') === undefined) {
    return [result(GROUP, 'temperatures', 'skip', `not available on ${platform}: temperatures and fans are read from Linux's hwmon`)]
  }
  const probed = await probe(context, 'sensors')
  if (!probed.ok) return [result(GROUP, 'temperatures', 'skip', probed.message, probed.fix)]
  const found = probed.report
  if (found.selection === 'disabled') return [result(GROUP, 'temperatures', 'skip', 'disabled: SENSORS is set but empty')]
  const t = found.temperatures
  if (t.inputs === 0 && found.fans === 0) {
    return [
      found.hwmonError !== null
        ? result(GROUP, 'hwmon', 'warn', `no ${found.hwmon} (${found.hwmonError}) and ${plural(found.thermalZones, 'thermal zone')}: no temperatures or fans (virtual machines usually have none)`, 'on real hardware: load the sensor drivers (apt-get install lm-sensors && sensors-detect); in a container, mount the host\'s /sys and set HOST_SYS (or SYS_SENSORS)')
        : result(GROUP, 'hwmon', 'warn', `${found.hwmon} has ${plural(found.hwmonChips, 'chip')} but no temperature or fan input`, DRIVERS_FIX),
    ]
  }
  const source = t.source === 'thermal_zone' ? 'from thermal zones' : 'from hwmon'
  const results = [result(GROUP, 'hwmon', 'ok', `${found.root}: ${plural(found.hwmonChips, 'hwmon chip')}, ${plural(found.thermalZones, 'thermal zone')}; ${plural(t.inputs, 'temperature input')}${t.inputs > 0 ? ` (${source})` : ''} and ${plural(found.fans, 'fan')}`)]
  const filter = context.setting('SENSORS')
  if (t.selected.length > 0) {
    results.push(result(GROUP, 'temperatures', 'ok', `${t.selected.length} reported${found.selection === 'filter' && filter ? ` (SENSORS=${filter})` : ''}: ${names(t.selected)}`))
  } else if (t.readings > 0) {
    results.push(result(GROUP, 'temperatures', 'warn', `SENSORS=${filter ?? ''} matches none of the ${plural(t.readings, 'temperature')}`, 'correct SENSORS (globs over the names `sonar-agent snapshot --json` lists under stats.t with SENSORS unset), or unset it'))
  } else if (t.inputs > 0) {
    results.push(result(GROUP, 'temperatures', 'warn', `${plural(t.inputs, 'temperature input')}, but none gave a reading`, 'check the sensor driver (sensors from lm-sensors shows the same inputs)'))
  }
  return results
}
