/**
 * The dev hub's side of a host action (docs/extensions.md "Host actions"): the page's JSON, checked
 * here, becomes the action's params map, which is encoded once, signed with the hub's Ed25519 key
 * over `signedMessage` (ts/extensions/wire.ts) and sent as the envelope under request key 1.
 *
 * Both maps are written by hand with the protocol's shortest-form heads: cbor-x would write the
 * millisecond timestamp (beyond 32 bits) as a float, and the agent expects an unsigned integer.
 */
import { randomBytes, sign, type KeyObject } from 'node:crypto'
import * as z from 'zod/mini'
import { SERVICE_ACTIONS } from '../../extensions/types.js'
import { NONCE_BYTES, signedMessage, type ExtensionAction } from '../../extensions/wire.js'
import { Action } from '../../protocol/actions.js'
import { encodeBytes, encodeText, encodeUint, MAJOR_MAP, writeHead } from '../../protocol/cbor.js'
import { RawCbor } from '../../protocol/envelope.js'
import type { ActionName, ActionRequestJson } from '../web/api-types.js'

/** The page's action names → their numbers (protocol/actions.ts). Writes and deletes are not offered. */
export const PAGE_ACTIONS = {
  ExecuteCommand: Action.ExecuteCommand,
  ListServices: Action.ListServices,
  GetServiceStatus: Action.GetServiceStatus,
  PerformServiceAction: Action.PerformServiceAction,
  ListFiles: Action.ListFiles,
  ReadFile: Action.ReadFile,
} as const satisfies Record<ActionName, ExtensionAction>

const text = (max: number) => z.string().check(z.maxLength(max))
const nonEmpty = (max: number) => z.string().check(z.minLength(1), z.maxLength(max))
const uint = z.int().check(z.nonnegative(), z.lte(Number.MAX_SAFE_INTEGER))
/** systemd's own limit for a unit name; paths as PATH_MAX */
const UNIT_MAX = 255
const PATH_MAX = 4096

export const ActionRequestSchema: z.ZodMiniType<ActionRequestJson> = z.discriminatedUnion('action', [
  z.strictObject({
    action: z.literal('ExecuteCommand'),
    id: nonEmpty(128),
    args: z.optional(
      z.record(nonEmpty(128), text(PATH_MAX)).check(z.refine((args) => Object.keys(args).length <= 64, { error: 'at most 64 slots' })),
    ),
  }),
  z.strictObject({ action: z.literal('ListServices') }),
  z.strictObject({ action: z.literal('GetServiceStatus'), unit: nonEmpty(UNIT_MAX) }),
  z.strictObject({ action: z.literal('PerformServiceAction'), unit: nonEmpty(UNIT_MAX), serviceAction: z.enum(SERVICE_ACTIONS) }),
  z.strictObject({ action: z.literal('ListFiles'), root: nonEmpty(256), path: z.optional(text(PATH_MAX)) }),
  z.strictObject({ action: z.literal('ReadFile'), root: nonEmpty(256), path: text(PATH_MAX), offset: z.optional(uint), length: z.optional(uint) }),
])

type ParamValue = string | number | ReadonlyMap<string, string>

/** One integer-keyed map, keys ascending, each value text, unsigned integer or a text → text map. */
function encodeMap(entries: readonly (readonly [number, ParamValue])[]): Buffer {
  const sorted = [...entries].sort(([a], [b]) => a - b)
  const parts: Buffer[] = [writeHead(MAJOR_MAP, sorted.length)]
  for (const [key, value] of sorted) {
    parts.push(encodeUint(key))
    if (typeof value === 'string') parts.push(encodeText(value))
    else if (typeof value === 'number') parts.push(encodeUint(value))
    else {
      parts.push(writeHead(MAJOR_MAP, value.size))
      for (const [name, slot] of value) parts.push(encodeText(name), encodeText(slot))
    }
  }
  return Buffer.concat(parts)
}

/** The action's number and its params map, as wire.ts's PARAMS read them. */
export function actionParams(request: ActionRequestJson): { action: ExtensionAction; params: Buffer } {
  const entries: [number, ParamValue][] = []
  switch (request.action) {
    case 'ExecuteCommand':
      entries.push([0, request.id])
      if (request.args && Object.keys(request.args).length > 0) entries.push([1, new Map(Object.entries(request.args))])
      break
    case 'ListServices':
      break
    case 'GetServiceStatus':
      entries.push([0, request.unit])
      break
    case 'PerformServiceAction':
      entries.push([0, request.unit], [1, request.serviceAction])
      break
    case 'ListFiles':
      entries.push([0, request.root])
      if (request.path !== undefined) entries.push([1, request.path])
      break
    case 'ReadFile':
      entries.push([0, request.root], [1, request.path])
      if (request.offset !== undefined) entries.push([2, request.offset])
      if (request.length !== undefined) entries.push([3, request.length])
      break
  }
  return { action: PAGE_ACTIONS[request.action], params: encodeMap(entries) }
}

export interface SignedAction {
  action: ExtensionAction
  /** request key 1, ready for encodeRequest */
  envelope: RawCbor
  params: Buffer
  nonce: Buffer
  timestampMs: number
  signature: Buffer
}

/**
 * Signs one request for the agent whose fingerprint CheckFingerprint returned; `nonce` and `now`
 * are for tests (a fresh random nonce and the clock otherwise).
 */
export function signAction(
  signingKey: KeyObject,
  fingerprint: string,
  request: { action: ExtensionAction; params: Buffer },
  options: { nonce?: Buffer; now?: number } = {},
): SignedAction {
  const nonce = options.nonce ?? randomBytes(NONCE_BYTES)
  const timestampMs = options.now ?? Date.now()
  const signature = sign(null, signedMessage({ action: request.action, nonce, timestampMs, fingerprint, params: request.params }), signingKey)
  const envelope = Buffer.concat([
    writeHead(MAJOR_MAP, 4),
    encodeUint(0),
    encodeBytes(request.params),
    encodeUint(1),
    encodeBytes(nonce),
    encodeUint(2),
    encodeUint(timestampMs),
    encodeUint(3),
    encodeBytes(signature),
  ])
  return { action: request.action, envelope: new RawCbor(envelope), params: request.params, nonce, timestampMs, signature }
}
