/**
 * `sonar-agent doctor [-c config] [--json]`: checks every collector's prerequisites on this host and
 * prints what works, what does not and the exact fix. Exit status 1 when something required is
 * missing (addon, settings, KEY/TOKEN, a hub it cannot reach without an SSH fallback), else 0.
 */
import { parseArgs } from 'node:util'
import { packageVersion } from '../package-version.js'
import { RUN_FLAG_OPTIONS, runFlagsFrom } from './run.js'
import { runDoctor, type DoctorOptions } from '../doctor/doctor.js'
import { renderJson, renderText } from '../doctor/report.js'

export interface DoctorCommandContext extends Partial<Omit<DoctorOptions, 'flags' | 'version'>> {
  stdout?: { write(text: string): unknown }
  /**
   * Exit shortly after the report even if something the checks started still holds the event loop
   * (a DNS lookup of a black-hole resolver goes on in libuv's pool). Default true; tests pass false.
   */
  exitWhenDone?: boolean
}

export async function doctorCommand(args: string[], context: DoctorCommandContext = {}): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { json: { type: 'boolean', default: false }, ...RUN_FLAG_OPTIONS },
    strict: true,
    allowPositionals: false,
  })
  const flags = runFlagsFrom(values)
  const { stdout = process.stdout, exitWhenDone = true, ...options } = context
  const report = await runDoctor({ ...options, env: options.env ?? process.env, flags, version: packageVersion })
  stdout.write(values.json ? renderJson(report) : renderText(report))
  if (exitWhenDone) setTimeout(() => process.exit(report.exitCode), 200).unref()
  return report.exitCode
}
