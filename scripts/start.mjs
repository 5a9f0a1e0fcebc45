#!/usr/bin/env node
// `npm start`: the README's first command. Builds what is missing (scripts/setup.sh, only when the
// native addon, dist/ or node_modules is absent), then runs `sonar-agent hub --agent`: the DEV hub, its page and
// one agent of this machine connected to it. Extra arguments go to `sonar-agent hub` (--port …).
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = join(root, 'dist', 'bin.cjs')
const nativeDir = join(root, 'native')
const hasAddon = existsSync(nativeDir) && readdirSync(nativeDir).some((name) => name.endsWith('.node'))
// dist/bin.cjs loads these from node_modules (everything else is bundled into it)
const hasModules = existsSync(join(root, 'node_modules', 'ssh2')) && existsSync(join(root, 'node_modules', 'yaml'))
const missing = !hasAddon ? 'the native addon' : !existsSync(bin) ? 'dist/bin.cjs' : !hasModules ? 'node_modules' : undefined

if (missing) {
  process.stderr.write(`start: ${missing} is missing: running scripts/setup.sh (the first run takes a few minutes)\n`)
  const setup = spawnSync('bash', [join(root, 'scripts', 'setup.sh')], { cwd: root, stdio: 'inherit' })
  if (setup.status !== 0) {
    process.stderr.write(`start: scripts/setup.sh failed (status ${setup.status ?? setup.signal}); fix what it printed and run npm start again\n`)
    process.exit(1)
  }
}

// Rebuilding on every start would cost seconds; an edited checkout gets a hint instead.
let newer
try {
  const built = statSync(bin).mtimeMs
  newer = readdirSync(join(root, 'ts'), { recursive: true }).find((name) => String(name).endsWith('.ts') && statSync(join(root, 'ts', String(name))).mtimeMs > built)
} catch {
  // an unpacked package has no ts/: nothing to compare
}
if (newer) process.stderr.write(`start: ts/${newer} is newer than dist/bin.cjs: run npm run build:ts to start what you edited\n`)

// Run the CLI in this process: one process fewer between Ctrl-C and the hub.
process.argv = [process.argv[0], bin, 'hub', '--agent', ...process.argv.slice(2)]
await import(pathToFileURL(bin).href)
