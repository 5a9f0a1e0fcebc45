/**
 * config.example.yml documents every setting the agent knows — the core's settings table, which is
 * the one list — once: a `#NAME: value` example line with a comment block giving its meaning and
 * default for each supported setting, a `# NAME (not supported) — …` paragraph for each refused
 * one, so a new setting without documentation fails here. The file loads through loadConfig as
 * shipped, and with every example line uncommented each example value is accepted by the code that
 * reads it.
 */
import { generateKeyPairSync } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openCollector } from '../ts/collector.js'
import { coreSettingNames, settingCatalog } from '../ts/config/catalog.js'
import { loadConfig } from '../ts/config/config.js'
import { containerSettings } from '../ts/containers/settings.js'
import { ed25519Blob } from '../ts/identity/keys.js'
import { loadNative } from '../ts/native.js'
import { proxySettings } from '../ts/transport/proxy.js'

const EXAMPLE = 'config.example.yml'
const text = readFileSync(EXAMPLE, 'utf8')
const lines = text.split('\n')
const native = loadNative()

const catalog = settingCatalog(native)
const codeNames = catalog.map((s) => s.name).sort()
const refusedNames = catalog.filter((s) => s.refused !== undefined).map((s) => s.name)

/** `#NAME: value` lines: the examples (a "# " line is prose). */
const EXAMPLE_LINE = /^#([A-Z][A-Z0-9_]*):(.*)$/
const examples = lines.flatMap((line, index) => {
  const match = EXAMPLE_LINE.exec(line)
  return match ? [{ name: match[1] as string, index }] : []
})

/** `# NAME (not supported) — …` paragraphs: settings the agent refuses, with the reason. */
const REFUSED_LINE = /^# ([A-Z][A-Z0-9_]*) \(not supported\) — \S/
const refusedDocs = lines.flatMap((line) => {
  const match = REFUSED_LINE.exec(line)
  return match ? [match[1] as string] : []
})

/** The "# …" prose lines right above an example (through sibling example lines), up to a blank line. */
function docBlock(index: number): string {
  const block: string[] = []
  for (let i = index - 1; i >= 0; i--) {
    const line = lines[i] ?? ''
    if (!line.startsWith('#')) break
    if (!EXAMPLE_LINE.test(line)) block.unshift(line)
  }
  return block.join('\n')
}

const tmp = mkdtempSync(join(tmpdir(), 'sonar-config-example-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function keyLine(comment: string): string {
  const { publicKey } = generateKeyPairSync('ed25519')
  const x = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url')
  return `ssh-ed25519 ${ed25519Blob(x).toString('base64')} ${comment}`
}

describe('config.example.yml', () => {
  it('documents every setting name the code knows once, and no unknown name', () => {
    const documented = [...examples.map((e) => e.name), ...refusedDocs]
    expect(codeNames.filter((name) => !documented.includes(name)), 'settings without documentation').toEqual([])
    expect(documented.filter((name) => !codeNames.includes(name)), 'documented names the code does not know').toEqual([])
    expect(documented.length, 'a name documented twice').toBe(new Set(documented).size)
  })

  it('gives an example line exactly to the supported settings, and a "not supported" paragraph to the refused ones', () => {
    expect(examples.filter((e) => refusedNames.includes(e.name)).map((e) => e.name), 'example lines of settings the agent refuses').toEqual([])
    expect([...refusedDocs].sort(), 'refused settings documented as such').toEqual([...refusedNames].sort())
  })

  it('explains each setting: its name in the comment above, with its default (or why it has none)', () => {
    for (const { name, index } of examples) {
      const block = docBlock(index)
      expect(block, `${name}: no comment above its example line`).toMatch(new RegExp(`\\b${name}\\b`))
      expect(block, `${name}: the comment gives no default`).toMatch(/Default|Required|no effect/)
    }
  })

  it('loads through loadConfig as shipped (everything commented out: the defaults)', () => {
    const key = keyLine('hub')
    const config = loadConfig({ config: EXAMPLE }, { KEY: key })
    expect(config.configFile).toBe(EXAMPLE)
    expect(config.keys).toHaveLength(1)
    for (const name of codeNames) {
      if (name !== 'KEY') expect(config.setting(name), name).toBeUndefined()
    }
    expect(config.listen.text).toBe(':45876')
  })

  it('with every example uncommented, each value is accepted by the code that reads it', () => {
    // Real files where the examples name /etc/sonar-agent/…, and a real key for the KEY placeholder.
    const etc = join(tmp, 'etc')
    mkdirSync(etc, { recursive: true })
    const key = keyLine('hub')
    writeFileSync(join(etc, 'hub.pub'), `${key}\n`)
    writeFileSync(join(etc, 'token'), 'file-token\n')
    writeFileSync(join(etc, 'hub-ca.pem'), '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n')
    const uncommented = lines
      .map((line) => {
        const match = EXAMPLE_LINE.exec(line)
        if (!match) return line
        return match[1] === 'KEY' ? `KEY: "${key}"` : line.slice(1)
      })
      .join('\n')
      .replaceAll('/etc/sonar-agent/', `${etc}/`)
    const path = join(tmp, 'config.yml')
    writeFileSync(path, uncommented)

    const config = loadConfig({ config: path }, {})
    const values = loadExampleValues(uncommented)
    for (const [name, value] of values) expect(config.setting(name), name).toBe(value)
    expect(values.size).toBe(examples.length)

    // what each value turns into: the hub side…
    expect(config.keys.map((k) => k.comment)).toEqual(['hub'])
    expect(config.hubUrl?.href).toBe('https://hub.example.com/')
    expect(config.token).toBe('00000000-0000-0000-0000-000000000000')
    expect(config.hubFlavor).toBe('beszel')
    expect(config.caCertFile).toBe(join(etc, 'hub-ca.pem'))
    expect(config.listen).toMatchObject({ network: 'tcp', host: '127.0.0.1', port: 45876 })
    expect(config.logLevel).toBe('info')
    expect(config.roots).toEqual({ proc: '/host/proc', sys: '/host/sys', etc: '/host/etc' })
    expect(proxySettings((name) => config.setting(name))).toMatchObject({ httpsProxy: 'http://proxy.example.com:3128', allProxy: 'socks5://127.0.0.1:1080' })
    // …the containers…
    const warnings: string[] = []
    expect(containerSettings((name) => config.setting(name), (m) => warnings.push(m))).toMatchObject({
      enabled: true,
      dockerHost: { kind: 'socket', socketPath: '/var/run/docker.sock' },
      timeoutMs: 5000,
      exclude: 'web-*,test',
    })
    expect(warnings).toEqual([])
    // …and the native core, which rejects a bad duration, GPU collector or service glob.
    expect(() => openCollector(config.collectorSettings(coreSettingNames(native)), native)).not.toThrow()
  })

  it('a typo in a setting name is caught (the check above is not vacuous)', () => {
    const path = join(tmp, 'typo.yml')
    writeFileSync(path, 'SMART_DEVICE: /dev/sda\n')
    expect(() => loadConfig({ config: path }, {}, { hubSettings: false })).toThrow(/unknown setting "SMART_DEVICE" \(did you mean SMART_DEVICES\?\)/)
  })
})

/** NAME → value of the active lines, as the YAML failsafe schema reads them (quotes removed). */
function loadExampleValues(yamlText: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of yamlText.split('\n')) {
    const match = /^([A-Z][A-Z0-9_]*):\s*(.*)$/.exec(line)
    if (!match) continue
    const raw = (match[2] as string).trim()
    out.set(match[1] as string, raw.startsWith('"') && raw.endsWith('"') ? (JSON.parse(raw) as string) : raw)
  }
  return out
}
