/**
 * The SSH server's host key: Ed25519, generated once and kept in the data dir so the hub (or a
 * user's known_hosts) sees the same key across restarts. The Go agent made a fresh RSA key on every
 * start; hubs ignore host keys, but people pinning the agent with OpenSSH do not.
 *
 * ssh2 is loaded on demand: a host that never starts the SSH server never loads it.
 */
import { createHash, randomBytes } from 'node:crypto'
import { chmod, link, lstat, mkdir, readFile, unlink, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { ParsedKey } from 'ssh2'
import { silentLogger, type Logger } from '../log.js'

export interface HostKey {
  /** SSH key type, e.g. `ssh-ed25519`; also the server's only host-key algorithm */
  readonly type: string
  /** OpenSSH private key text, as ssh2 `hostKeys` takes it */
  readonly privateKey: string
  /** authorized_keys / known_hosts form: `<type> <base64 blob>` */
  readonly publicKey: string
  /** `SHA256:<base64>` as `ssh-keygen -l` prints it */
  readonly fingerprint: string
  /** where it is stored; undefined for an in-memory key */
  readonly path: string | undefined
}

/** The file name inside the data dir. */
export const HOST_KEY_FILE = 'ssh_host_ed25519_key'

type Ssh2Utils = typeof import('ssh2').utils

async function sshUtils(): Promise<Ssh2Utils> {
  const mod = await import('ssh2')
  // ssh2 is CommonJS: the namespace's default is module.exports
  return (mod.default ?? mod).utils
}

function describe(key: ParsedKey, text: string, path: string | undefined): HostKey {
  const blob = key.getPublicSSH()
  return {
    type: key.type,
    privateKey: text,
    publicKey: `${key.type} ${blob.toString('base64')}`,
    fingerprint: `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`,
    path,
  }
}

function parsePrivate(utils: Ssh2Utils, text: string): ParsedKey | undefined {
  const parsed = utils.parseKey(text)
  const key = Array.isArray(parsed) ? parsed[0] : parsed
  if (!key || key instanceof Error || key.getPrivatePEM() === null) return undefined
  return key
}

/** ssh2 drops a leading zero byte of the public key in about 1 in 200 keys it generates, and the
 * result does not parse back; such a key is thrown away and generated again. */
const GENERATE_ATTEMPTS = 20

function generate(utils: Ssh2Utils): { text: string; key: ParsedKey } {
  for (let attempt = 0; attempt < GENERATE_ATTEMPTS; attempt++) {
    const text = utils.generateKeyPairSync('ed25519', { comment: 'sonar-agent host key' }).private
    const key = parsePrivate(utils, text)
    if (key) return { text, key }
  }
  throw new Error(`ssh2 generated ${GENERATE_ATTEMPTS} unreadable host keys in a row`)
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

async function readExisting(utils: Ssh2Utils, path: string, logger: Logger): Promise<HostKey | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined
    throw error
  }
  const key = parsePrivate(utils, text)
  if (!key) {
    // Keep the bad file for inspection rather than silently destroying someone's key.
    const aside = `${path}.bad-${Date.now()}`
    logger.warn('SSH host key file is unreadable; moving it aside and generating a new one', { path, aside })
    await link(path, aside).catch(() => undefined)
    await unlink(path)
    return undefined
  }
  const mode = (await lstat(path)).mode & 0o777
  if ((mode & 0o077) !== 0) {
    logger.warn('SSH host key file was readable by others; restricting it to 0600', { path, mode: mode.toString(8) })
    await chmod(path, 0o600)
  }
  return describe(key, text, path)
}

/**
 * Loads the host key from `path`, or generates and stores one (mode 0600) when there is none.
 * `path` undefined, or a store that cannot be written: an in-memory key (logged), so SSH still works.
 * Two processes racing to create the file end up with the same key (create-if-absent via link).
 */
export async function loadHostKey(path: string | undefined, logger: Logger = silentLogger): Promise<HostKey> {
  const utils = await sshUtils()
  if (path === undefined) {
    const { text, key } = generate(utils)
    return describe(key, text, undefined)
  }
  let existing: HostKey | undefined
  try {
    existing = await readExisting(utils, path, logger)
  } catch (error) {
    logger.warn('cannot read the SSH host key; using an in-memory key until restart', {
      path,
      error: error instanceof Error ? error.message : String(error),
    })
    const { text, key } = generate(utils)
    return describe(key, text, undefined)
  }
  if (existing) return existing

  const { text, key } = generate(utils)
  const temp = join(dirname(path), `.${HOST_KEY_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 })
    await writeFile(temp, text, { mode: 0o600, flag: 'wx' })
    try {
      await link(temp, path)
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error
      // Someone else stored a key first: use theirs.
      const theirs = await readExisting(utils, path, logger)
      if (theirs) return theirs
      throw error
    }
    logger.info('generated SSH host key', { path, fingerprint: describe(key, text, path).fingerprint })
    return describe(key, text, path)
  } catch (error) {
    logger.warn('cannot store the SSH host key; using an in-memory key until restart', {
      path,
      error: error instanceof Error ? error.message : String(error),
    })
    return describe(key, text, undefined)
  } finally {
    await unlink(temp).catch(() => undefined)
  }
}
