#!/usr/bin/env node
// `npm run pack:release`: makes the publishable tarballs in one folder (default target/pack):
//   sonar-agent-<v>.tgz                the CLI: npm's own `files` selection plus an npm-shrinkwrap.json
//                                      cut from package-lock.json (runtime entries only), so a user
//                                      gets the dependency versions the tests ran with — and an
//                                      offline install from a warm cache finds every tarball;
//   sonar-agent-<triple>-<v>.tgz       each platform package of npm/ whose binary exists in native/.
// Prints one JSON line per tarball (file, size, unpackedSize, entryCount). The release workflow
// publishes these files; test/package.test.ts installs them offline.
import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const outIndex = args.indexOf('--out')
const out = resolve(outIndex >= 0 && args[outIndex + 1] ? args[outIndex + 1] : join(root, 'target/pack'))
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

/** package-lock.json without development-only entries: what a user's install resolves. */
function shrinkwrap() {
  const lock = readJson(join(root, 'package-lock.json'))
  const packages = {}
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '') {
      const { devDependencies: _dev, ...rootEntry } = entry
      packages[path] = rootEntry
    } else if (!entry.dev) {
      const { devOptional, ...rest } = entry
      packages[path] = devOptional ? { ...rest, optional: true } : rest
    }
  }
  return { name: lock.name, version: lock.version, lockfileVersion: 3, requires: true, packages }
}

rmSync(stage, { recursive: true, force: true })
mkdirSync(stage, { recursive: true })
for (const file of readdirSync(out)) if (file.endsWith('.tgz')) rmSync(join(out, file))

for (const file of ['dist/bin.js', 'dist/index.js', 'dist/hub-web/app.js']) {
  if (!existsSync(join(root, file))) throw new Error(`${file} is missing: run \`npm run build:ts\` first`)
}

// The CLI: npm's file selection from the repository, unpacked, plus the shrinkwrap, packed again.
const raw = npmPack(root)
execFileSync('tar', ['xzf', raw.file, '-C', stage])
rmSync(raw.file)
writeFileSync(join(stage, 'package/npm-shrinkwrap.json'), JSON.stringify(shrinkwrap(), null, 2) + '\n')
const results = [npmPack(join(stage, 'package'))]

for (const triple of targets) {
  const binary = `sonar-agent.${triple}.node`
  const built = join(root, 'native', binary)
  if (!existsSync(built)) {
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
