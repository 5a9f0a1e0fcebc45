/** The `sonar-agent` command line: parses arguments and runs a command; bin.ts calls it. */
import { parseArgs } from 'node:util'
import { createRequire } from 'node:module'
import { setTimeout as sleep } from 'node:timers/promises'
import { z } from 'zod'
import { openCollector, SettingError } from './collector.js'
import { NativeLoadError } from './native.js'
import { renderSummary } from './snapshot/summary.js'

const require = createRequire(import.meta.url)
const packageVersion = z.object({ version: z.string() }).parse(require('../package.json')).version

const USAGE = `Usage: sonar-agent <command> [options]

Commands:
  snapshot            collect this machine's metrics twice, --interval apart, and print them
    --json            print the CombinedData JSON (stats, info, container) instead of a table
    --interval <time> time between the two samples: milliseconds or 500ms/2s (default 1s; 0 = one sample)

Options:
  -h, --help          show this help
  -v, --version       show the version

Settings are read from SONAR_AGENT_<NAME>, BESZEL_AGENT_<NAME> or <NAME> environment variables
(e.g. NICS, SENSORS, FILESYSTEM, EXTRA_FILESYSTEMS, HOST_PROC).`

class UsageError extends Error {}

/** `--interval`: plain milliseconds, or a number with an `ms` or `s` suffix. */
export const intervalSchema = z
  .string()
  .trim()
  .regex(/^\d+(\.\d+)?(ms|s)?$/, 'expected milliseconds or a duration like 500ms or 2s')
  .transform((text) => {
    const value = Number.parseFloat(text)
    return Math.round(text.endsWith('ms') ? value : text.endsWith('s') ? value * 1000 : value)
  })
  .pipe(z.number().int().min(0).max(3_600_000, 'at most one hour'))

async function snapshotCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { json: { type: 'boolean', default: false }, interval: { type: 'string', default: '1000' } },
    strict: true,
  })
  const interval = intervalSchema.safeParse(values.interval)
  if (!interval.success) {
    throw new UsageError(`--interval ${JSON.stringify(values.interval)}: ${interval.error.issues[0]?.message ?? 'invalid'}`)
  }
  const collector = openCollector()
  // Cache time 0 is never served from the snapshot cache, so the second sample is always fresh.
  const options = { cacheTimeMs: 0 }
  let data = await collector.snapshot(options)
  if (interval.data > 0) {
    await sleep(interval.data)
    data = await collector.snapshot(options)
  }
  process.stdout.write(values.json ? `${JSON.stringify(data, null, 2)}\n` : `${renderSummary(data)}\n`)
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  try {
    switch (command) {
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(`${USAGE}\n`)
        return command === undefined ? 2 : 0
      case '-v':
      case '--version':
        process.stdout.write(`sonar-agent ${packageVersion} (protocol ${openVersion()})\n`)
        return 0
      case 'snapshot':
        await snapshotCommand(rest)
        return 0
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`)
    }
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`sonar-agent: ${(error as Error).message}\n\n${USAGE}\n`)
      return 2
    }
    if (error instanceof SettingError || error instanceof NativeLoadError) {
      process.stderr.write(`sonar-agent: ${error.message}\n`)
      return 1
    }
    process.stderr.write(`sonar-agent: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    return 1
  }
}

/** The protocol version, without failing `--version` when the native core is missing. */
function openVersion(): string {
  try {
    return openCollector().agentVersion
  } catch {
    return 'unknown: native core not loaded'
  }
}
