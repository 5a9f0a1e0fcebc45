/**
 * Runs every check group side by side, each under a time limit, so the whole doctor ends within
 * about ten seconds whatever hangs (a black-hole hub, a stuck engine socket, a slow smartctl).
 */
import { hostname } from 'node:os'
import type { CliFlags } from '../config/config.js'
import { formatMs, result, withTimeout, type CheckResult } from './check.js'
import { checkContainers } from './containers.js'
import { checkCore, type DoctorContext } from './core.js'
import { checkGpu } from './gpu.js'
import { checkHost } from './host.js'
import { checkHub, type HubOptions } from './hub.js'
import { checkMetrics } from './metrics.js'
import { buildReport, type DoctorReport } from './report.js'
import { checkSensors } from './sensors.js'
import { checkSmart } from './smart.js'
import { checkSystemd } from './systemd.js'

export interface DoctorOptions {
  flags: CliFlags
  env: NodeJS.ProcessEnv
  version: string
  /** replaces /etc/sonar-agent/config.yml (tests) */
  defaultConfigFile?: string
  /** replaces /var/lib/sonar-agent (tests) */
  systemDataDir?: string
  hub?: HubOptions
  /** a group still running after this is reported and abandoned (default 9.5 s) */
  groupTimeoutMs?: number
}

export const GROUP_TIMEOUT_MS = 9_500

type Group = { name: string; run: (context: DoctorContext) => Promise<CheckResult[]> }

export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const { results: core, context } = await checkCore({
    flags: options.flags,
    env: options.env,
    ...(options.defaultConfigFile !== undefined ? { defaultConfigFile: options.defaultConfigFile } : {}),
  })
  const groups: Group[] = [
    { name: 'host', run: (c) => checkHost(c, options.systemDataDir !== undefined ? { systemDataDir: options.systemDataDir } : {}) },
    { name: 'hub', run: (c) => checkHub(c, { userAgent: `sonar-agent/${options.version} doctor`, ...options.hub }) },
    { name: 'containers', run: checkContainers },
    { name: 'smart', run: checkSmart },
    { name: 'gpu', run: checkGpu },
    { name: 'systemd', run: checkSystemd },
    { name: 'sensors', run: checkSensors },
    { name: 'metrics', run: checkMetrics },
  ]
  const limit = options.groupTimeoutMs ?? GROUP_TIMEOUT_MS
  const outcomes = await Promise.all(
    groups.map(async (group) => {
      try {
        return await withTimeout(group.run(context), limit)
      } catch (error) {
        const required = group.name === 'hub' && context.config?.disableSsh === true && context.config.hubUrl !== undefined
        const message = error instanceof Error && error.name === 'TimeoutError' ? `did not finish within ${formatMs(limit)}` : `the check itself failed: ${error instanceof Error ? error.message : String(error)}`
        return [result(group.name, 'checks', required ? 'fail' : 'warn', message, 'run again; if it repeats, report it with this output')]
      }
    }),
  )
  return buildReport(options.version, hostname(), [...core, ...outcomes.flat()])
}
