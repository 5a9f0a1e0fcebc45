/** The `sonar-agent` command line: picks the command and maps errors to exit statuses. */
import { openCollector, SettingError } from './collector.js'
import { NativeLoadError } from './native.js'
import { UsageError } from './commands/usage.js'
import { ConfigError } from './config/config.js'
import { packageVersion } from './package-version.js'

export const USAGE = `Usage: sonar-agent <command> [options]

Commands:
  run                 start the agent: connect to the hub (HUB_URL) and serve SSH (LISTEN)
    -k, --key <keys>      hub public key(s), authorized_keys lines (beats KEY)
    -l, --listen <addr>   SSH listen address: port, host:port, [v6]:port or a unix socket path (beats LISTEN)
    -u, --url <url>       hub URL (beats HUB_URL)
    -t, --token <token>   registration token (beats TOKEN)
    -c, --config <file>   YAML config file (default /etc/sonar-agent/config.yml when present)
    --read-only           refuse commands, service actions, file writes and deletes (beats READ_ONLY)
  snapshot            collect this machine's metrics twice, --interval apart, and print them
    --json                print the CombinedData JSON (stats, info, container) instead of a table
    --interval <time>     time between the two samples: milliseconds or 500ms/2s (default 1s; 0 = one sample)
  fingerprint [view|reset]  show or reset this host's fingerprint (the hub pins it)
    -c, --config <file>   YAML config file (for DATA_DIR and HOST_* roots)
  health              exit 0 if a running agent is healthy (for container health checks)
  doctor              check every collector's prerequisites on this host and print the fixes
    -c, --config <file>   YAML config file (and -k/-l/-u/-t as for run)
    --json                print the checks as JSON; exit status 1 when something required is missing
  polkit-rule         print the polkit rule for the service actions EXTENSIONS_FILE allows
    -c, --config <file>   YAML config file (for EXTENSIONS_FILE)
    --user <name>         the agent's user (default sonar-agent)
  hub                 start the embedded DEV hub (demo/testing only) with its web page on 127.0.0.1
    -p, --port <port>     listen port for agents and the page (default 8090; 0 = any free port)
    --host <addr>         listen address (default 127.0.0.1)
    -d, --data <dir>      its key, token and pinned fingerprints (default ~/.local/share/sonar-agent/dev-hub)
    --ssh <host:port>     also dial an agent's SSH server, as a Beszel hub does (repeatable)
    --agent               also run an agent of this machine against it (what npm start does)
    --beszel-version <v>  the Beszel hub to play: 0.18.8 (default: asks for Details, SMART in the
                          background, prunes vanished drives) or 0.17 (neither)

Options:
  -h, --help          show this help
  -v, --version       show the version

Settings are read from SONAR_AGENT_<NAME>, BESZEL_AGENT_<NAME> or <NAME> environment variables
(e.g. KEY, HUB_URL, TOKEN, LISTEN, NICS, SENSORS, FILESYSTEM, EXTRA_FILESYSTEMS, HOST_PROC),
then from the config file.`

type Command = (args: string[]) => Promise<number>

// Loaded on demand: the daemon (`run`) never evaluates the dev hub, the doctor or the snapshot
// renderer, which keeps its resident memory down.
const COMMANDS: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./commands/run.js')).runCommand,
  snapshot: async () => (await import('./commands/snapshot.js')).snapshotCommand,
  fingerprint: async () => (await import('./commands/fingerprint.js')).fingerprintCommand,
  health: async () => (await import('./commands/health.js')).healthCommand,
  hub: async () => (await import('./commands/hub.js')).hubCommand,
  doctor: async () => (await import('./commands/doctor.js')).doctorCommand,
  'polkit-rule': async () => (await import('./commands/polkit-rule.js')).polkitRuleCommand,
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  try {
    if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
      process.stdout.write(`${USAGE}\n`)
      return command === undefined ? 2 : 0
    }
    if (command === '-v' || command === '--version' || command === 'version') {
      process.stdout.write(`sonar-agent ${packageVersion} (protocol ${protocolVersion()})\n`)
      return 0
    }
    const load = COMMANDS[command]
    if (!load) throw new UsageError(`unknown command ${JSON.stringify(command)}`)
    const run = await load()
    return await run(rest)
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`sonar-agent: ${(error as Error).message}\n\n${USAGE}\n`)
      return 2
    }
    if (error instanceof SettingError || error instanceof NativeLoadError || error instanceof ConfigError) {
      process.stderr.write(`sonar-agent: ${error.message}\n`)
      return 1
    }
    process.stderr.write(`sonar-agent: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    return 1
  }
}

/** The protocol version, without failing `--version` when the native core is missing. */
function protocolVersion(): string {
  try {
    return openCollector().agentVersion
  } catch {
    return 'unknown: native core not loaded'
  }
}
