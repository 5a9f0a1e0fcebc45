/**
 * The wire form of SONAR's host actions (6–13, docs/extensions.md "Host actions"): the signed
 * envelope under request key 1, the bytes its signature covers, and each action's parameters.
 *
 * Request key 1 is `{0: params, 1: nonce, 2: timestamp, 3: signature}`: `params` is a byte string
 * holding the action's own CBOR map, so the signature covers exactly the bytes that were sent (no
 * re-encoding, no canonical form to agree on). Unknown keys are refused here, unlike Beszel's
 * requests: a hub asking for something this agent does not understand must not get part of it.
 */
import { Decoder } from 'cbor-x'
import * as z from 'zod/mini'
import { SERVICE_ACTIONS, type CommandParams, type DeleteFileParams, type ListFilesParams, type ReadFileParams, type ServiceActionParams, type ServiceParams, type WriteFileParams } from './types.js'

/** The fixed start of every signed message (with a 0x00 after it). */
export const ACTION_DOMAIN_TAG = 'sonar-action-v1'
export const NONCE_BYTES = 16
export const SIGNATURE_BYTES = 64

export interface SignedParts {
  action: number
  nonce: Uint8Array
  /** Unix time in milliseconds, as the hub's clock says when it signs */
  timestampMs: number
  /** the agent's fingerprint, as CheckFingerprint returned it */
  fingerprint: string
  /** the exact bytes of envelope key 0 */
  params: Uint8Array
}

/**
 * The bytes the hub signs (Ed25519, RFC 8032, a key of the agent's KEY):
 *
 *     "sonar-action-v1" 0x00 | action (1 byte) | nonce (16) | timestamp ms (8, big-endian)
 *     | fingerprint length (1) | fingerprint (UTF-8) | params (the rest)
 *
 * Every field but the last has a fixed or stated length, so no two requests share a message.
 */
export function signedMessage(parts: SignedParts): Buffer {
  const fingerprint = Buffer.from(parts.fingerprint, 'utf8')
  if (fingerprint.length > 255) throw new RangeError('fingerprint longer than 255 bytes')
  if (parts.nonce.length !== NONCE_BYTES) throw new RangeError(`nonce must be ${NONCE_BYTES} bytes`)
  if (!Number.isSafeInteger(parts.timestampMs) || parts.timestampMs < 0) throw new RangeError('timestamp must be a non-negative integer')
  if (!Number.isInteger(parts.action) || parts.action < 0 || parts.action > 255) throw new RangeError('action must fit one byte')
  const head = Buffer.alloc(ACTION_DOMAIN_TAG.length + 1 + 1 + NONCE_BYTES + 8 + 1)
  let at = head.write(ACTION_DOMAIN_TAG, 0, 'latin1')
  head[at++] = 0
  head[at++] = parts.action
  head.set(parts.nonce, at)
  at += NONCE_BYTES
  head.writeBigUInt64BE(BigInt(parts.timestampMs), at)
  at += 8
  head[at] = fingerprint.length
  return Buffer.concat([head, fingerprint, parts.params])
}

export interface Envelope {
  params: Uint8Array
  nonce: Uint8Array
  timestampMs: number
  signature: Uint8Array
}

const bytes = (n: number | undefined, what: string) =>
  z.instanceof(Uint8Array, { error: `${what} must be a byte string` }).check(z.refine((b) => n === undefined || b.length === n, { error: `${what} must be ${n} bytes` }))

const envelopeSchema = z.map(z.number(), z.unknown(), { error: 'request key 1 must be the signed envelope map {0: params, 1: nonce, 2: timestamp, 3: signature}' })

/** Request key 1 of an action 6–13 → its parts, or the reason it is not a signed envelope. */
export function decodeEnvelope(data: unknown): { ok: true; envelope: Envelope } | { ok: false; message: string } {
  const map = envelopeSchema.safeParse(data)
  if (!map.success) return { ok: false, message: firstIssue(map.error) }
  const unknown = [...map.data.keys()].filter((k) => ![0, 1, 2, 3].includes(k))
  if (unknown.length) return { ok: false, message: `signed envelope has unknown key ${unknown.join(', ')}` }
  const parts = z
    .object({
      params: bytes(undefined, 'envelope key 0 (params)'),
      nonce: bytes(NONCE_BYTES, 'envelope key 1 (nonce)'),
      timestampMs: z.int({ error: 'envelope key 2 (timestamp) must be an unsigned integer (Unix ms)' }).check(z.nonnegative({ error: 'envelope key 2 (timestamp) must be an unsigned integer (Unix ms)' })),
      signature: bytes(SIGNATURE_BYTES, 'envelope key 3 (signature)'),
    })
    .safeParse({ params: map.data.get(0), nonce: map.data.get(1), timestampMs: map.data.get(2), signature: map.data.get(3) })
  return parts.success ? { ok: true, envelope: parts.data } : { ok: false, message: firstIssue(parts.error) }
}

// ---- parameters, one schema per action ----

const text = (what: string) => z.string({ error: `${what} must be a text string` })
const uint = (what: string) => z.int({ error: `${what} must be an unsigned integer` }).check(z.nonnegative({ error: `${what} must be an unsigned integer` }))
const sha256 = (what: string) => bytes(undefined, what).check(z.refine((b) => b.length === 0 || b.length === 32, { error: `${what} must be empty or 32 bytes (SHA-256)` }))

type Fields = Record<number, [string, z.ZodMiniType, boolean]>

/** `{key: [name, schema, required]}` → a schema for an integer-keyed map that refuses other keys. */
function params<T>(fields: Fields, shape: (o: Record<string, unknown>) => T): z.ZodMiniType<T> {
  return z.pipe(
    z.map(z.number(), z.unknown(), { error: 'params must be a map with unsigned integer keys' }),
    z.transform((map: Map<number, unknown>, ctx) => {
      const out: Record<string, unknown> = {}
      for (const key of map.keys()) {
        if (!(key in fields)) ctx.issues.push({ code: 'custom', message: `params have unknown key ${key}`, input: map })
      }
      for (const [key, [name, schema, required]] of Object.entries(fields)) {
        const value = map.get(Number(key))
        if (value === undefined) {
          if (required) ctx.issues.push({ code: 'custom', message: `params key ${key} (${name}) is missing`, input: map })
          continue
        }
        const parsed = schema.safeParse(value)
        if (parsed.success) out[name] = parsed.data
        else ctx.issues.push({ code: 'custom', message: firstIssue(parsed.error), input: value })
      }
      return shape(out)
    }),
  ) as unknown as z.ZodMiniType<T>
}

const slotValues = z.pipe(
  z.map(z.string(), z.string(), { error: 'params key 1 (args) must map text slot names to text values' }),
  z.transform((m: Map<string, string>) => m as ReadonlyMap<string, string>),
)

export const PARAMS = {
  6: params<CommandParams>({ 0: ['id', text('params key 0 (command id)'), true], 1: ['args', slotValues, false] }, (o) => ({
    id: o.id as string,
    args: (o.args as ReadonlyMap<string, string> | undefined) ?? new Map(),
  })),
  7: params<Record<string, never>>({}, () => ({})),
  8: params<ServiceParams>({ 0: ['unit', text('params key 0 (unit)'), true] }, (o) => ({ unit: o.unit as string })),
  9: params<ServiceActionParams>(
    {
      0: ['unit', text('params key 0 (unit)'), true],
      1: ['action', z.enum(SERVICE_ACTIONS, { error: `params key 1 (action) must be one of ${SERVICE_ACTIONS.join(', ')}` }), true],
    },
    (o) => ({ unit: o.unit as string, action: o.action as ServiceActionParams['action'] }),
  ),
  10: params<ListFilesParams>({ 0: ['root', text('params key 0 (root)'), true], 1: ['path', text('params key 1 (path)'), false] }, (o) => ({
    root: o.root as string,
    path: (o.path as string | undefined) ?? '',
  })),
  11: params<ReadFileParams>(
    {
      0: ['root', text('params key 0 (root)'), true],
      1: ['path', text('params key 1 (path)'), true],
      2: ['offset', uint('params key 2 (offset)'), false],
      3: ['length', uint('params key 3 (length)'), false],
    },
    (o) => ({ root: o.root as string, path: o.path as string, offset: (o.offset as number | undefined) ?? 0, ...(o.length === undefined ? {} : { length: o.length as number }) }),
  ),
  12: params<WriteFileParams>(
    {
      0: ['root', text('params key 0 (root)'), true],
      1: ['path', text('params key 1 (path)'), true],
      2: ['content', bytes(undefined, 'params key 2 (content)'), true],
      3: ['expectedSha256', sha256('params key 3 (expected SHA-256)'), false],
    },
    (o) => ({ root: o.root as string, path: o.path as string, content: o.content as Uint8Array, ...(o.expectedSha256 === undefined ? {} : { expectedSha256: o.expectedSha256 as Uint8Array }) }),
  ),
  13: params<DeleteFileParams>(
    {
      0: ['root', text('params key 0 (root)'), true],
      1: ['path', text('params key 1 (path)'), true],
      2: ['expectedSha256', sha256('params key 2 (expected SHA-256)').check(z.refine((b) => b.length === 32, { error: 'params key 2 (expected SHA-256) must be 32 bytes' })), false],
    },
    (o) => ({ root: o.root as string, path: o.path as string, ...(o.expectedSha256 === undefined ? {} : { expectedSha256: o.expectedSha256 as Uint8Array }) }),
  ),
} as const

export type ExtensionAction = keyof typeof PARAMS
export type ParamsOf<A extends ExtensionAction> = z.output<(typeof PARAMS)[A]>

/** integer keys stay numbers, maps stay Maps, byte strings stay bytes: the shapes the schemas expect */
const paramsDecoder = new Decoder({ mapsAsObjects: false, int64AsNumber: true } as ConstructorParameters<typeof Decoder>[0])

/** The params byte string of an envelope → the action's typed parameters, or why not. */
export function decodeParams<A extends ExtensionAction>(action: A, raw: Uint8Array): { ok: true; params: ParamsOf<A> } | { ok: false; message: string } {
  let value: unknown
  try {
    value = paramsDecoder.decode(raw)
  } catch (error) {
    return { ok: false, message: `params are not one CBOR item: ${error instanceof Error ? error.message : String(error)}` }
  }
  const parsed = (PARAMS[action] as z.ZodMiniType<ParamsOf<A>>).safeParse(value)
  return parsed.success ? { ok: true, params: parsed.data } : { ok: false, message: firstIssue(parsed.error) }
}

function firstIssue(error: { issues: readonly { message: string }[] }): string {
  return error.issues[0]?.message ?? 'invalid'
}
