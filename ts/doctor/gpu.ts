/**
 * GPUs, per vendor, as the core's collectors find them: NVIDIA through NVML (libnvidia-ml.so.1
 * where the dynamic loader looks: LD_LIBRARY_PATH and `ldconfig -p`) or nvidia-smi; Intel
 * through intel_gpu_top (perf access: root or CAP_PERFMON); AMD through amdgpu's sysfs files.
 * PCI display devices say which vendors are present: a vendor with no card is skipped, a card
 * without its tools is a warning, a collector named in GPU_COLLECTOR that cannot run a failure.
 */
import { access, readdir, readFile, readlink } from 'node:fs/promises'
import { basename, delimiter, join } from 'node:path'
import { findExecutable, formatMs, result, runTool, type CheckResult, type CheckStatus } from './check.js'
import { missingForChild, readCapabilities } from './capabilities.js'
import type { DoctorContext } from './core.js'

const GROUP = 'gpu'
const TOOL_TIMEOUT_MS = 4_000
const NVML = 'libnvidia-ml.so.1'
/** Where the NVIDIA container toolkit and distributions put the driver's libraries. */
const NVML_DIRS = ['/usr/local/nvidia/lib64', '/usr/local/nvidia/lib', '/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib/aarch64-linux-gnu', '/usr/lib']
const SBIN = ['/usr/sbin', '/sbin']
const VENDORS = { nvidia: '0x10de', amd: '0x1002', intel: '0x8086' } as const
type Vendor = keyof typeof VENDORS

async function read(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim()
  } catch {
    return undefined
  }
}

/** PCI display controllers (class 0x03xxxx) per vendor. */
async function displayDevices(sys: string): Promise<Record<Vendor, number>> {
  const counts: Record<Vendor, number> = { nvidia: 0, amd: 0, intel: 0 }
  let entries: string[] = []
  try {
    entries = await readdir(join(sys, 'bus/pci/devices'))
  } catch {
    return counts
  }
  await Promise.all(
    entries.map(async (entry) => {
      const dir = join(sys, 'bus/pci/devices', entry)
      const [cls, vendor] = await Promise.all([read(join(dir, 'class')), read(join(dir, 'vendor'))])
      if (!cls?.startsWith('0x03')) return
      const name = (Object.keys(VENDORS) as Vendor[]).find((v) => VENDORS[v] === vendor?.toLowerCase())
      if (name) counts[name]++
    }),
  )
  return counts
}

interface DrmCard {
  id: string
  device: string
  driver?: string
}

async function drmCards(sys: string, vendor: Vendor): Promise<DrmCard[]> {
  let entries: string[] = []
  try {
    entries = await readdir(join(sys, 'class/drm'))
  } catch {
    return []
  }
  const cards: DrmCard[] = []
  for (const id of entries.filter((e) => /^card\d+$/.test(e)).sort()) {
    const device = join(sys, 'class/drm', id, 'device')
    if ((await read(join(device, 'vendor')))?.toLowerCase() !== VENDORS[vendor]) continue
    const driver = await readlink(join(device, 'driver')).then((t) => basename(t), () => undefined)
    cards.push(driver === undefined ? { id, device } : { id, device, driver })
  }
  return cards
}

/** Where the dynamic loader would find libnvidia-ml.so.1: LD_LIBRARY_PATH, ld.so.cache, usual dirs. */
async function findNvml(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.LD_LIBRARY_PATH ?? '').split(delimiter).filter((d) => d !== '')) {
    const path = join(dir, NVML)
    if (await access(path).then(() => true, () => false)) return path
  }
  const ldconfig = await findExecutable('ldconfig', env, SBIN)
  if (ldconfig) {
    const run = await runTool(ldconfig, ['-p'], TOOL_TIMEOUT_MS)
    const line = run.stdout.split('\n').find((l) => l.trim().startsWith(`${NVML} `))
    const path = line?.split('=>')[1]?.trim()
    if (path) return path
  }
  for (const dir of NVML_DIRS) {
    const path = join(dir, NVML)
    if (await access(path).then(() => true, () => false)) return path
  }
  return undefined
}

async function checkNvidia(context: DoctorContext, cards: number, wanted: Set<string>, explicit: boolean): Promise<CheckResult[]> {
  const [nvml, smi, driver] = await Promise.all([findNvml(context.env), findExecutable('nvidia-smi', context.env), read('/proc/driver/nvidia/version')])
  const driverText = driver ? /Kernel Module\s+([\d.]+)/.exec(driver)?.[1] : undefined
  if (cards === 0 && !nvml && !smi && !(explicit && (wanted.has('nvml') || wanted.has('nvidia-smi')))) {
    return [result(GROUP, 'nvidia', 'skip', 'no NVIDIA GPU (no PCI display device of vendor 0x10de)')]
  }
  const results: CheckResult[] = []
  const severity = (name: string): CheckStatus => (explicit && wanted.has(name) ? 'fail' : 'warn')
  const driverFix = 'install the NVIDIA driver (e.g. apt-get install nvidia-driver, or the vendor\'s package); in a container: --gpus all with the NVIDIA Container Toolkit and NVIDIA_DRIVER_CAPABILITIES=utility'
  if (!explicit || wanted.has('nvml')) {
    results.push(
      nvml
        ? result(GROUP, 'NVML', 'ok', `${NVML} at ${nvml}${driverText ? ` (driver ${driverText})` : ''}`)
        : result(GROUP, 'NVML', smi ? 'warn' : severity('nvml'), `${NVML} is not where the dynamic loader looks (LD_LIBRARY_PATH, ldconfig -p)${smi ? '; nvidia-smi is used instead' : ''}`, `${driverFix}; if the library is installed elsewhere, add its folder to LD_LIBRARY_PATH or /etc/ld.so.conf.d and run ldconfig`),
    )
  }
  if (!explicit || wanted.has('nvidia-smi') || !nvml) {
    if (!smi) {
      results.push(result(GROUP, 'nvidia-smi', nvml ? 'skip' : severity('nvidia-smi'), nvml ? 'not on PATH (not needed while NVML loads)' : 'not on PATH', driverFix))
    } else {
      const run = await runTool(smi, ['--query-gpu=index,name,driver_version', '--format=csv,noheader'], TOOL_TIMEOUT_MS)
      const lines = run.stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '')
      results.push(
        run.code === 0 && lines.length > 0
          ? result(GROUP, 'nvidia-smi', 'ok', `${smi}: ${lines.join('; ')}`)
          : result(GROUP, 'nvidia-smi', nvml ? 'warn' : severity('nvidia-smi'), `${smi} failed${run.timedOut ? ` (no answer within ${formatMs(TOOL_TIMEOUT_MS)})` : `: ${(run.stdout || run.stderr).trim().split('\n')[0] ?? `exit ${String(run.code)}`}`}`, `${driverFix}; nvidia-smi must work for the agent's user`),
      )
    }
  }
  return results
}

async function checkIntel(context: DoctorContext, sys: string, wanted: Set<string>, explicit: boolean): Promise<CheckResult[]> {
  const cards = await drmCards(sys, 'intel')
  const top = await findExecutable('intel_gpu_top', context.env)
  if (cards.length === 0 && !(explicit && (wanted.has('intel_gpu_top') || wanted.has('intel_sysfs')))) {
    return [result(GROUP, 'intel', 'skip', `no Intel GPU (no ${sys}/class/drm card of vendor 0x8086)`)]
  }
  const severity: CheckStatus = explicit && wanted.has('intel_gpu_top') ? 'fail' : 'warn'
  const xe = cards.filter((c) => c.driver === 'xe')
  if (xe.length > 0 && !explicit) {
    return [result(GROUP, 'intel', 'ok', `${xe.map((c) => c.id).join(', ')} on the xe driver: read from sysfs (intel_gpu_top is not used)`)]
  }
  if (!top) {
    return [result(GROUP, 'intel_gpu_top', severity, `not on PATH; ${cards.length} Intel card${cards.length === 1 ? '' : 's'} found (${cards.map((c) => c.id).join(', ')})`, 'apt-get install intel-gpu-tools (dnf install igt-gpu-tools)')]
  }
  const results: CheckResult[] = []
  const list = await runTool(top, ['-L'], TOOL_TIMEOUT_MS)
  const found = list.stdout.split('\n').filter((l) => /card\d|pci:/.test(l)).length
  results.push(result(GROUP, 'intel_gpu_top', list.code === 0 ? 'ok' : severity, list.code === 0 ? `${top} lists ${found} device${found === 1 ? '' : 's'}` : `${top} -L failed: ${(list.stderr || list.stdout).trim().split('\n')[0] ?? ''}`, list.code === 0 ? undefined : 'check the i915 driver is loaded (lsmod | grep i915), or set INTEL_GPU_DEVICE'))
  const sets = await readCapabilities()
  if (sets && missingForChild(sets, context.uid, ['PERFMON']).length > 0) {
    results.push(result(GROUP, 'intel perf access', severity, `intel_gpu_top would run without CAP_PERFMON (${context.uid === 0 ? 'root, capability bounding set' : `uid ${context.uid}`}): it cannot read the GPU's counters`, 'setcap cap_perfmon=ep $(command -v intel_gpu_top), or AmbientCapabilities=CAP_PERFMON in the agent\'s unit; in a container --cap-add PERFMON'))
  }
  return results
}

async function checkAmd(sys: string, wanted: Set<string>, explicit: boolean): Promise<CheckResult[]> {
  const cards = await drmCards(sys, 'amd')
  if (cards.length === 0) {
    return explicit && wanted.has('amd_sysfs')
      ? [result(GROUP, 'amd', 'fail', `GPU_COLLECTOR names amd_sysfs but ${sys}/class/drm has no AMD card`, 'load the amdgpu driver, mount the host\'s /sys (HOST_SYS), or remove amd_sysfs from GPU_COLLECTOR')]
      : [result(GROUP, 'amd', 'skip', `no AMD GPU (no ${sys}/class/drm card of vendor 0x1002)`)]
  }
  const results: CheckResult[] = []
  for (const card of cards) {
    const busy = await read(join(card.device, 'gpu_busy_percent'))
    results.push(
      busy !== undefined
        ? result(GROUP, `amd ${card.id}`, 'ok', `gpu_busy_percent ${busy} %${card.driver ? ` (${card.driver})` : ''}`)
        : result(GROUP, `amd ${card.id}`, explicit ? 'fail' : 'warn', `no readable ${card.device}/gpu_busy_percent${card.driver ? ` (driver ${card.driver})` : ''}`, 'use the amdgpu driver (kernel ≥ 4.19) and make /sys readable to the agent'),
    )
  }
  return results
}

export async function checkGpu(context: DoctorContext): Promise<CheckResult[]> {
  if (context.flag('SKIP_GPU')) return [result(GROUP, 'gpus', 'skip', 'disabled: SKIP_GPU=true')]
  const sys = context.setting('HOST_SYS')?.trim() || '/sys'
  const list = (context.setting('GPU_COLLECTOR') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')
  const wanted = new Set(list)
  const explicit = wanted.size > 0
  const devices = await displayDevices(sys)
  const groups = await Promise.all([
    !explicit || wanted.has('nvml') || wanted.has('nvidia-smi') ? checkNvidia(context, devices.nvidia, wanted, explicit) : Promise.resolve([]),
    !explicit || wanted.has('intel_gpu_top') || wanted.has('intel_sysfs') ? checkIntel(context, sys, wanted, explicit) : Promise.resolve([]),
    !explicit || wanted.has('amd_sysfs') ? checkAmd(sys, wanted, explicit) : Promise.resolve([]),
  ])
  const unsupported = list.filter((name) => !['nvml', 'nvidia-smi', 'intel_gpu_top', 'intel_sysfs', 'amd_sysfs'].includes(name))
  const results = groups.flat()
  if (unsupported.length > 0) {
    results.push(result(GROUP, 'GPU_COLLECTOR', 'warn', `${unsupported.join(', ')} ${unsupported.length === 1 ? 'is' : 'are'} not implemented in this agent`, 'use nvml, nvidia-smi, intel_gpu_top, intel_sysfs or amd_sysfs in GPU_COLLECTOR'))
  }
  return results
}
