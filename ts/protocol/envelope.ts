/**
 * HubRequest / AgentResponse envelopes (spec protocol.md §2.9): integer-keyed CBOR maps.
 *
 * Requests are checked for well-formedness by hand before cbor-x decodes them, so anything a hub (or
 * an attacker in its place) sends ends as a HubRequest or a ProtocolError, never another exception.
 * Responses are written field by field in Go's order with shortest-form integers, and the native
 * core's CombinedData bytes are spliced in untouched: nothing is decoded and re-encoded on the way.
 */
import { Decoder, Encoder } from 'cbor-x'
import {
  CborFormatError,
  MAJOR_MAP,
  MAJOR_UINT,
  checkItem,
  encodeBool,
  encodeText,
  encodeUint,
  readHead,
  skipWellFormed,
  writeHead,
  type Head,
} from './cbor.js'

export interface HubRequest {
  action: number
  data: unknown
  id: number | undefined
}

/** A frame that is not a usable request. `id` is set when the frame's id could still be read. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError'
  constructor(
    message: string,
    readonly id?: number,
  ) {
    super(message)
  }
}

export type ResponseBody =
  | { kind: 'data'; cbor: Uint8Array } // key 1: CombinedData bytes from the native core, embedded as-is
  | { kind: 'fingerprint'; fingerprint: string; hostname?: string; port?: string; name?: string } // key 2
  | { kind: 'string'; text: string } // key 4
  | { kind: 'smart'; devices: Map<string, unknown>; complete?: boolean } // key 5 (+ key 8 when complete)
  | { kind: 'smartRaw'; cbor: Uint8Array; complete?: boolean } // key 5 as the native core encoded it (+ key 8 when complete); an empty map is omitted (Go omitempty)
  | { kind: 'service'; info: Map<string, unknown> } // key 6
  | { kind: 'serviceRaw'; cbor: Uint8Array } // key 6 as the native core encoded it
  | { kind: 'result'; value: Map<number, unknown> } // key 7: a SONAR host action's answer (docs/extensions.md)
  | { kind: 'error'; message: string } // key 3

/** Pre-encoded CBOR for a request's Data (Go's cbor.RawMessage): written as-is by encodeRequest. */
export class RawCbor {
  constructor(readonly bytes: Uint8Array) {}
}

/** The Go agent's (gws) read limit; larger frames are refused before any decoding. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024
export const MAX_UINT32 = 0xffff_ffff

export const RequestKey = { Action: 0, Data: 1, Id: 2 } as const
export const ResponseKey = {
  Id: 0,
  SystemData: 1,
  Fingerprint: 2,
  Error: 3,
  String: 4,
  SmartData: 5,
  ServiceInfo: 6,
  /** the generic data key (v0.18 hubs read it too); SONAR's host actions answer under it */
  Data: 7,
  SmartComplete: 8,
} as const

const decoder = new Decoder({ mapsAsObjects: false, int64AsNumber: true } as ConstructorParameters<typeof Decoder>[0])
// Byte strings must stay plain major-2 items (Go []byte), never tag 64.
const encoder = new Encoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false } as ConstructorParameters<
  typeof Encoder
>[0])

const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0
const isUint32 = (v: unknown): v is number => isUint(v) && v <= MAX_UINT32

/** Checks a frame is exactly one well-formed, tag-free CBOR item. */
function checkFrame(frame: Uint8Array): void {
  try {
    const end = checkItem(frame, 0)
    if (end !== frame.length) throw new CborFormatError(`${frame.length - end} trailing bytes after the CBOR item`)
  } catch (error) {
    throw new ProtocolError(`malformed CBOR: ${error instanceof Error ? error.message : String(error)}`)
  }
}

/**
 * The heads of the top-level values, by key, read by hand from a well-formed frame: keys must be
 * CBOR unsigned integers (Go keyasint), and cbor-x alone can't tell 0 from 0.0. A repeated key keeps
 * its last value, as cbor-x does.
 */
function topLevelHeads(frame: Uint8Array, what: 'request' | 'response'): Map<number, Head> {
  const head = readHead(frame, 0)
  if (head.major !== MAJOR_MAP) throw new ProtocolError(`${what} is not a CBOR map`)
  const heads = new Map<number, Head>()
  let at = head.next
  for (;;) {
    if (head.value < 0 ? frame[at] === 0xff : at >= frame.length) return heads
    const key = readHead(frame, at)
    if (key.major !== MAJOR_UINT) throw new ProtocolError(`${what} keys must be unsigned integers`)
    heads.set(key.value, readHead(frame, key.next))
    at = checkItem(frame, key.next)
  }
}

/** The id under `key`: absent, or a CBOR unsigned integer ≤ 2^32-1 (a float such as 1000.0 or -0.0 is not). */
function readId(heads: Map<number, Head>, key: number, what: 'request' | 'response'): number | undefined {
  const head = heads.get(key)
  if (head === undefined) return undefined
  if (head.major !== MAJOR_UINT || head.value > MAX_UINT32) throw new ProtocolError(`${what} id (key ${key}) is not a uint32`)
  return head.value
}

interface TopLevelMap {
  value: Map<unknown, unknown>
  /** each top-level value's head, by key */
  heads: Map<number, Head>
  id: number | undefined
}

/**
 * The id of a frame that is one well-formed CBOR item (RFC 8949, nothing more) whose top level is a
 * map: the last unsigned integer ≤ 2^32-1 under unsigned integer key `idKey`. Undefined for anything
 * else — bytes that are not one item cannot be trusted to say which request they were.
 */
function readableId(frame: Uint8Array, idKey: number): number | undefined {
  try {
    if (skipWellFormed(frame, 0) !== frame.length) return undefined
    const head = readHead(frame, 0)
    if (head.major !== MAJOR_MAP) return undefined
    let id: number | undefined
    let at = head.next
    for (let i = 0; head.value === -1 ? frame[at] !== 0xff : i < head.value; i++) {
      const key = readHead(frame, at)
      const valueAt = skipWellFormed(frame, at)
      if (key.major === MAJOR_UINT && key.value === idKey) {
        const value = readHead(frame, valueAt)
        id = value.major === MAJOR_UINT && value.value <= MAX_UINT32 ? value.value : undefined
      }
      at = skipWellFormed(frame, valueAt)
    }
    return id
  } catch {
    return undefined
  }
}

/**
 * One well-formed CBOR item that is a map with integer keys (requests and replies alike), with its
 * id read by hand first: a frame that is well-formed CBOR but outside what the agent accepts (tags,
 * duplicate keys, invalid UTF-8, deep nesting, text keys, what cbor-x refuses) is still answered
 * under that id.
 */
function decodeTopLevelMap(frame: Uint8Array, what: 'request' | 'response', idKey: number): TopLevelMap {
  const readable = readableId(frame, idKey)
  const withId = <T>(step: () => T): T => {
    try {
      return step()
    } catch (error) {
      if (error instanceof ProtocolError && error.id === undefined && readable !== undefined) throw new ProtocolError(error.message, readable)
      throw error
    }
  }
  withId(() => checkFrame(frame))
  const heads = withId(() => topLevelHeads(frame, what))
  const id = withId(() => readId(heads, idKey, what))
  let value: unknown
  try {
    value = decoder.decode(frame)
  } catch (error) {
    throw new ProtocolError(`malformed CBOR: ${error instanceof Error ? error.message : String(error)}`, id)
  }
  if (!(value instanceof Map)) throw new ProtocolError(`${what} is not a CBOR map`, id)
  return { value, heads, id }
}

/**
 * Decodes one hub request: `{0: action uint, 1?: data, 2?: id uint32}`. Unknown integer keys are
 * ignored, as Go's decoder does, so a newer hub's extra field cannot take the agent down.
 * Throws ProtocolError, and only ProtocolError, for anything else.
 */
export function decodeRequest(frame: Uint8Array): HubRequest {
  if (!(frame instanceof Uint8Array)) throw new ProtocolError('frame is not binary')
  if (frame.length === 0) throw new ProtocolError('empty frame')
  if (frame.length > MAX_FRAME_BYTES) throw new ProtocolError(`frame of ${frame.length} bytes exceeds ${MAX_FRAME_BYTES}`)
  const { value, heads, id } = decodeTopLevelMap(frame, 'request', RequestKey.Id)
  const action: unknown = value.get(RequestKey.Action)
  if (action === undefined) throw new ProtocolError('request has no action (key 0)', id)
  // as for the id, the head tells 1 from 1.0 (cbor-x decodes both to 1)
  if (!isUint(action) || heads.get(RequestKey.Action)?.major !== MAJOR_UINT) {
    throw new ProtocolError('request action (key 0) is not an unsigned integer', id)
  }
  return { action, data: value.get(RequestKey.Data), id }
}

function assertId(id: number | undefined): void {
  if (id !== undefined && !isUint32(id)) throw new RangeError(`response id ${String(id)} is not a uint32`)
}

function mapOf(entries: Buffer[][]): Buffer {
  return Buffer.concat([writeHead(MAJOR_MAP, entries.length), ...entries.flat()])
}

/** FingerprintResponse: key 0 always; hostname, port and name only when non-empty (Go omitempty). */
function fingerprintMap(body: Extract<ResponseBody, { kind: 'fingerprint' }>): Buffer {
  const entries: Buffer[][] = [[encodeUint(0), encodeText(body.fingerprint)]]
  const optional: [number, string | undefined][] = [
    [1, body.hostname],
    [2, body.port],
    [3, body.name],
  ]
  for (const [key, text] of optional) if (text) entries.push([encodeUint(key), encodeText(text)])
  return mapOf(entries)
}

/** The payload entries of an AgentResponse, keys ascending as Go declares them. */
function payloadEntries(body: ResponseBody): Buffer[][] {
  switch (body.kind) {
    case 'data':
      if (body.cbor.length === 0) throw new RangeError('empty CombinedData payload')
      return [[encodeUint(ResponseKey.SystemData), Buffer.from(body.cbor.buffer, body.cbor.byteOffset, body.cbor.length)]]
    case 'fingerprint':
      return [[encodeUint(ResponseKey.Fingerprint), fingerprintMap(body)]]
    case 'error':
      // an empty Error would be omitted by Go and leave the hub with an answer that says nothing
      return [[encodeUint(ResponseKey.Error), encodeText(body.message || 'error')]]
    case 'string':
      // a pointer in Go: "" is still written (an empty log is an answer)
      return [[encodeUint(ResponseKey.String), encodeText(body.text)]]
    case 'smart': {
      const entries = [[encodeUint(ResponseKey.SmartData), encoder.encode(body.devices)]]
      if (body.complete) entries.push([encodeUint(ResponseKey.SmartComplete), encodeBool(true)])
      return entries
    }
    case 'smartRaw': {
      // 0xa0 = empty map: Go leaves an empty SmartData map out of the reply; key 8 goes too, as a
      // hub does nothing with an empty answer, complete or not (spec v0.18 §4)
      if (body.cbor.length === 0 || (body.cbor.length === 1 && body.cbor[0] === 0xa0)) return []
      const entries = [[encodeUint(ResponseKey.SmartData), Buffer.from(body.cbor.buffer, body.cbor.byteOffset, body.cbor.length)]]
      if (body.complete) entries.push([encodeUint(ResponseKey.SmartComplete), encodeBool(true)])
      return entries
    }
    case 'service':
      return [[encodeUint(ResponseKey.ServiceInfo), encoder.encode(body.info)]]
    case 'result':
      return [[encodeUint(ResponseKey.Data), encoder.encode(body.value)]]
    case 'serviceRaw':
      return [[encodeUint(ResponseKey.ServiceInfo), Buffer.from(body.cbor.buffer, body.cbor.byteOffset, body.cbor.length)]]
  }
}

/** `{0: id, <key>: payload}`; key 0 is left out when `id` is undefined (SSH, legacy requests). */
export function encodeResponse(id: number | undefined, body: ResponseBody): Buffer {
  assertId(id)
  const entries = payloadEntries(body)
  if (id !== undefined) entries.unshift([encodeUint(ResponseKey.Id), encodeUint(id)])
  return mapOf(entries)
}

/**
 * The bare pre-0.13 payload (no envelope) for a request that carried no id over WebSocket, as the
 * Go agent sends it; undefined where that format has no way to say it (errors, other actions).
 */
export function encodeLegacyPayload(body: ResponseBody): Buffer | undefined {
  if (body.kind === 'data') return Buffer.from(body.cbor)
  if (body.kind === 'fingerprint') return fingerprintMap(body)
  return undefined
}

/**
 * A HubRequest as a Go hub writes it: Action, Data, Id in declaration order; Data and Id omitted
 * when undefined. Data is a generic value (Maps with integer keys, Buffers/Uint8Arrays as byte
 * strings, booleans, integers) encoded with cbor-x, or RawCbor bytes written as-is.
 */
export function encodeRequest(request: HubRequest): Buffer {
  if (!isUint(request.action)) throw new RangeError(`action ${String(request.action)} is not an unsigned integer`)
  assertId(request.id)
  const entries: Buffer[][] = [[encodeUint(RequestKey.Action), encodeUint(request.action)]]
  if (request.data !== undefined) {
    const data = request.data instanceof RawCbor ? Buffer.from(request.data.bytes) : encoder.encode(request.data)
    entries.push([encodeUint(RequestKey.Data), data])
  }
  if (request.id !== undefined) entries.push([encodeUint(RequestKey.Id), encodeUint(request.id)])
  return mapOf(entries)
}

/** An AgentResponse as the hub reads it; payloads decoded generically (Maps keep integer keys). */
export interface AgentResponse {
  id: number | undefined
  /** every key of the envelope, decoded (1: CombinedData Map, 2: FingerprintResponse Map, 3: text…) */
  fields: Map<number, unknown>
  error: string | undefined
}

/**
 * Hub side (test hub, dev tools): decodes one agent reply with the same well-formedness rules as
 * requests. Throws ProtocolError on anything that is not an integer-keyed map.
 */
export function decodeResponse(frame: Uint8Array): AgentResponse {
  const { value, id } = decodeTopLevelMap(frame, 'response', ResponseKey.Id)
  const fields = value as Map<number, unknown>
  const error = fields.get(ResponseKey.Error)
  return { id, fields, error: typeof error === 'string' ? error : undefined }
}
