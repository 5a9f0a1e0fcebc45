/**
 * `sonar-agent fingerprint [view|reset]`: shows the fingerprint the hub pins this host to, or
 * forgets the stored one and prints the fresh one. Needs no KEY: it may run before the agent is set up.
 */
import { cpus, hostname } from 'node:os'
import { parseArgs } from 'node:util'
import { loadConfig } from '../config/config.js'
import { resolveDataDir } from '../identity/data-dir.js'
import { loadFingerprint, resetFingerprint } from '../identity/fingerprint.js'
import { UsageError } from './usage.js'

/** What the command touches, replaceable in tests. */
export interface FingerprintCommandContext {
  env?: NodeJS.ProcessEnv
  stdout?: { write(text: string): unknown }
  stderr?: { write(text: string): unknown }
  hostname?: string
  cpuModel?: string
  /** replaces /var/lib/sonar-agent */
  systemDataDir?: string
  /** replaces the Beszel directories searched for a fingerprint to migrate */
  beszelDirs?: readonly string[]
  /** replaces /etc/sonar-agent/config.yml */
  defaultConfigFile?: string
}

export async function fingerprintCommand(args: string[], context: FingerprintCommandContext = {}): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { config: { type: 'string', short: 'c' } },
    allowPositionals: true,
    strict: true,
  })
  const [action = 'view', ...extra] = positionals
  if ((action !== 'view' && action !== 'reset') || extra.length > 0) {
    throw new UsageError(`fingerprint takes "view" or "reset", not ${JSON.stringify(positionals.join(' '))}`)
  }
  const env = context.env ?? process.env
  const stdout = context.stdout ?? process.stdout
  const stderr = context.stderr ?? process.stderr
  const config = loadConfig({ ...(values.config !== undefined ? { config: values.config } : {}) }, env, {
    hubSettings: false,
    ...(context.defaultConfigFile !== undefined ? { defaultConfigFile: context.defaultConfigFile } : {}),
  })
  const dirOptions = context.systemDataDir !== undefined ? { systemDir: context.systemDataDir } : {}
  const common = {
    roots: config.roots,
    hostname: context.hostname ?? hostname(),
    cpuModel: context.cpuModel ?? cpus()[0]?.model ?? '',
    env,
    onWarning: (message: string) => stderr.write(`sonar-agent: warning: ${message}\n`),
  }

  if (action === 'view') {
    // Viewing changes nothing on disk: no directory is created, no file written.
    const dataDir = resolveDataDir(config.dataDir, env, { ...dirOptions, create: false })
    const fingerprint = loadFingerprint({
      ...common,
      ...(dataDir !== undefined ? { dataDir } : {}),
      ...(context.beszelDirs !== undefined ? { beszelDirs: context.beszelDirs } : {}),
      persist: false,
    })
    stdout.write(`${fingerprint}\n`)
    return 0
  }

  const dataDir = resolveDataDir(config.dataDir, env, { ...dirOptions, onWarning: common.onWarning })
  if (dataDir === undefined) {
    stderr.write('sonar-agent: no writable data directory (set DATA_DIR); the fingerprint is computed at each start\n')
  }
  resetFingerprint(dataDir)
  // Saved right away and without the Beszel lookup: otherwise the next start would migrate the
  // old Beszel fingerprint back in and the reset would not stick.
  const fingerprint = loadFingerprint({ ...common, ...(dataDir !== undefined ? { dataDir } : {}), beszelDirs: [] })
  stderr.write('sonar-agent: fingerprint reset; a hub that knew this host now sees a different fingerprint (reset it on the hub too)\n')
  stdout.write(`${fingerprint}\n`)
  return 0
}
