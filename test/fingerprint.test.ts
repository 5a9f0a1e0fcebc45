import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { fingerprintCommand } from '../ts/commands/fingerprint.js'
import { UsageError } from '../ts/commands/usage.js'
import {
  computeFingerprint,
  FINGERPRINT_FILE,
  hostId,
  loadFingerprint,
  readFingerprintFile,
  resetFingerprint,
  type HostIdRoots,
} from '../ts/identity/fingerprint.js'

// Expected values computed independently: python3 hashlib.sha256(id).digest()[:24].hex()
const SPEC_FP = 'a23d006bb020a81dfd1afa15968e07dcae8a9e0016934b97' // machine-id 0123456789abcdef0123456789abcdef
const UUID_FP = '4eaf2f743f345b78316a904892ce582e6a81d616ec1d0060' // 4c4c4544-0042-3510-8057-b7c04f4e3532
const BOOT_FP = 'b91738d80f2ed9e95f6c7b8847a1131d4f68b75a3bcdd0b8' // 9f2c5a7e-1b3d-4e6f-8a9b-0c1d2e3f4a5b
const HOST_CPU_FP = '043669c29c85ad46f67a0e0337515abeaa422912d662d7b2' // "web-01" + "Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz"
const HOST = 'web-01'
const CPU = 'Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz'

const tmp = mkdtempSync(join(tmpdir(), 'sonar-fp-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
let counter = 0

/** A fresh host tree: files given relative to the tree root (sys/…, etc/…, proc/…). */
function host(files: Record<string, string> = {}): HostIdRoots {
  const root = join(tmp, `host-${counter++}`)
  for (const dir of ['proc', 'sys', 'etc']) mkdirSync(join(root, dir), { recursive: true })
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), content)
  }
  return { proc: join(root, 'proc'), sys: join(root, 'sys'), etc: join(root, 'etc') }
}

function dir(name: string, fingerprint?: string): string {
  const path = join(tmp, `${name}-${counter++}`)
  mkdirSync(path, { recursive: true })
  if (fingerprint !== undefined) writeFileSync(join(path, FINGERPRINT_FILE), fingerprint)
  return path
}

const UUID_FILE = 'sys/class/dmi/id/product_uuid'
const MACHINE_ID = 'etc/machine-id'
const BOOT_ID = 'proc/sys/kernel/random/boot_id'

describe('computeFingerprint (spec §2.8)', () => {
  it('spec example: machine-id 0123…cdef', () => {
    const roots = host({ [MACHINE_ID]: '0123456789abcdef0123456789abcdef\n' })
    expect(hostId(roots)).toBe('01234567-89ab-cdef-0123-456789abcdef')
    expect(computeFingerprint(roots, HOST, CPU)).toBe(SPEC_FP)
  })

  it('product_uuid wins over machine-id and is lower-cased', () => {
    const roots = host({ [UUID_FILE]: '4C4C4544-0042-3510-8057-B7C04F4E3532\n', [MACHINE_ID]: '0123456789abcdef0123456789abcdef\n' })
    expect(computeFingerprint(roots, HOST, CPU)).toBe(UUID_FP)
  })

  it('empty_product_uuid_falls_through_to_machine_id', () => {
    expect(computeFingerprint(host({ [UUID_FILE]: '\n', [MACHINE_ID]: '0123456789abcdef0123456789abcdef' }), HOST, CPU)).toBe(SPEC_FP)
    expect(computeFingerprint(host({ [UUID_FILE]: '', [MACHINE_ID]: '0123456789abcdef0123456789abcdef' }), HOST, CPU)).toBe(SPEC_FP)
  })

  it('machine_id_not_32_chars_falls_through_to_boot_id (lower-cased)', () => {
    const boot = { [BOOT_ID]: '9F2C5A7E-1B3D-4E6F-8A9B-0C1D2E3F4A5B\n' }
    expect(computeFingerprint(host({ [MACHINE_ID]: '0123456789abcdef0123456789abcde\n', ...boot }), HOST, CPU)).toBe(BOOT_FP)
    // gopsutil strips only "\n": a CRLF or trailing space makes it 33 characters
    expect(computeFingerprint(host({ [MACHINE_ID]: '0123456789abcdef0123456789abcdef\r\n', ...boot }), HOST, CPU)).toBe(BOOT_FP)
    expect(computeFingerprint(host({ [MACHINE_ID]: '0123456789abcdef0123456789abcdef \n', ...boot }), HOST, CPU)).toBe(BOOT_FP)
  })

  it('machine-id is used as written (not lower-cased)', () => {
    const upper = host({ [MACHINE_ID]: '0123456789ABCDEF0123456789ABCDEF' })
    expect(hostId(upper)).toBe('01234567-89AB-CDEF-0123-456789ABCDEF')
  })

  it('no_host_id_uses_hostname_plus_cpu_model', () => {
    expect(computeFingerprint(host(), HOST, CPU)).toBe(HOST_CPU_FP)
  })

  it('non_unique_dmi_uuid_uses_hostname_plus_cpu_model (not machine-id)', () => {
    const roots = host({ [UUID_FILE]: '03000200-0400-0500-0006-000700080009\n', [MACHINE_ID]: '0123456789abcdef0123456789abcdef\n' })
    expect(computeFingerprint(roots, HOST, CPU)).toBe(HOST_CPU_FP)
    const upper = host({ [UUID_FILE]: '03000200-0400-0500-0006-000700080009'.toUpperCase() })
    expect(computeFingerprint(upper, HOST, CPU)).toBe(HOST_CPU_FP)
  })

  it('unreadable_product_uuid (a directory here) falls through', () => {
    const roots = host({ [MACHINE_ID]: '0123456789abcdef0123456789abcdef' })
    mkdirSync(join(roots.sys, 'class/dmi/id/product_uuid'), { recursive: true })
    expect(computeFingerprint(roots, HOST, CPU)).toBe(SPEC_FP)
  })

  it('this machine: 48 lower-case hex characters, stable', () => {
    const roots = { proc: '/proc', sys: '/sys', etc: '/etc' }
    const fp = computeFingerprint(roots, 'h', 'c')
    expect(fp).toMatch(/^[0-9a-f]{48}$/)
    expect(computeFingerprint(roots, 'h', 'c')).toBe(fp)
  })
})

describe('loadFingerprint', () => {
  const roots = () => host({ [MACHINE_ID]: '0123456789abcdef0123456789abcdef\n' })

  it('computes and saves: mode 0644, no trailing newline', () => {
    const data = dir('data')
    expect(loadFingerprint({ dataDir: data, roots: roots(), hostname: HOST, cpuModel: CPU, beszelDirs: [] })).toBe(SPEC_FP)
    expect(readFileSync(join(data, FINGERPRINT_FILE), 'utf8')).toBe(SPEC_FP)
    expect(statSync(join(data, FINGERPRINT_FILE)).mode & 0o777).toBe(0o644)
  })

  it('a stored fingerprint wins, trimmed; any content is accepted', () => {
    const data = dir('data', '  agent-fingerprint-1\n')
    expect(loadFingerprint({ dataDir: data, roots: roots(), hostname: HOST, cpuModel: CPU, beszelDirs: [] })).toBe('agent-fingerprint-1')
    expect(readFingerprintFile(data)).toBe('agent-fingerprint-1')
  })

  it('empty_fingerprint_file_treated_as_missing (0.18.4 rule)', () => {
    for (const content of ['', ' \n\t']) {
      const data = dir('data', content)
      expect(loadFingerprint({ dataDir: data, roots: roots(), hostname: HOST, cpuModel: CPU, beszelDirs: [] })).toBe(SPEC_FP)
      expect(readFileSync(join(data, FINGERPRINT_FILE), 'utf8')).toBe(SPEC_FP)
    }
  })

  it('beszel_fingerprint_migrated: used and copied into our data dir', () => {
    const data = dir('data')
    const beszel = dir('beszel', 'deadbeef-from-beszel\n')
    expect(loadFingerprint({ dataDir: data, roots: roots(), hostname: HOST, cpuModel: CPU, beszelDirs: [dir('missing-beszel'), beszel] })).toBe(
      'deadbeef-from-beszel',
    )
    expect(readFileSync(join(data, FINGERPRINT_FILE), 'utf8')).toBe('deadbeef-from-beszel')
    // Beszel's file is left as it was
    expect(readFileSync(join(beszel, FINGERPRINT_FILE), 'utf8')).toBe('deadbeef-from-beszel\n')
  })

  it('our stored fingerprint beats a Beszel one', () => {
    const data = dir('data', 'ours')
    expect(loadFingerprint({ dataDir: data, roots: roots(), hostname: HOST, cpuModel: CPU, beszelDirs: [dir('beszel', 'theirs')] })).toBe('ours')
  })

  it('an empty Beszel file is skipped', () => {
    const data = dir('data')
    expect(loadFingerprint({ dataDir: data, roots: roots(), hostname: HOST, cpuModel: CPU, beszelDirs: [dir('beszel', '\n')] })).toBe(SPEC_FP)
  })

  it('Beszel directories default to $HOME/.config/beszel from env', () => {
    const home = dir('home')
    mkdirSync(join(home, '.config', 'beszel'), { recursive: true })
    writeFileSync(join(home, '.config', 'beszel', FINGERPRINT_FILE), 'from-home-config')
    const data = dir('data')
    expect(loadFingerprint({ dataDir: data, roots: roots(), hostname: HOST, cpuModel: CPU, env: { HOME: home } })).toBe('from-home-config')
  })

  it('persist false writes nothing (fingerprint view)', () => {
    const data = dir('data')
    expect(loadFingerprint({ dataDir: data, roots: roots(), hostname: HOST, cpuModel: CPU, beszelDirs: [dir('b', 'x')], persist: false })).toBe('x')
    expect(loadFingerprint({ dataDir: data, roots: roots(), hostname: HOST, cpuModel: CPU, beszelDirs: [], persist: false })).toBe(SPEC_FP)
    expect(readdirSync(data)).toEqual([])
  })

  it('no data dir: computed, nothing saved', () => {
    expect(loadFingerprint({ roots: roots(), hostname: HOST, cpuModel: CPU, beszelDirs: [] })).toBe(SPEC_FP)
  })

  it('save_failure_only_warns', () => {
    const warnings: string[] = []
    const gone = join(tmp, 'does-not-exist', 'deeper')
    const fp = loadFingerprint({ dataDir: gone, roots: roots(), hostname: HOST, cpuModel: CPU, beszelDirs: [], onWarning: (m) => warnings.push(m) })
    expect(fp).toBe(SPEC_FP)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain('ENOENT')
  })

  it('resetFingerprint removes the file; missing file and no dir are fine', () => {
    const data = dir('data', 'old')
    resetFingerprint(data)
    expect(existsSync(join(data, FINGERPRINT_FILE))).toBe(false)
    resetFingerprint(data)
    resetFingerprint(undefined)
  })
})

describe('sonar-agent fingerprint', () => {
  function capture() {
    const out = { stdout: '', stderr: '' }
    return {
      out,
      stdout: { write: (t: string) => (out.stdout += t) },
      stderr: { write: (t: string) => (out.stderr += t) },
    }
  }

  function setup(files: Record<string, string> = { [MACHINE_ID]: '0123456789abcdef0123456789abcdef\n' }) {
    const roots = host(files)
    const home = dir('home')
    const env = { HOME: home, HOST_PROC: roots.proc, HOST_SYS: roots.sys, HOST_ETC: roots.etc }
    const context = { env, hostname: HOST, cpuModel: CPU, systemDataDir: join(dir('var'), 'sonar-agent'), defaultConfigFile: join(home, 'none.yml') }
    return { roots, home, env, context }
  }

  it('view prints the fingerprint without KEY and creates nothing', async () => {
    const { context } = setup()
    const io = capture()
    expect(await fingerprintCommand([], { ...context, ...io, beszelDirs: [] })).toBe(0)
    expect(io.out.stdout).toBe(`${SPEC_FP}\n`)
    expect(existsSync(context.systemDataDir)).toBe(false)
    expect(existsSync(join(context.env.HOME, '.config', 'sonar-agent'))).toBe(false)
    const again = capture()
    expect(await fingerprintCommand(['view'], { ...context, ...again, beszelDirs: [] })).toBe(0)
    expect(again.out.stdout).toBe(`${SPEC_FP}\n`)
  })

  it('view shows the stored fingerprint from DATA_DIR given in the config file', async () => {
    const { context, home } = setup()
    const data = dir('data', 'stored-fp\n')
    const file = join(home, 'config.yml')
    writeFileSync(file, `data_dir: ${data}\n`)
    const io = capture()
    expect(await fingerprintCommand(['view', '--config', file], { ...context, ...io, beszelDirs: [] })).toBe(0)
    expect(io.out.stdout).toBe('stored-fp\n')
  })

  it('reset deletes the stored file, saves and prints the new one', async () => {
    const { context, env } = setup()
    const data = dir('data', 'old-fp')
    const io = capture()
    expect(await fingerprintCommand(['reset'], { ...context, ...io, env: { ...env, DATA_DIR: data }, beszelDirs: [dir('beszel', 'beszel-fp')] })).toBe(0)
    expect(io.out.stdout).toBe(`${SPEC_FP}\n`)
    expect(io.out.stderr).toContain('reset')
    expect(readFileSync(join(data, FINGERPRINT_FILE), 'utf8')).toBe(SPEC_FP)
  })

  it('reset_not_undone_by_beszel_migration: the next view keeps the new one', async () => {
    const { context, env } = setup()
    const data = dir('data', 'old-fp')
    const beszelDirs = [dir('beszel', 'beszel-fp')]
    const ctx = { ...context, env: { ...env, DATA_DIR: data }, beszelDirs }
    await fingerprintCommand(['reset'], { ...ctx, ...capture() })
    const io = capture()
    await fingerprintCommand(['view'], { ...ctx, ...io })
    expect(io.out.stdout).toBe(`${SPEC_FP}\n`)
  })

  it('reset creates the data dir when none exists yet', async () => {
    const { context } = setup()
    const io = capture()
    expect(await fingerprintCommand(['reset'], { ...context, ...io, beszelDirs: [] })).toBe(0)
    expect(readFileSync(join(context.systemDataDir, FINGERPRINT_FILE), 'utf8')).toBe(SPEC_FP)
  })

  it('an unknown action is a usage error', async () => {
    const { context } = setup()
    await expect(fingerprintCommand(['show'], { ...context, ...capture() })).rejects.toThrow(UsageError)
    await expect(fingerprintCommand(['view', 'extra'], { ...context, ...capture() })).rejects.toThrow(UsageError)
  })
})
