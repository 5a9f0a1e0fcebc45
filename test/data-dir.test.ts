import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { beszelDataDirs, dataDirCandidates, resolveDataDir, systemDataDir } from '../ts/identity/data-dir.js'

const tmp = mkdtempSync(join(tmpdir(), 'sonar-datadir-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
let counter = 0
const fresh = (name: string) => join(tmp, `${name}-${counter++}`)

describe('data directory candidates', () => {
  it('DATA_DIR, /var/lib/sonar-agent, $HOME/.config/sonar-agent', () => {
    expect(dataDirCandidates('/srv/sonar', { HOME: '/home/u' })).toEqual(['/srv/sonar', '/var/lib/sonar-agent', '/home/u/.config/sonar-agent'])
    expect(dataDirCandidates(undefined, {})).toEqual(['/var/lib/sonar-agent'])
    expect(dataDirCandidates('', { HOME: '' })).toEqual(['/var/lib/sonar-agent'])
  })

  it('Windows: DATA_DIR, %ProgramData%\\sonar-agent, %APPDATA%\\sonar-agent', () => {
    const env = { ProgramData: 'D:\\ProgramData', APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }
    expect(systemDataDir(env, 'win32')).toBe('D:\\ProgramData\\sonar-agent')
    expect(systemDataDir({}, 'win32')).toBe('C:\\ProgramData\\sonar-agent')
    expect(systemDataDir(env, 'linux')).toBe('/var/lib/sonar-agent')
    expect(dataDirCandidates('E:\\sonar', env, systemDataDir(env, 'win32'), 'win32')).toEqual([
      'E:\\sonar',
      'D:\\ProgramData\\sonar-agent',
      'C:\\Users\\u\\AppData\\Roaming\\sonar-agent',
    ])
  })

  it('Beszel migration sources: /var/lib/beszel-agent, $HOME/.config/beszel', () => {
    expect(beszelDataDirs({ HOME: '/home/u' })).toEqual(['/var/lib/beszel-agent', '/home/u/.config/beszel'])
    expect(beszelDataDirs({})).toEqual(['/var/lib/beszel-agent'])
  })
})

describe('resolveDataDir', () => {
  it('an existing configured directory is used and the write probe is cleaned up', () => {
    const configured = fresh('configured')
    mkdirSync(configured)
    expect(resolveDataDir(configured, {}, { systemDir: fresh('system') })).toBe(configured)
    expect(readdirSync(configured)).toEqual([])
  })

  it('existing_candidate_beats_creatable_earlier_one (pass 1 before pass 2, like Go)', () => {
    const home = fresh('home')
    mkdirSync(join(home, '.config', 'sonar-agent'), { recursive: true })
    const configured = fresh('not-yet')
    expect(resolveDataDir(configured, { HOME: home }, { systemDir: fresh('system') })).toBe(join(home, '.config', 'sonar-agent'))
    expect(existsSync(configured)).toBe(false)
  })

  it('creates the first creatable candidate with mode 0755', () => {
    const system = join(fresh('var'), 'lib', 'sonar-agent')
    expect(resolveDataDir(undefined, { HOME: fresh('home') }, { systemDir: system })).toBe(system)
    expect(statSync(system).mode & 0o777).toBe(0o755)
  })

  it('candidate_is_a_file_skipped', () => {
    const file = fresh('file')
    writeFileSync(file, 'x')
    const home = fresh('home')
    expect(resolveDataDir(file, { HOME: home }, { systemDir: join(file, 'sub') })).toBe(join(home, '.config', 'sonar-agent'))
  })

  it('nothing usable: undefined', () => {
    const file = fresh('file')
    writeFileSync(file, 'x')
    expect(resolveDataDir(join(file, 'a'), {}, { systemDir: join(file, 'b') })).toBeUndefined()
  })

  it('create false never makes a directory', () => {
    const system = fresh('system')
    const home = fresh('home')
    expect(resolveDataDir(fresh('configured'), { HOME: home }, { systemDir: system, create: false })).toBeUndefined()
    expect(existsSync(system)).toBe(false)
    expect(existsSync(home)).toBe(false)
    mkdirSync(system)
    expect(resolveDataDir(undefined, { HOME: home }, { systemDir: system, create: false })).toBe(system)
  })
})

/** As root, an explicit DATA_DIR that was read-only or a file was quietly replaced by /var/lib/sonar-agent. */
describe('an explicitly set DATA_DIR is never replaced silently', () => {
  const resolveWarning = (configured: string | undefined, env: NodeJS.ProcessEnv, systemDir: string, create?: boolean) => {
    const warnings: string[] = []
    const dir = resolveDataDir(configured, env, { systemDir, onWarning: (m) => warnings.push(m), ...(create === false ? { create } : {}) })
    return { dir, warnings }
  }

  it('DATA_DIR that is a file: one warning naming DATA_DIR, the path, why and what is used instead', () => {
    const file = fresh('file')
    writeFileSync(file, 'x')
    const system = fresh('system')
    const { dir, warnings } = resolveWarning(file, {}, system)
    expect(dir).toBe(system)
    expect(warnings).toEqual([`DATA_DIR=${file} is not a directory: using ${system} instead; fix DATA_DIR or unset it`])
  })

  it('DATA_DIR that is read-only: one warning', () => {
    // root writes through permission bits: a directory of /proc is read-only to everyone
    let readOnly = '/proc/1'
    if (!existsSync(readOnly)) {
      readOnly = fresh('ro')
      mkdirSync(readOnly, { mode: 0o555 })
    }
    const system = fresh('system')
    const { dir, warnings } = resolveWarning(readOnly, {}, system)
    expect(dir).toBe(system)
    expect(warnings).toEqual([`DATA_DIR=${readOnly} is not writable (read-only?): using ${system} instead; fix DATA_DIR or unset it`])
  })

  it('DATA_DIR that cannot be created and nothing else usable: the warning says nothing is saved', () => {
    const file = fresh('file')
    writeFileSync(file, 'x')
    const { dir, warnings } = resolveWarning(join(file, 'data'), {}, join(file, 'system'))
    expect(dir).toBeUndefined()
    expect(warnings).toEqual([
      `DATA_DIR=${join(file, 'data')} is not a directory (a part of the path is a file): no data directory is used (the fingerprint and SSH host key are not saved); fix DATA_DIR or unset it`,
    ])
  })

  it('DATA_DIR that does not exist while another candidate does: the Go order stays, and is said', () => {
    const home = fresh('home')
    mkdirSync(join(home, '.config', 'sonar-agent'), { recursive: true })
    const configured = fresh('not-yet')
    const { dir, warnings } = resolveWarning(configured, { HOME: home }, fresh('system'))
    expect(dir).toBe(join(home, '.config', 'sonar-agent'))
    expect(warnings).toEqual([
      `DATA_DIR=${configured} does not exist and an existing data directory came first (as in the Go agent): using ${dir} instead; fix DATA_DIR or unset it`,
    ])
  })

  it('a usable DATA_DIR, or none set: no warning', () => {
    const configured = fresh('configured')
    mkdirSync(configured)
    expect(resolveWarning(configured, {}, fresh('system'))).toEqual({ dir: configured, warnings: [] })
    const creatable = fresh('creatable')
    expect(resolveWarning(creatable, {}, fresh('system'))).toEqual({ dir: creatable, warnings: [] })
    const file = fresh('file')
    writeFileSync(file, 'x')
    expect(resolveWarning(undefined, {}, join(file, 'system')).warnings).toEqual([])
  })
})
