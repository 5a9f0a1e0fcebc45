/**
 * GPUs, per vendor, as the core's own GPU detection sees them (the probe): which collector it
 * takes for NVIDIA (NVML, else nvidia-smi), Intel (intel_gpu_top, else sysfs) and AMD (sysfs),
 * and why it leaves the others. A vendor with no card is skipped, a card without its tools is a
 * warning, a collector named in GPU_COLLECTOR that cannot run a failure. Where a tool was found,
 * the doctor runs it once to see that it works for this user.
 */
import type { GpuCandidateProbe, GpuProbe } from '../../index.js'
import { formatMs, result, runTool, type CheckResult, type CheckStatus } from './check.js'
import { missingForChild, readCapabilities } from './capabilities.js'
import type { DoctorContext } from './core.js'
import { probe } from './probe.js'

const GROUP = 'gpu'
const TOOL_TIMEOUT_MS = 4_000

type Collector = GpuCandidateProbe['name']

/** The probe's answers, with the questions every vendor check asks. */
class Detection {
  readonly explicit: boolean
  constructor(readonly gpu: GpuProbe) {
    this.explicit = gpu.requested.length > 0
  }

  candidate(name: Collector): GpuCandidateProbe {
    return this.gpu.candidates.find((c) => c.name === name) ?? { name, verdict: 'not_listed', reason: 'not reported by the core', found: null }
  }

  /** Named in GPU_COLLECTOR. */
  wanted(name: Collector): boolean {
    return this.explicit && this.gpu.requested.includes(name)
  }

  /** Tried at all (GPU_COLLECTOR unset, or naming it). */
  tried(name: Collector): boolean {
    return this.candidate(name).verdict !== 'not_listed'
  }

  usable(name: Collector): boolean {
    const verdict = this.candidate(name).verdict
    return verdict === 'chosen' || verdict === 'covered'
  }

  /** fail for a collector GPU_COLLECTOR names, warn otherwise. */
  severity(name: Collector): CheckStatus {
    return this.wanted(name) ? 'fail' : 'warn'
  }
}

const DRIVER_FIX = 'install the NVIDIA driver (e.g. apt-get install nvidia-driver, or the vendor\'s package); in a container: --gpus all with the NVIDIA Container Toolkit and NVIDIA_DRIVER_CAPABILITIES=utility'

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

async function checkNvidia(d: Detection): Promise<CheckResult[]> {
  const nvml = d.candidate('nvml')
  const smi = d.candidate('nvidia-smi')
  const smiPath = smi.found
  const present = d.gpu.displays.some((x) => x.vendor === 'nvidia') || d.gpu.cards.some((c) => c.vendor === 'nvidia')
  if (!present && !d.usable('nvml') && smiPath === null && !d.wanted('nvml') && !d.wanted('nvidia-smi')) {
    return [result(GROUP, 'nvidia', 'skip', 'no NVIDIA GPU (no NVIDIA PCI display device or DRM card; NVML does not load, no nvidia-smi)')]
  }
  const results: CheckResult[] = []
  if (d.tried('nvml') && (!d.explicit || d.wanted('nvml'))) {
    results.push(
      d.usable('nvml')
        ? result(GROUP, 'NVML', 'ok', `NVML loads: ${nvml.found ?? 'ok'}${nvml.verdict === 'covered' ? ` (${nvml.reason ?? 'another collector reads NVIDIA'})` : ''}`)
        : result(GROUP, 'NVML', smiPath !== null ? 'warn' : d.severity('nvml'), `${nvml.reason ?? 'NVML does not load'}${smiPath !== null ? '; nvidia-smi is used instead' : ''}`, `${DRIVER_FIX}; if the library is installed elsewhere, add its folder to LD_LIBRARY_PATH or /etc/ld.so.conf.d and run ldconfig`),
    )
  }
  if (d.tried('nvidia-smi') && (!d.explicit || d.wanted('nvidia-smi') || !d.usable('nvml'))) {
    if (smiPath === null) {
      const needed = !d.usable('nvml')
      results.push(result(GROUP, 'nvidia-smi', needed ? d.severity('nvidia-smi') : 'skip', needed ? (smi.reason ?? 'not on PATH') : `${smi.reason ?? 'not on PATH'} (not needed while NVML loads)`, DRIVER_FIX))
    } else {
      const run = await runTool(smiPath, ['--query-gpu=index,name,driver_version', '--format=csv,noheader'], TOOL_TIMEOUT_MS)
      const lines = run.stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '')
      results.push(
        run.code === 0 && lines.length > 0
          ? result(GROUP, 'nvidia-smi', 'ok', `${smiPath}: ${lines.join('; ')}`)
          : result(GROUP, 'nvidia-smi', d.usable('nvml') ? 'warn' : d.severity('nvidia-smi'), `${smiPath} failed${run.timedOut ? ` (no answer within ${formatMs(TOOL_TIMEOUT_MS)})` : `: ${(run.stdout || run.stderr).trim().split('\n')[0] ?? `exit ${String(run.code)}`}`}`, `${DRIVER_FIX}; nvidia-smi must work for the agent's user`),
      )
    }
  }
  return results
}

async function checkIntelGpuTop(context: DoctorContext, d: Detection, path: string): Promise<CheckResult[]> {
  const severity = d.severity('intel_gpu_top')
  const list = await runTool(path, ['-L'], TOOL_TIMEOUT_MS)
  const found = list.stdout.split('\n').filter((l) => /card\d|pci:/.test(l)).length
  const results = [
    list.code === 0
      ? result(GROUP, 'intel_gpu_top', 'ok', `${path} lists ${plural(found, 'device')}`)
      : result(GROUP, 'intel_gpu_top', severity, `${path} -L failed: ${(list.stderr || list.stdout).trim().split('\n')[0] ?? ''}`, 'check the i915 driver is loaded (lsmod | grep i915), or set INTEL_GPU_DEVICE'),
  ]
  const sets = await readCapabilities()
  if (sets && missingForChild(sets, context.uid, ['PERFMON']).length > 0) {
    results.push(result(GROUP, 'intel perf access', severity, `intel_gpu_top would run without CAP_PERFMON (${context.uid === 0 ? 'root, capability bounding set' : `uid ${context.uid}`}): it cannot read the GPU's counters`, 'setcap cap_perfmon=ep $(command -v intel_gpu_top), or AmbientCapabilities=CAP_PERFMON in the agent\'s unit; in a container --cap-add PERFMON'))
  }
  return results
}

async function checkIntel(context: DoctorContext, d: Detection): Promise<CheckResult[]> {
  const cards = d.gpu.cards.filter((c) => c.vendor === 'intel')
  if (cards.length === 0 && !d.wanted('intel_gpu_top') && !d.wanted('intel_sysfs')) {
    return [result(GROUP, 'intel', 'skip', `no Intel GPU (no Intel card in ${d.gpu.drm})`)]
  }
  const top = d.candidate('intel_gpu_top')
  const sysfs = d.candidate('intel_sysfs')
  if (top.verdict === 'chosen' && top.found !== null) return checkIntelGpuTop(context, d, top.found)
  if (sysfs.verdict === 'chosen') {
    const xe = cards.filter((c) => c.driver === 'xe').map((c) => c.id)
    const which = xe.length > 0 ? `${xe.join(', ')} on the xe driver` : (sysfs.found ?? 'Intel cards')
    return [result(GROUP, 'intel', 'ok', `${which}: read from sysfs (intel_gpu_top is not used)`)]
  }
  const results: CheckResult[] = []
  const ids = cards.map((c) => c.id).join(', ')
  if (d.tried('intel_gpu_top')) {
    const sysfsWhy = d.tried('intel_sysfs') && sysfs.reason !== null ? `; intel_sysfs: ${sysfs.reason}` : ''
    const fix = top.found !== null ? 'GPU_COLLECTOR=intel_sysfs reads these cards from sysfs; naming intel_gpu_top there runs it anyway' : 'apt-get install intel-gpu-tools (dnf install igt-gpu-tools)'
    results.push(result(GROUP, 'intel_gpu_top', d.severity('intel_gpu_top'), `${top.reason ?? 'not used'}; ${plural(cards.length, 'Intel card')} found${ids !== '' ? ` (${ids})` : ''}${sysfsWhy}`, fix))
  } else if (d.wanted('intel_sysfs')) {
    results.push(result(GROUP, 'intel_sysfs', 'fail', `GPU_COLLECTOR names intel_sysfs but ${sysfs.reason ?? 'it cannot run'}`, 'load the i915 or xe driver, mount the host\'s /sys (HOST_SYS), or remove intel_sysfs from GPU_COLLECTOR'))
  }
  return results
}

function checkAmd(d: Detection): CheckResult[] {
  const amd = d.candidate('amd_sysfs')
  const cards = d.gpu.cards.filter((c) => c.vendor === 'amd')
  if (cards.length === 0) {
    return d.wanted('amd_sysfs')
      ? [result(GROUP, 'amd', 'fail', `GPU_COLLECTOR names amd_sysfs but there is ${amd.reason ?? 'no AMD card'}`, 'load the amdgpu driver, mount the host\'s /sys (HOST_SYS), or remove amd_sysfs from GPU_COLLECTOR')]
      : [result(GROUP, 'amd', 'skip', `no AMD GPU: ${amd.reason ?? `no AMD card in ${d.gpu.drm}`}`)]
  }
  return cards.map((card) =>
    card.busyPercent !== null
      ? result(GROUP, `amd ${card.id}`, 'ok', `gpu_busy_percent ${card.busyPercent} %${card.driver !== null ? ` (${card.driver})` : ''}`)
      : result(GROUP, `amd ${card.id}`, d.explicit ? 'fail' : 'warn', `no readable ${d.gpu.drm}/${card.id}/device/gpu_busy_percent${card.driver !== null ? ` (driver ${card.driver})` : ''}`, 'use the amdgpu driver (kernel ≥ 4.19) and make /sys readable to the agent'),
  )
}

export async function checkGpu(context: DoctorContext): Promise<CheckResult[]> {
  if (context.flag('SKIP_GPU')) return [result(GROUP, 'gpus', 'skip', 'disabled: SKIP_GPU=true')]
  const probed = await probe(context, 'gpu')
  if (!probed.ok) return [result(GROUP, 'gpus', 'skip', probed.message, probed.fix)]
  if (!probed.report.enabled) return [result(GROUP, 'gpus', 'skip', `disabled: ${probed.report.disabledBy ?? 'by a setting'}`)]
  const d = new Detection(probed.report)
  const groups = await Promise.all([
    d.tried('nvml') || d.tried('nvidia-smi') ? checkNvidia(d) : Promise.resolve([]),
    d.tried('intel_gpu_top') || d.tried('intel_sysfs') ? checkIntel(context, d) : Promise.resolve([]),
    d.tried('amd_sysfs') ? checkAmd(d) : [],
  ])
  return groups.flat()
}
