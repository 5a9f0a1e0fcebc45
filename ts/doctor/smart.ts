/**
 * S.M.A.R.T.: the smartctl the core's monitor would run and its version (the probe: the
 * monitor's own lookup, and whether that version has the --json output the monitor reads), the
 * capabilities it inherits, and whether it can open a disk — `--scan-open` for discovered
 * disks, `-i -n standby` (never waking a disk) for the ones SMART_DEVICES names.
 */
import * as z from 'zod/mini'
import { formatMs, result, runTool, type CheckResult, type CheckStatus } from './check.js'
import { missingForChild, readCapabilities } from './capabilities.js'
import type { DoctorContext } from './core.js'
import { probe } from './probe.js'

const GROUP = 'smart'
const OPEN_TIMEOUT_MS = 5_000
/** SMART_DEVICES entries tried at most (each a smartctl run, in parallel). */
const MAX_DEVICES = 4

const scanSchema = z.object({
  devices: z.optional(z.array(z.object({ name: z.string(), type: z.optional(z.string()), open_error: z.optional(z.string()) }))),
})
const infoSchema = z.object({
  smartctl: z.optional(z.object({ messages: z.optional(z.array(z.object({ string: z.string() }))) })),
  device: z.optional(z.object({ protocol: z.optional(z.string()) })),
  model_name: z.optional(z.string()),
})

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const CAPS_FIX =
  'run the agent as root, or give smartctl the capabilities: AmbientCapabilities=CAP_SYS_RAWIO CAP_SYS_ADMIN in the agent\'s systemd unit (or setcap cap_sys_rawio,cap_sys_admin+ep <smartctl>); in a container: --cap-add SYS_RAWIO --cap-add SYS_ADMIN --device /dev/sda'

async function checkCapabilities(context: DoctorContext): Promise<{ result: CheckResult; missing: boolean }> {
  const outcome = await capabilityResult(context)
  return { result: outcome, missing: outcome.status === 'warn' }
}

async function capabilityResult(context: DoctorContext): Promise<CheckResult> {
  const sets = await readCapabilities()
  if (!sets) return result(GROUP, 'capabilities', 'skip', 'cannot read /proc/self/status')
  const missing = missingForChild(sets, context.uid, ['SYS_RAWIO', 'SYS_ADMIN'])
  const who = context.uid === 0 ? 'root' : `uid ${context.uid}`
  if (missing.length === 0) return result(GROUP, 'capabilities', 'ok', `smartctl inherits CAP_SYS_RAWIO and CAP_SYS_ADMIN (${who})`)
  const why = missing.map((c) => (c === 'SYS_RAWIO' ? 'CAP_SYS_RAWIO (ATA/SCSI disks)' : 'CAP_SYS_ADMIN (NVMe)')).join(' and ')
  return result(GROUP, 'capabilities', 'warn', `smartctl would run without ${why} (${who}${context.uid === 0 ? ', capability bounding set' : ', no ambient capabilities'})`, CAPS_FIX)
}

async function checkScan(smartctl: string, capsMissing: boolean): Promise<CheckResult> {
  const run = await runTool(smartctl, ['--scan-open', '--json=c'], OPEN_TIMEOUT_MS)
  if (run.timedOut) return result(GROUP, 'disks', 'warn', `smartctl --scan-open did not finish within ${formatMs(OPEN_TIMEOUT_MS)}`, 'name the disks with SMART_DEVICES (e.g. SMART_DEVICES=/dev/sda,/dev/nvme0) so no scan is needed')
  const parsed = scanSchema.safeParse(parseJson(run.stdout))
  const devices = parsed.success ? (parsed.data.devices ?? []) : []
  const open = devices.filter((d) => d.open_error === undefined)
  const failed = devices.filter((d) => d.open_error !== undefined)
  if (open.length > 0 && failed.length === 0) return result(GROUP, 'disks', 'ok', `smartctl opens ${open.map((d) => d.name).join(', ')}`)
  if (failed.length > 0) {
    const first = failed[0]
    const denied = failed.some((d) => /permission|not permitted/i.test(d.open_error ?? ''))
    return result(
      GROUP,
      'disks',
      'warn',
      `smartctl cannot open ${failed.map((d) => d.name).join(', ')} (${first?.open_error ?? 'open failed'})${open.length > 0 ? `; opens ${open.map((d) => d.name).join(', ')}` : ''}`,
      denied ? (capsMissing ? `${CAPS_FIX}; ${DISK_GROUP_FIX}` : NO_PASSTHROUGH_FIX) : 'check the device, or give its type in SMART_DEVICES (e.g. SMART_DEVICES=/dev/sda:sat)',
    )
  }
  return result(GROUP, 'disks', 'warn', 'smartctl --scan-open found no disk it can open (virtual disks have no S.M.A.R.T. data)', 'on a host with physical disks: run as root (or see the capabilities line), or name them with SMART_DEVICES (e.g. SMART_DEVICES=/dev/sda:sat)')
}

const DISK_GROUP_FIX = 'a non-root agent also needs read access to the device: usermod -aG disk <agent user>'
const NO_PASSTHROUGH_FIX = 'this device refuses S.M.A.R.T. pass-through although smartctl has the capabilities (a virtual disk?): remove it from SMART_DEVICES, or try another type (:sat, :scsi, :nvme)'

async function checkDevice(smartctl: string, device: { path: string; type: string | null }, capsMissing: boolean): Promise<CheckResult> {
  const name = `disk ${device.path}`
  const args = ['-i', '-n', 'standby', '--json=c', ...(device.type ? ['-d', device.type] : []), device.path]
  const run = await runTool(smartctl, args, OPEN_TIMEOUT_MS)
  if (run.timedOut) return result(GROUP, name, 'fail', `smartctl did not answer within ${formatMs(OPEN_TIMEOUT_MS)}`, 'check the disk (dmesg), or remove it from SMART_DEVICES')
  const parsed = infoSchema.safeParse(parseJson(run.stdout))
  const messages = parsed.success ? (parsed.data.smartctl?.messages ?? []).map((m) => m.string) : []
  const text = messages.join('; ') || run.stderr.trim().split('\n')[0] || `exit status ${String(run.code)}`
  if (/standby|sleep/i.test(text)) return result(GROUP, name, 'ok', 'asleep; not woken (read when it spins up)')
  // smartctl exit bits 0 (command line) and 1 (device open) mean it could not read the disk at all
  if (run.code === null || (run.code & 0b11) !== 0) {
    const denied = /permission|not permitted/i.test(text)
    const fix = denied ? (capsMissing ? `${CAPS_FIX}; ${DISK_GROUP_FIX}` : NO_PASSTHROUGH_FIX) : /detect device type|unknown.*type/i.test(text) ? `give the type: SMART_DEVICES=${device.path}:sat (or :nvme, :scsi; smartctl --scan shows it)` : `check ${device.path}, or correct SMART_DEVICES`
    return result(GROUP, name, 'fail', `smartctl cannot open it: ${text}`, fix)
  }
  const model = parsed.success ? parsed.data.model_name : undefined
  return result(GROUP, name, 'ok', `readable${model ? ` (${model})` : ''}`)
}

export async function checkSmart(context: DoctorContext): Promise<CheckResult[]> {
  const devices = context.setting('SMART_DEVICES')
  if (devices !== undefined && devices.trim() === '') return [result(GROUP, 'smartctl', 'skip', 'disabled: SMART_DEVICES is set but empty')]
  const probed = await probe(context, 'smart')
  if (!probed.ok) return [result(GROUP, 'smartctl', 'skip', probed.message, probed.fix)]
  const found = probed.report
  const smartctl = found.smartctl
  const missing: CheckStatus = devices !== undefined ? 'fail' : 'warn'
  if (smartctl === null) {
    return [result(GROUP, 'smartctl', missing, `smartctl not found (PATH, ${found.searched.join(', ')}): no disk health`, `install smartmontools ≥ ${found.jsonSince}: apt-get install smartmontools (dnf install smartmontools); or set SMART_DEVICES= (empty) to turn S.M.A.R.T. off`)]
  }
  if (found.version === null) {
    return [result(GROUP, 'smartctl', missing, `${smartctl} gave no version (${found.versionError ?? 'no "smartctl X.Y" line'})`, `reinstall smartmontools ≥ ${found.jsonSince}`)]
  }
  if (!found.json) {
    return [result(GROUP, 'smartctl', missing, `${smartctl} is version ${found.version}; JSON output needs ${found.jsonSince} or newer`, `install smartmontools ≥ ${found.jsonSince} (e.g. from your distribution's backports)`)]
  }
  const results: CheckResult[] = [result(GROUP, 'smartctl', 'ok', `${smartctl} ${found.version}`)]
  const caps = await checkCapabilities(context)
  results.push(caps.result)
  if (devices === undefined) {
    results.push(await checkScan(smartctl, caps.missing))
  } else {
    // SMART_DEVICES as the monitor reads it (its separator, path[:type]): the core's parse
    const named = found.devices
    results.push(...(await Promise.all(named.slice(0, MAX_DEVICES).map((d) => checkDevice(smartctl, d, caps.missing)))))
    if (named.length > MAX_DEVICES) results.push(result(GROUP, 'disks', 'skip', `${named.length - MAX_DEVICES} more in SMART_DEVICES not tried`))
  }
  return results
}
