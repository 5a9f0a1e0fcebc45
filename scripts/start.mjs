#!/usr/bin/env node
// `npm start`: the README's first command. Builds what is missing (scripts/setup.sh, only when the
// native addon or dist/ is absent), then runs `sonar-agent hub --agent`: the DEV hub, its page and
// one agent of this machine connected to it. Extra arguments go to `sonar-agent hub` (--port …).
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = join(root, 'dist', 'bin.js')
const nativeDir = join(root, 'native')
const hasAddon = existsSync(nativeDir) && readdirSync(nativeDir).some((name) => name.endsWith('.node'))

if (!hasAddon || !existsSync(bin)) {
  process.stderr.write(`start: ${hasAddon ? 'dist/bin.js' : 'the native addon'} is missing: running scripts/setup.sh (first run takes a few minutes)\n`)
  const setup = spawnSync('bash', [join(root, 'scripts', 'setup.sh')], { cwd: root, stdio: 'inherit' })
  if (setup.status !== 0) {
    process.stderr.write(`start: scripts/setup.sh failed (status ${setup.status ?? setup.signal}); fix what it printed and run npm start again\n`)
    process.exit(1)
  }
}

// Run the CLI in this process: one process fewer between Ctrl-C and the hub.
process.argv = [process.argv[0], bin, 'hub', '--agent', ...process.argv.slice(2)]
await import(pathToFileURL(bin).href)
