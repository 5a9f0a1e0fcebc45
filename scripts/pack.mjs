#!/usr/bin/env node
// `npm run pack:release`: makes the publishable tarballs in one folder (default target/pack):
//   sonar-agent-<v>.tgz                the CLI, as `npm pack` makes it from package.json's `files`;
//   sonar-agent-<triple>-<v>.tgz       each platform package of npm/ whose binary exists in native/.
// Prints one JSON line per tarball (file, size, unpackedSize, entryCount). The release workflow
// publishes these files (with --all); test/package.test.ts installs them offline.
import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const outIndex = args.indexOf('--out')
const out = resolve(outIndex >= 0 && args[outIndex + 1] ? args[outIndex + 1] : join(root, 'target/pack'))
// The release workflow passes --all: a platform package without its binary is then an error.
const requireAll = args.includes('--all')
// Platform packages are assembled there (npm/<triple> + the binary): npm/ itself stays binary-free.
const stage = join(out, 'stage')

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'))
const manifest = readJson(join(root, 'package.json'))
const version = manifest.version

// Every platform package must carry the CLI's version, and the CLI must depend on exactly that.
const targets = readdirSync(join(root, 'npm'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort()
for (const triple of targets) {
  const pkg = readJson(join(root, 'npm', triple, 'package.json'))
  const wanted = manifest.optionalDependencies?.[pkg.name]
  if (pkg.version !== version || wanted !== version) {
    throw new Error(
      `npm/${triple}/package.json is ${pkg.name}@${pkg.version}, package.json's optionalDependencies ` +
        `ask for ${wanted ?? 'nothing'}; both must be ${version}`,
    )
  }
}

function npmPack(cwd) {
  const json = execFileSync('npm', ['pack', '--json', '--pack-destination', out], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const [info] = JSON.parse(json)
  return { file: join(out, info.filename), size: info.size, unpackedSize: info.unpackedSize, entryCount: info.entryCount }
}

rmSync(stage, { recursive: true, force: true })
mkdirSync(stage, { recursive: true })
for (const file of readdirSync(out)) if (file.endsWith('.tgz')) rmSync(join(out, file))

for (const file of ['dist/bin.cjs', 'dist/index.js', 'dist/hub-web/app.js']) {
  if (!existsSync(join(root, file))) throw new Error(`${file} is missing: run \`npm run build:ts\` first`)
}

const results = [npmPack(root)]

for (const triple of targets) {
  const binary = `sonar-agent.${triple}.node`
  const built = join(root, 'native', binary)
  if (!existsSync(built)) {
    if (requireAll) throw new Error(`native/${binary} is missing (--all): every platform package must be built`)
    process.stderr.write(`pack: skipping sonar-agent-${triple}: native/${binary} is not built here\n`)
    continue
  }
  const dir = join(stage, triple)
  mkdirSync(dir)
  for (const file of ['package.json', 'README.md']) copyFileSync(join(root, 'npm', triple, file), join(dir, file))
  copyFileSync(built, join(dir, binary))
  results.push(npmPack(dir))
}
rmSync(stage, { recursive: true, force: true })
for (const result of results) process.stdout.write(JSON.stringify(result) + '\n')
