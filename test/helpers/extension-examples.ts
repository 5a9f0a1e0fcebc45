/**
 * The worked examples of SONAR's host actions in docs/extensions.md: the same RFC 8032 key as the hub
 * nonce's example, a fixed fingerprint, nonce and time, and one request and answer per action.
 */
import { createPrivateKey, sign } from 'node:crypto'
import { Encoder } from 'cbor-x'
import { signedMessage, type ExtensionAction } from '../../ts/extensions/wire.js'
import { encodeRequest, encodeResponse } from '../../ts/protocol/envelope.js'

// RFC 8032 §7.1 test 1, as in the hub nonce's example
export const SEED = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'
export const KEY_LINE = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea'
export const rfcKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(SEED, 'hex')]), format: 'der', type: 'pkcs8' })
export const EXAMPLE = {
  fingerprint: '53a43e9b5b0f4c2e8c8d3f9d6a1b7e2c4f0a9d8e7c6b5a4f3e2d1c0b9a8f7e6d',
  nonce: Buffer.from(Array.from({ length: 16 }, (_, i) => i)),
  /** 2026-12-02T12:00:00Z */
  timestampMs: 1_796_212_800_000,
}
const encoder = new Encoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false } as ConstructorParameters<typeof Encoder>[0])
const sha = (hex: string) => Buffer.from(hex, 'hex')
export const HELLO_SHA = '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03'

/** action → [params, answer under key 7] of the doc's examples */
export const EXAMPLES: [ExtensionAction, string, Map<number, unknown>, Map<number, unknown>][] = [
  [6, 'ExecuteCommand', new Map<number, unknown>([[0, 'disk-usage'], [1, new Map([['dir', 'log']])]]), new Map<number, unknown>([[0, 0], [1, ''], [2, Buffer.from('12M\t/var/log\n')], [3, Buffer.alloc(0)], [4, false], [5, false], [6, 14]])],
  [7, 'ListServices', new Map(), new Map<number, unknown>([[0, [new Map<number, unknown>([[0, 'nginx.service'], [1, 'loaded'], [2, 'active'], [3, 'running'], [4, 'nginx web server'], [5, true]])]]])],
  [8, 'GetServiceStatus', new Map<number, unknown>([[0, 'nginx.service']]), new Map<number, unknown>([[0, 'nginx.service'], [1, 'loaded'], [2, 'active'], [3, 'running'], [4, 'nginx web server'], [5, 'enabled'], [6, 812], [7, 1_796_200_000_000_000], [8, true]])],
  [9, 'PerformServiceAction', new Map<number, unknown>([[0, 'nginx.service'], [1, 'restart']]), new Map<number, unknown>([[0, 'nginx.service'], [1, 'restart'], [2, '/org/freedesktop/systemd1/job/4242'], [3, 'active']])],
  [10, 'ListFiles', new Map<number, unknown>([[0, 'logs'], [1, 'nginx']]), new Map<number, unknown>([[0, [new Map<number, unknown>([[0, 'access.log'], [1, 0], [2, 6], [3, 0o640], [4, 1_796_212_000_000]])]], [1, false]])],
  [11, 'ReadFile', new Map<number, unknown>([[0, 'logs'], [1, 'nginx/access.log']]), new Map<number, unknown>([[0, Buffer.from('hello\n')], [1, 6], [2, true], [3, sha(HELLO_SHA)]])],
  [12, 'WriteFile', new Map<number, unknown>([[0, 'conf'], [1, 'motd'], [2, Buffer.from('hello\n')], [3, Buffer.alloc(0)]]), new Map<number, unknown>([[0, 6], [1, sha(HELLO_SHA)]])],
  [13, 'DeleteFile', new Map<number, unknown>([[0, 'conf'], [1, 'motd'], [2, sha(HELLO_SHA)]]), new Map<number, unknown>([[0, true]])],
]

export function exampleFrames(action: ExtensionAction, params: Map<number, unknown>, answer: Map<number, unknown>) {
  const paramBytes = encoder.encode(params) as Buffer
  const message = signedMessage({ action, nonce: EXAMPLE.nonce, timestampMs: EXAMPLE.timestampMs, fingerprint: EXAMPLE.fingerprint, params: paramBytes })
  const signature = sign(null, message, rfcKey)
  // a BigInt: CBOR uint64 (a plain number this large would be encoded as a float)
  const envelope = new Map<number, unknown>([[0, paramBytes], [1, EXAMPLE.nonce], [2, BigInt(EXAMPLE.timestampMs)], [3, signature]])
  const request = encodeRequest({ action, data: envelope, id: action })
  const reply = encodeResponse(action, { kind: 'result', value: answer })
  return { paramBytes, message, signature, request, reply }
}

