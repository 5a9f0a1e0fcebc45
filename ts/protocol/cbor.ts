/**
 * The small part of CBOR (RFC 8949) the envelope needs done by hand: a well-formedness check that
 * runs before cbor-x sees hub input, and shortest-form heads for writing Go-identical bytes.
 *
 * The check exists because cbor-x trusts declared lengths, recurses without a limit and turns tags
 * into objects (shared references, typed arrays, records); hub input is bounded here first so the
 * decoder only ever sees small, tag-free, complete items.
 */

/** Raised by the well-formedness check; the envelope turns it into a ProtocolError. */
export class CborFormatError extends Error {
  override readonly name = 'CborFormatError'

  /** `truncated`: the bytes end inside a head; a stream reader waits for more rather than giving up. */
  constructor(
    message: string,
    readonly truncated = false,
  ) {
    super(message)
  }
}

export const MAJOR_UINT = 0
export const MAJOR_NEGINT = 1
export const MAJOR_BYTES = 2
export const MAJOR_TEXT = 3
export const MAJOR_ARRAY = 4
export const MAJOR_MAP = 5
export const MAJOR_TAG = 6
export const MAJOR_SIMPLE = 7

const INDEFINITE = -1
const BREAK = 0xff

/** Nesting no hub request comes near (the deepest, CheckFingerprint, is 2 levels). */
export const MAX_DEPTH = 32

export interface Head {
  major: number
  /** the low five bits of the initial byte */
  info: number
  /** argument (length, count, value); INDEFINITE (-1) for indefinite-length items */
  value: number
  /** offset just after the head */
  next: number
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Reads the head (major type and argument) at `pos`, the one head reader for every CBOR reader here
 * (the envelope's check, the SSH stream scanner). `end` bounds the bytes received so far when `buf`
 * has spare room. Throws CborFormatError: `truncated` set when the head runs past `end`, unset for
 * reserved additional information (28–30). Values above 2^53 lose precision, which is fine: they
 * only get compared.
 */
export function readHead(buf: Uint8Array, pos: number, end = buf.length): Head {
  if (pos >= end) throw new CborFormatError('truncated CBOR item', true)
  const initial = buf[pos] as number
  const major = initial >> 5
  const info = initial & 0x1f
  const need = extraBytes(info)
  if (info >= 28 && info <= 30) throw new CborFormatError(`reserved CBOR additional information ${info}`)
  if (pos + 1 + need > end) throw new CborFormatError('truncated CBOR item', true)
  if (info === 31) return { major, info, value: INDEFINITE, next: pos + 1 }
  if (info < 24) return { major, info, value: info, next: pos + 1 }
  let value = 0
  for (let i = 1; i <= need; i++) value = value * 256 + (buf[pos + i] as number)
  return { major, info, value, next: pos + 1 + need }
}

/**
 * Checks the item at `pos` and returns the offset after it. Accepts what a Go hub can send:
 * integers, byte/text strings (text must be valid UTF-8), arrays, maps without duplicate keys,
 * false/true/null/undefined and floats, definite or indefinite length. Rejects tags, other simple
 * values, lengths beyond the buffer and nesting deeper than MAX_DEPTH.
 */
export function checkItem(buf: Uint8Array, pos: number, depth = 0): number {
  return walkItem(buf, pos, depth, STRICT)
}

/**
 * RFC 8949 well-formedness only (Appendix C): what the strict check refuses on purpose (tags,
 * duplicate keys, invalid UTF-8, unassigned simple values, deep nesting) is accepted, so a request
 * the agent will refuse can still have its id read and be answered. Returns the offset after the
 * item; throws CborFormatError for bytes that are not one well-formed item.
 */
export function skipWellFormed(buf: Uint8Array, pos: number, depth = 0): number {
  return walkItem(buf, pos, depth, WELL_FORMED)
}

/** What one walk over an item refuses beyond well-formedness. */
interface Rules {
  maxDepth: number
  /** refuse tags, invalid UTF-8 in text, duplicate map keys and simple values Go does not send */
  strict: boolean
}
const STRICT: Rules = { maxDepth: MAX_DEPTH, strict: true }
/** deep enough for anything a hub could mean, shallow enough for the recursion */
const WELL_FORMED: Rules = { maxDepth: 512, strict: false }

function walkItem(buf: Uint8Array, pos: number, depth: number, rules: Rules): number {
  if (depth > rules.maxDepth) throw new CborFormatError(`CBOR nested deeper than ${rules.maxDepth} levels`)
  const head = readHead(buf, pos)
  const remaining = buf.length - head.next
  switch (head.major) {
    case MAJOR_UINT:
    case MAJOR_NEGINT:
      if (head.value === INDEFINITE) throw new CborFormatError('indefinite-length integer')
      return head.next
    case MAJOR_BYTES:
    case MAJOR_TEXT:
      return head.value === INDEFINITE ? checkChunks(buf, head, rules) : checkString(buf, head, rules)
    case MAJOR_ARRAY: {
      if (head.value === INDEFINITE) return checkIndefinite(buf, head.next, depth, 1, rules)
      // every item takes at least one byte, so a count past the end is a lie told before allocating
      if (head.value > remaining) throw new CborFormatError('CBOR array longer than the frame')
      let at = head.next
      for (let i = 0; i < head.value; i++) at = walkItem(buf, at, depth + 1, rules)
      return at
    }
    case MAJOR_MAP: {
      if (head.value === INDEFINITE) return checkIndefinite(buf, head.next, depth, 2, rules)
      if (head.value * 2 > remaining) throw new CborFormatError('CBOR map longer than the frame')
      const keys = new Set<string>()
      let at = head.next
      for (let i = 0; i < head.value; i++) at = checkEntry(buf, at, depth, keys, rules)
      return at
    }
    case MAJOR_TAG:
      if (rules.strict) throw new CborFormatError('CBOR tags are not accepted in requests')
      if (head.value === INDEFINITE) throw new CborFormatError('indefinite-length tag')
      return walkItem(buf, head.next, depth + 1, rules)
    default:
      return checkSimple(head, rules)
  }
}

function checkString(buf: Uint8Array, head: Head, rules: Rules): number {
  const end = head.next + head.value
  if (end > buf.length) throw new CborFormatError('CBOR string longer than the frame')
  if (rules.strict && head.major === MAJOR_TEXT) {
    try {
      utf8.decode(buf.subarray(head.next, end))
    } catch {
      throw new CborFormatError('CBOR text is not valid UTF-8')
    }
  }
  return end
}

function checkChunks(buf: Uint8Array, head: Head, rules: Rules): number {
  let at = head.next
  for (;;) {
    if (at >= buf.length) throw new CborFormatError('truncated indefinite-length string')
    if (buf[at] === BREAK) return at + 1
    const chunk = readHead(buf, at)
    if (chunk.major !== head.major || chunk.value === INDEFINITE) {
      throw new CborFormatError('bad chunk in indefinite-length string')
    }
    at = checkString(buf, chunk, rules)
  }
}

function checkIndefinite(buf: Uint8Array, start: number, depth: number, perEntry: 1 | 2, rules: Rules): number {
  const keys = new Set<string>()
  let at = start
  for (;;) {
    if (at >= buf.length) throw new CborFormatError('truncated indefinite-length container')
    if (buf[at] === BREAK) return at + 1
    at = perEntry === 1 ? walkItem(buf, at, depth + 1, rules) : checkEntry(buf, at, depth, keys, rules)
  }
}

/** One key/value pair; strict walks compare keys by their encoded bytes. */
function checkEntry(buf: Uint8Array, at: number, depth: number, keys: Set<string>, rules: Rules): number {
  const keyEnd = walkItem(buf, at, depth + 1, rules)
  if (rules.strict) {
    const key = Buffer.from(buf.buffer, buf.byteOffset + at, keyEnd - at).toString('latin1')
    if (keys.has(key)) throw new CborFormatError('duplicate CBOR map key')
    keys.add(key)
  }
  return walkItem(buf, keyEnd, depth + 1, rules)
}

function checkSimple(head: Head, rules: Rules): number {
  const { info } = head
  if (info === 31) throw new CborFormatError('unexpected CBOR break')
  if (info >= 20 && info <= 23) return head.next // false, true, null, undefined
  if (info >= 25 && info <= 27) return head.next // half, single, double float
  // a one-byte simple value below 32 is not well-formed (RFC 8949 §3.3); the others are unassigned
  if (info === 24 && head.value < 32) throw new CborFormatError('badly encoded simple value')
  if (rules.strict) throw new CborFormatError('unassigned CBOR simple value')
  return head.next
}

function extraBytes(info: number): number {
  return info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0
}

/** Shortest-form head, as Go's encoder writes it. */
export function writeHead(major: number, value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`CBOR argument out of range: ${value}`)
  const m = major << 5
  if (value < 24) return Buffer.from([m | value])
  if (value < 0x100) return Buffer.from([m | 24, value])
  if (value < 0x10000) {
    const out = Buffer.alloc(3)
    out[0] = m | 25
    out.writeUInt16BE(value, 1)
    return out
  }
  if (value < 0x100000000) {
    const out = Buffer.alloc(5)
    out[0] = m | 26
    out.writeUInt32BE(value, 1)
    return out
  }
  const out = Buffer.alloc(9)
  out[0] = m | 27
  out.writeBigUInt64BE(BigInt(value), 1)
  return out
}

export function encodeUint(value: number): Buffer {
  return writeHead(MAJOR_UINT, value)
}

export function encodeText(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8')
  return Buffer.concat([writeHead(MAJOR_TEXT, bytes.length), bytes])
}

export function encodeBytes(bytes: Uint8Array): Buffer {
  return Buffer.concat([writeHead(MAJOR_BYTES, bytes.length), bytes])
}

export function encodeBool(value: boolean): Buffer {
  return Buffer.from([value ? 0xf5 : 0xf4])
}
