/** `sonar-agent snapshot`: two samples --interval apart, printed as a table or as JSON. */
import { parseArgs } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'
import * as z from 'zod/mini'
import { loggingCoreWarnings, openCollector } from '../collector.js'
import { lookupSetting } from '../config/lookup.js'
import { ContainerMonitor } from '../containers/monitor.js'
import { containerSettings } from '../containers/settings.js'
import { snapshotWithContainers } from '../handlers/data.js'
import { createLogger } from '../log.js'
import { renderSummary } from '../snapshot/summary.js'
import { UsageError } from './usage.js'

/** `--interval`: plain milliseconds, or a number with an `ms` or `s` suffix. */
export const intervalSchema = z.pipe(
  z.pipe(
    z.string().check(z.trim(), z.regex(/^\d+(\.\d+)?(ms|s)?$/, { error: 'expected milliseconds or a duration like 500ms or 2s' })),
    z.transform((text: string) => {
      const value = Number.parseFloat(text)
      return Math.round(text.endsWith('ms') ? value : text.endsWith('s') ? value * 1000 : value)
    }),
  ),
  z.int().check(z.gte(0), z.lte(3_600_000, { error: 'at most one hour' })),
)

export async function snapshotCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { json: { type: 'boolean', default: false }, interval: { type: 'string', default: '1000' } },
    strict: true,
  })
  const interval = intervalSchema.safeParse(values.interval)
  if (!interval.success) {
    throw new UsageError(`--interval ${JSON.stringify(values.interval)}: ${interval.error.issues[0]?.message ?? 'invalid'}`)
  }
  const logger = createLogger('warn')
  const collector = loggingCoreWarnings(openCollector(), logger.child('core'))
  const monitor = new ContainerMonitor({
    settings: containerSettings((name) => lookupSetting(name), (message) => logger.warn(message)),
    logger: logger.child('containers'),
  })
  const containers = monitor.enabled ? monitor : undefined
  // Cache time 0 is never served from the snapshot cache, so the second sample is always fresh.
  let data = await snapshotWithContainers(collector, 0, containers)
  if (interval.data > 0) {
    await sleep(interval.data)
    data = await snapshotWithContainers(collector, 0, containers)
  }
  process.stdout.write(values.json ? `${JSON.stringify(data, null, 2)}\n` : `${renderSummary(data)}\n`)
  return 0
}
