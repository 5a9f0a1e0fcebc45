/** The dev hub's identity: made once, kept 0600, read back by OpenSSH, accepted by the agent's own checks. */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { agentInstructions, defaultHubDataDir, KEY_FILE, loadHubIdentity, signToken, TOKEN_FILE } from '../ts/hub/keys.js'
import { FingerprintPins, PINS_FILE } from '../ts/hub/pins.js'
import { parseAuthorizedKeys, verifyTokenSignature } from '../ts/identity/keys.js'

const dirs: string[] = []
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sonar-hub-keys-'))
  dirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe('dev hub identity', () => {
  it('creates the key pair and token once (mode 0600) and keeps them across restarts', async () => {
    const dir = join(tempDir(), 'nested', 'dev-hub')
    const first = await loadHubIdentity(dir)
    expect(statSync(join(dir, KEY_FILE)).mode & 0o777).toBe(0o600)
    expect(statSync(join(dir, TOKEN_FILE)).mode & 0o777).toBe(0o600)
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    expect(first.publicKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5[A-Za-z0-9+/]+=*$/)
    expect(first.token).toMatch(/^[0-9a-f-]{36}$/)
    const again = await loadHubIdentity(dir)
    expect(again.publicKey).toBe(first.publicKey)
    expect(again.token).toBe(first.token)
    expect(again.privateKey).toBe(first.privateKey)
  })

  it('OpenSSH reads the private key back to the same public key', async () => {
    const identity = await loadHubIdentity(tempDir())
    const derived = execFileSync('ssh-keygen', ['-y', '-f', join(identity.dataDir, KEY_FILE)], { encoding: 'utf8' }).trim()
    expect(derived.split(' ').slice(0, 2).join(' ')).toBe(identity.publicKey)
  })

  it('its token signature passes the agent’s KEY check (spec §2.6)', async () => {
    const identity = await loadHubIdentity(tempDir())
    const keys = parseAuthorizedKeys(identity.publicKey)
    const signature = signToken(identity.signingKey, identity.token)
    expect(signature).toHaveLength(64)
    expect(verifyTokenSignature(keys, identity.token, signature)).toBe(keys[0])
    expect(verifyTokenSignature(keys, `${identity.token}x`, signature)).toBeUndefined()
  })

  it('a corrupt key or token file is an error naming the file, not silently replaced', async () => {
    const dir = tempDir()
    writeFileSync(join(dir, KEY_FILE), 'not a key\n')
    await expect(loadHubIdentity(dir)).rejects.toThrow(new RegExp(`${KEY_FILE} is not an Ed25519 private key.*delete it`))
    const other = tempDir()
    writeFileSync(join(other, TOKEN_FILE), 'has spaces in it\n')
    await expect(loadHubIdentity(other)).rejects.toThrow(/token must be printable ASCII without spaces/)
  })

  it('a hand-written token is kept (trimmed)', async () => {
    const dir = tempDir()
    writeFileSync(join(dir, TOKEN_FILE), '  my-token  \n')
    expect((await loadHubIdentity(dir)).token).toBe('my-token')
  })

  it('prints KEY, TOKEN, HUB_URL and a ready run command', () => {
    const text = agentInstructions({ publicKey: 'ssh-ed25519 AAAA', token: 't-1' }, 'http://127.0.0.1:8090')
    expect(text).toContain('KEY="ssh-ed25519 AAAA"')
    expect(text).toContain('TOKEN=t-1')
    expect(text).toContain('HUB_URL=http://127.0.0.1:8090')
    expect(text).toContain(`KEY='ssh-ed25519 AAAA' TOKEN=t-1 HUB_URL=http://127.0.0.1:8090 node dist/bin.cjs run`)
  })

  it('the default folder follows XDG_DATA_HOME, else ~/.local/share', () => {
    expect(defaultHubDataDir({ XDG_DATA_HOME: '/x/data', HOME: '/home/u' })).toBe('/x/data/sonar-agent/dev-hub')
    expect(defaultHubDataDir({ HOME: '/home/u' })).toBe('/home/u/.local/share/sonar-agent/dev-hub')
  })

  it('pins the first fingerprint per token, refuses another, and remembers across loads', async () => {
    const dir = tempDir()
    const pins = await FingerprintPins.load(dir)
    expect(await pins.check('tok', 'fp-1')).toEqual({ accepted: true, firstContact: true })
    expect(await pins.check('tok', 'fp-1')).toEqual({ accepted: true, firstContact: false })
    expect(await pins.check('tok', 'fp-2')).toEqual({ accepted: false, reason: 'fingerprint mismatch' })
    const reloaded = await FingerprintPins.load(dir)
    expect(reloaded.get('tok')).toBe('fp-1')
    expect(statSync(join(dir, PINS_FILE)).mode & 0o777).toBe(0o600)
    writeFileSync(join(dir, PINS_FILE), '[1, 2]')
    await expect(FingerprintPins.load(dir)).rejects.toThrow(/not a \{token: fingerprint\} JSON object; delete it/)
    expect(readFileSync(join(dir, PINS_FILE), 'utf8')).toBe('[1, 2]')
  })
})
