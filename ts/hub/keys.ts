/**
 * The dev hub's identity: an Ed25519 key pair (OpenSSH `id_ed25519`, as a Beszel hub keeps it) and
 * one registration token, created on first start and kept in the hub's data folder with mode 0600,
 * so an agent configured once keeps working across hub restarts.
 */
import { createPrivateKey, randomUUID, sign, type KeyObject } from 'node:crypto'
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import * as z from 'zod/mini'
import { hubNonceMessage } from '../identity/hub-nonce.js'

export const KEY_FILE = 'id_ed25519'
export const TOKEN_FILE = 'token'

export interface HubIdentity {
  dataDir: string
  /** OpenSSH private key text (ssh2's `privateKey` for dialing agents) */
  privateKey: string
  /** signs CheckFingerprint challenges */
  signingKey: KeyObject
  /** the agent's KEY: `ssh-ed25519 <base64>` */
  publicKey: string
  token: string
}

/** `$XDG_DATA_HOME/sonar-agent/dev-hub`, else `~/.local/share/sonar-agent/dev-hub`. */
export function defaultHubDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share')
  return join(base, 'sonar-agent', 'dev-hub')
}

type Ssh2Utils = typeof import('ssh2').utils

async function sshUtils(): Promise<Ssh2Utils> {
  // loaded on demand: the agent's own commands never pull ssh2 in through the CLI table
  const mod = await import('ssh2')
  return (mod.default ?? mod).utils
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined
    throw error
  }
}

/** Parses a stored key; undefined when it is not a usable Ed25519 private key. */
function parseKey(utils: Ssh2Utils, text: string): { signingKey: KeyObject; publicKey: string } | undefined {
  const parsed = utils.parseKey(text)
  const key = Array.isArray(parsed) ? parsed[0] : parsed
  if (!key || key instanceof Error || key.type !== 'ssh-ed25519') return undefined
  const pem = key.getPrivatePEM()
  if (!pem) return undefined
  return { signingKey: createPrivateKey(pem), publicKey: `${key.type} ${key.getPublicSSH().toString('base64')}` }
}

/** ssh2 drops a leading zero byte in about 1 in 200 generated keys, which then do not parse back. */
function generateKey(utils: Ssh2Utils): string {
  for (let attempt = 0; attempt < 20; attempt++) {
    const text = utils.generateKeyPairSync('ed25519', { comment: 'sonar dev hub' }).private
    if (parseKey(utils, text)) return text
  }
  throw new Error('ssh2 kept generating unreadable Ed25519 keys')
}

const TokenSchema = z.string().check(
  z.trim(),
  z.minLength(1, { error: 'is empty' }),
  z.refine((t) => Buffer.byteLength(t) <= 64, { error: 'is longer than 64 bytes (hubs refuse such tokens)' }),
  z.refine((t) => /^[\x21-\x7e]+$/.test(t), { error: 'must be printable ASCII without spaces (it travels in the X-Token header)' }),
)

/**
 * Loads the identity from `dataDir`, creating what is missing. A corrupt key or token file is an
 * error naming the file (deleting it makes a new one, and every agent then needs the new values).
 */
export async function loadHubIdentity(dataDir: string): Promise<HubIdentity> {
  const utils = await sshUtils()
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const keyPath = join(dataDir, KEY_FILE)
  let privateKey = await readOptional(keyPath)
  if (privateKey === undefined) {
    privateKey = await createOnce(keyPath, generateKey(utils))
  }
  await chmod(keyPath, 0o600)
  const key = parseKey(utils, privateKey)
  if (!key) throw new Error(`${keyPath} is not an Ed25519 private key in OpenSSH format; delete it to make a new one (agents then need the new KEY)`)

  const tokenPath = join(dataDir, TOKEN_FILE)
  let tokenText = await readOptional(tokenPath)
  if (tokenText === undefined) {
    tokenText = (await createOnce(tokenPath, `${randomUUID()}\n`)).trim()
  }
  await chmod(tokenPath, 0o600)
  const token = TokenSchema.safeParse(tokenText)
  if (!token.success) {
    throw new Error(`${tokenPath}: the token ${token.error.issues[0]?.message ?? 'is invalid'}; delete the file to make a new one`)
  }
  return { dataDir, privateKey, signingKey: key.signingKey, publicKey: key.publicKey, token: token.data }
}

/** CheckFingerprint's signature (spec §2.6): plain Ed25519 over the token's UTF-8 bytes. */
export function signToken(signingKey: KeyObject, token: string): Buffer {
  return sign(null, Buffer.from(token, 'utf8'), signingKey)
}

/**
 * CheckFingerprint's signature for one connection: over the nonce form (docs/extensions.md) when the
 * agent sent a nonce on SONAR's route, else over the bare token as a Beszel hub signs it.
 */
export function signHubChallenge(signingKey: KeyObject, token: string, nonce?: Uint8Array): Buffer {
  return nonce ? sign(null, hubNonceMessage(token, nonce), signingKey) : signToken(signingKey, token)
}

/** Shell-quotes a value for the printed command lines. */
function quote(value: string): string {
  return /^[A-Za-z0-9_./:@=+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`
}

/** The lines an agent needs, ready to paste: KEY, TOKEN, HUB_URL and a `sonar-agent run` command. */
export function agentInstructions(identity: Pick<HubIdentity, 'publicKey' | 'token'>, hubUrl: string): string {
  return [
    `KEY="${identity.publicKey}"`,
    `TOKEN=${identity.token}`,
    `HUB_URL=${hubUrl}`,
    '',
    'Start an agent against it:',
    `  KEY=${quote(identity.publicKey)} TOKEN=${quote(identity.token)} HUB_URL=${quote(hubUrl)} node dist/bin.cjs run`,
  ].join('\n')
}

/** Writes a new file, or — when another hub created it first — returns what that one wrote. */
async function createOnce(path: string, content: string): Promise<string> {
  try {
    await writeFile(path, content, { mode: 0o600, flag: 'wx' })
    return content
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    return readFile(path, 'utf8')
  }
}
