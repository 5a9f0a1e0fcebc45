import { execFileSync } from 'node:child_process'
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ed25519Blob, formatAuthorizedKey, KeyParseError, parseAuthorizedKeys, verifyTokenSignature } from '../ts/identity/keys.js'

// RFC 8032 §7.1 test 1 and the spec's worked example (protocol.md §2.14 a).
const RFC_LINE = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea'
const RFC_PUBLIC = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'
const RFC_EMPTY_MESSAGE_SIG =
  'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'
const SPEC_TOKEN = '6f1c2b0e-1d3a-4b5c-8d9e-0f1a2b3c4d5e'
const SPEC_SIG =
  '82da8e128b7738e9b225a7081fccc51b1ddd33bab4b6b38f333ac0b8446b5586a52fc73cba0d6eda755139412c31673c009e77c9912c7a04233fd642dfb5c407'

function generated(comment = ''): { line: string; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519')
  const x = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url')
  return { line: `ssh-ed25519 ${ed25519Blob(x).toString('base64')}${comment ? ` ${comment}` : ''}`, privateKey }
}

const tmp = mkdtempSync(join(tmpdir(), 'sonar-keys-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('parseAuthorizedKeys', () => {
  it('parses the RFC 8032 test key line from the spec', () => {
    const [key, ...rest] = parseAuthorizedKeys(RFC_LINE)
    expect(rest).toEqual([])
    expect(key?.type).toBe('ssh-ed25519')
    expect(key?.publicKey.toString('hex')).toBe(RFC_PUBLIC)
    expect(key?.blob.toString('base64')).toBe(RFC_LINE.split(' ')[1])
    expect(key?.comment).toBe('')
    expect(key && formatAuthorizedKey(key)).toBe(RFC_LINE)
  })

  it('skips blank and # lines, keeps comments with spaces, accepts CRLF', () => {
    const a = generated('hub@example one')
    const text = `# hub keys\r\n\r\n${RFC_LINE} first hub\r\n   \n\t# indented comment\n${a.line}\n`
    const keys = parseAuthorizedKeys(text)
    expect(keys.map((k) => k.comment)).toEqual(['first hub', 'hub@example one'])
  })

  it('empty text gives no keys', () => {
    expect(parseAuthorizedKeys('')).toEqual([])
    expect(parseAuthorizedKeys('# only a comment\n\n')).toEqual([])
  })

  it('reads a key written by OpenSSH ssh-keygen', () => {
    const file = join(tmp, 'id_ed25519')
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'made by ssh-keygen', '-f', file])
    const line = readFileSync(`${file}.pub`, 'utf8')
    const [key] = parseAuthorizedKeys(line)
    expect(key?.comment).toBe('made by ssh-keygen')
    expect(key?.publicKey).toHaveLength(32)
  })

  it('other_key_type_rejected_with_line_and_type', () => {
    const file = join(tmp, 'id_ecdsa')
    execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-N', '', '-f', file])
    const ecdsa = readFileSync(`${file}.pub`, 'utf8').trim()
    const text = `${RFC_LINE}\n# c\n${ecdsa}\n`
    expect(() => parseAuthorizedKeys(text)).toThrow(KeyParseError)
    expect(() => parseAuthorizedKeys(text)).toThrow(/^line 3: key type ecdsa-sha2-nistp256 is not supported/)
    expect(() => parseAuthorizedKeys('ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ== x')).toThrow(/line 1: key type ssh-rsa/)
  })

  it('options_before_type_rejected', () => {
    expect(() => parseAuthorizedKeys(`from="10.0.0.1" ${RFC_LINE}`)).toThrow(/line 1: authorized_keys options before the key type/)
  })

  it('garbage_line_rejected', () => {
    expect(() => parseAuthorizedKeys('hello world')).toThrow(/line 1: not an authorized_keys line/)
  })

  it('bad_base64_rejected', () => {
    expect(() => parseAuthorizedKeys('ssh-ed25519')).toThrow(/line 1: .*no base64/)
    expect(() => parseAuthorizedKeys('ssh-ed25519 AAAA!!!!')).toThrow(/line 1: .*not valid base64/)
  })

  it('blob_type_mismatch_rejected (ssh-ed25519 label on an RSA blob)', () => {
    const rsaBlob = Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from('ssh-rsa'), Buffer.from([0, 0, 0, 1, 1])])
    expect(() => parseAuthorizedKeys(`ssh-ed25519 ${rsaBlob.toString('base64')}`)).toThrow(/malformed/)
  })

  it('truncated_blob_rejected', () => {
    const blob = Buffer.from(RFC_LINE.split(' ')[1] ?? '', 'base64')
    expect(() => parseAuthorizedKeys(`ssh-ed25519 ${blob.subarray(0, blob.length - 1).toString('base64')}`)).toThrow(/malformed/)
    expect(() => parseAuthorizedKeys(`ssh-ed25519 ${Buffer.concat([blob, Buffer.from([0])]).toString('base64')}`)).toThrow(/malformed/)
  })

  it('wrong_key_length_rejected', () => {
    const blob = ed25519Blob(Buffer.alloc(31, 1))
    expect(() => parseAuthorizedKeys(`ssh-ed25519 ${blob.toString('base64')}`)).toThrow(/31 bytes of key, expected 32/)
  })

  it('error_message_has_no_key_material', () => {
    const secretish = 'AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1'
    for (const line of [`ssh-ed25519 ${secretish}`, `ssh-rsa ${secretish}`, `junk ${secretish}`, `ssh-ed25519 ${secretish}!`]) {
      try {
        parseAuthorizedKeys(line)
        expect.unreachable()
      } catch (error) {
        expect((error as Error).message).not.toContain(secretish.slice(0, 20))
      }
    }
  })
})

describe('verifyTokenSignature', () => {
  const rfcKeys = parseAuthorizedKeys(RFC_LINE)

  it('verifies the spec worked example (RFC 8032 key 1 over the token)', () => {
    expect(verifyTokenSignature(rfcKeys, SPEC_TOKEN, Buffer.from(SPEC_SIG, 'hex'))).toBe(rfcKeys[0])
  })

  it('verifies the RFC 8032 test 1 vector (empty message)', () => {
    expect(verifyTokenSignature(rfcKeys, '', Buffer.from(RFC_EMPTY_MESSAGE_SIG, 'hex'))).toBe(rfcKeys[0])
  })

  it('rejects a signature over another token, a flipped bit, and wrong lengths', () => {
    const sig = Buffer.from(SPEC_SIG, 'hex')
    expect(verifyTokenSignature(rfcKeys, `${SPEC_TOKEN}x`, sig)).toBeUndefined()
    const flipped = Buffer.from(sig)
    flipped[10] = (flipped[10] ?? 0) ^ 1
    expect(verifyTokenSignature(rfcKeys, SPEC_TOKEN, flipped)).toBeUndefined()
    expect(verifyTokenSignature(rfcKeys, SPEC_TOKEN, sig.subarray(0, 63))).toBeUndefined()
    expect(verifyTokenSignature(rfcKeys, SPEC_TOKEN, Buffer.concat([sig, Buffer.from([0])]))).toBeUndefined()
    expect(verifyTokenSignature(rfcKeys, SPEC_TOKEN, new Uint8Array(0))).toBeUndefined()
    expect(verifyTokenSignature([], SPEC_TOKEN, sig)).toBeUndefined()
  })

  it('returns the matching key among several (any key in KEY may sign)', () => {
    const a = generated('a')
    const b = generated('b')
    const keys = parseAuthorizedKeys(`${a.line}\n${RFC_LINE} rfc\n${b.line}`)
    const token = 'token-é-ünïcode'
    const sigB = sign(null, Buffer.from(token, 'utf8'), b.privateKey)
    expect(verifyTokenSignature(keys, token, sigB)?.comment).toBe('b')
    const sigA = sign(null, Buffer.from(token, 'utf8'), a.privateKey)
    expect(verifyTokenSignature(keys, token, new Uint8Array(sigA))?.comment).toBe('a')
    // cached KeyObjects give the same answers the second time
    expect(verifyTokenSignature(keys, token, sigB)?.comment).toBe('b')
    expect(verifyTokenSignature(keys, SPEC_TOKEN, Buffer.from(SPEC_SIG, 'hex'))?.comment).toBe('rfc')
  })

  it('signature_from_unlisted_key_rejected', () => {
    const listed = generated()
    const other = generated()
    const keys = parseAuthorizedKeys(listed.line)
    expect(verifyTokenSignature(keys, 'tok', sign(null, Buffer.from('tok'), other.privateKey))).toBeUndefined()
  })

  it('small_order_public_key_does_not_throw', () => {
    // all-zero / identity-point keys: node may refuse to load or verify them; that must be "no match".
    const keys = parseAuthorizedKeys(
      [Buffer.alloc(32), Buffer.from('0100000000000000000000000000000000000000000000000000000000000000', 'hex')]
        .map((x) => `ssh-ed25519 ${ed25519Blob(x).toString('base64')}`)
        .join('\n'),
    )
    expect(verifyTokenSignature(keys, 'tok', Buffer.alloc(64))).toBeUndefined()
  })
})
