/**
 * The host's kernel files (HOST_PROC, HOST_SYS) and the data directory the fingerprint and SSH host
 * key live in. Read-only except for the one probe file `resolveDataDir` writes and removes.
 */
import { access, constants, readdir, readFile, stat } from 'node:fs/promises'
import { dirname } from 'node:path'
import { dataDirCandidates } from '../identity/data-dir.js'
import { FINGERPRINT_FILE } from '../identity/fingerprint.js'
import { errorCode, result, type CheckResult } from './check.js'
import type { DoctorContext } from './core.js'

const GROUP = 'host'

export interface HostOptions {
  /** replaces /var/lib/sonar-agent (tests) */
  systemDataDir?: string
}

function rootFix(setting: 'HOST_PROC' | 'HOST_SYS', root: string, configured: boolean): string {
  const where = setting === 'HOST_PROC' ? '/proc' : '/sys'
  return configured
    ? `mount the host's ${where} there (e.g. -v ${where}:${root}:ro) or correct ${setting}`
    : `make ${where} readable to the agent's user, or mount the host's ${where} elsewhere and set ${setting} (e.g. ${setting}=/host${where})`
}

async function checkProc(context: DoctorContext): Promise<CheckResult> {
  const configured = context.setting('HOST_PROC')
  const root = configured?.trim() || '/proc'
  try {
    const [statText, memText] = await Promise.all([readFile(`${root}/stat`, 'utf8'), readFile(`${root}/meminfo`, 'utf8')])
    if (!statText.startsWith('cpu ') || !memText.includes('MemTotal:')) {
      return result(GROUP, 'proc', 'fail', `${root} is readable but is not a procfs (no cpu line in stat or MemTotal in meminfo)`, rootFix('HOST_PROC', root, configured !== undefined))
    }
    return result(GROUP, 'proc', 'ok', `${root} readable (stat, meminfo)`)
  } catch (error) {
    return result(GROUP, 'proc', 'fail', `cannot read ${root}/stat or ${root}/meminfo (${errorCode(error)}): no CPU or memory figures`, rootFix('HOST_PROC', root, configured !== undefined))
  }
}

async function checkSys(context: DoctorContext): Promise<CheckResult> {
  const configured = context.setting('HOST_SYS')
  const root = configured?.trim() || '/sys'
  try {
    const [net, block] = await Promise.all([readdir(`${root}/class/net`), readdir(`${root}/block`).catch(() => [])])
    return result(GROUP, 'sys', 'ok', `${root} readable (${net.length} network interfaces, ${block.length} block devices)`)
  } catch (error) {
    return result(GROUP, 'sys', 'warn', `cannot list ${root}/class/net (${errorCode(error)}): network, disk I/O, sensors and GPU readings are missing`, rootFix('HOST_SYS', root, configured !== undefined))
  }
}

async function isDir(path: string): Promise<boolean | undefined> {
  try {
    return (await stat(path)).isDirectory()
  } catch (error) {
    return errorCode(error) === 'ENOENT' ? undefined : false
  }
}

/** The nearest existing ancestor of `path`, to ask whether the directory could be created there. */
async function existingAncestor(path: string): Promise<string> {
  let dir = dirname(path)
  while (dir !== dirname(dir) && (await isDir(dir)) === undefined) dir = dirname(dir)
  return dir
}

async function checkDataDir(context: DoctorContext, options: HostOptions): Promise<CheckResult> {
  const configured = context.config?.dataDir ?? context.setting('DATA_DIR')
  const candidates = dataDirCandidates(configured?.trim() || undefined, context.env, options.systemDataDir)
  for (const dir of candidates) {
    if ((await isDir(dir)) !== true) continue
    try {
      await access(dir, constants.W_OK)
      const hasFingerprint = await access(`${dir}/${FINGERPRINT_FILE}`).then(() => true, () => false)
      return result(GROUP, 'data dir', 'ok', `${dir} is writable (${hasFingerprint ? 'fingerprint stored' : 'the fingerprint is stored at the first start'})`)
    } catch {
      // read-only: the next candidate
    }
  }
  for (const dir of candidates) {
    if ((await isDir(dir)) !== undefined) continue
    const parent = await existingAncestor(dir)
    try {
      await access(parent, constants.W_OK)
      return result(GROUP, 'data dir', 'ok', `${dir} does not exist yet; it is created at the first start`)
    } catch {
      // cannot be created here
    }
  }
  return result(
    GROUP,
    'data dir',
    'warn',
    `none of ${candidates.join(', ')} is writable: the fingerprint and the SSH host key change at every start`,
    `create one for the agent's user, e.g. mkdir -p /var/lib/sonar-agent && chown <agent user> /var/lib/sonar-agent, or set DATA_DIR to a writable directory`,
  )
}

/**
 * What the agent cannot report on an OS without /proc and /sys, where the portable readings
 * (sysinfo: CPU total and per core, memory and swap, network interfaces, uptime, host facts; on
 * Windows the fixed drives' usage) stand in. Those figures are left out of the payload, or sent as
 * the protocol's zero where it has no omission (disk I/O `dr`/`dw`), never measured as zero.
 */
export function unavailableOn(platform: NodeJS.Platform): string[] {
  if (platform === 'linux') return []
  const offLinux = [
    'CPU breakdown (user/system/iowait/steal: /proc/stat only)',
    'temperatures, fans and batteries (hwmon, power_supply: /sys only)',
    'AMD and Intel GPUs (sysfs, intel_gpu_top)',
    'systemd services and host actions on them',
    'host file actions',
  ]
  if (platform === 'win32') return ['disk I/O rates (sysinfo has no per-drive counters on Windows; dr/dw stay 0)', ...offLinux]
  return ['disk I/O rates (/proc/diskstats only)', ...offLinux]
}

function checkPlatform(platform: NodeJS.Platform): CheckResult {
  return result(
    GROUP,
    'platform',
    'warn',
    `${platform}: no /proc or /sys; the portable readings give CPU, memory, swap, disks, network, uptime and host facts. Unavailable on this OS: ${unavailableOn(platform).join('; ')}`,
  )
}

export async function checkHost(context: DoctorContext, options: HostOptions = {}, platform: NodeJS.Platform = process.platform): Promise<CheckResult[]> {
  // HOST_PROC/HOST_SYS mean something on Linux only (or when set: a Linux host's files mounted here)
  const roots = platform === 'linux' || context.setting('HOST_PROC') !== undefined ? [checkProc(context), checkSys(context)] : [Promise.resolve(checkPlatform(platform))]
  return Promise.all([...roots, checkDataDir(context, options)])
}
