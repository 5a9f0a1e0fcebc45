/**
 * What the agent owes a frame, decided without the agent's code: an RFC 8949 (Appendix C)
 * well-formedness reader written for the fuzzer, and the envelope rules of spec protocol.md §2.9.
 *
 * - `must-answer`: one well-formed item inside the subset the agent documents it accepts (no tags,
 *   no repeated map keys, nesting ≤ 32, valid UTF-8, only false/true/null/undefined and floats as
 *   simple values), a map whose top-level keys are unsigned integers, key 2 once, an unsigned
 *   integer ≤ 2^32-1. The agent must answer `{0: id, …}`.
 * - `id-readable`: well-formed and with such an id, but outside that subset (the `outside` reasons).
 *   RFC 8949 still calls it well-formed; the fuzzer reports how many of these got an answer.
 * - `no-id`: everything else; any answer must still carry key 0 or be a bare legacy payload.
 */

export type Verdict = 'must-answer' | 'id-readable' | 'no-id'

export interface Analysis {
  verdict: Verdict
  /** one item, nothing after it, every rule of RFC 8949 Appendix C kept */
  wellFormed: boolean
  /** why it is not well-formed */
  malformed?: string
  /** the id the answer must carry (must-answer, id-readable) */
  id?: number
  /** every unsigned value ≤ 2^32-1 found under top-level key 2 before the reader stopped */
  idCandidates: number[]
  /** top-level key 0 when it is an unsigned integer */
  action?: bigint
  /** why a well-formed frame is outside the subset the agent accepts */
  outside: string[]
}

export const MAX_UINT32 = 0xffff_ffffn
/** The nesting the agent accepts (ts/protocol/cbor.ts MAX_DEPTH, documented in its check). */
export const MAX_DEPTH = 32

class NotWellFormed extends Error {}

interface Node {
  major: number
  /** the argument; null for indefinite length */
  arg: bigint | null
  start: number
  end: number
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

class Reader {
  pos = 0
  readonly outside = new Set<string>()
  /** top-level entries, recorded as they are read (so a frame cut short still shows its id) */
  readonly top: [Node, Node][] = []

  constructor(readonly buf: Uint8Array) {}

  private byte(): number {
    const b = this.buf[this.pos]
    if (b === undefined) throw new NotWellFormed('truncated')
    this.pos += 1
    return b
  }

  private head(): { major: number; info: number; arg: bigint | null; start: number } {
    const start = this.pos
    const initial = this.byte()
    const major = initial >> 5
    const info = initial & 0x1f
    if (info >= 28 && info <= 30) throw new NotWellFormed('reserved additional information')
    if (info === 31) return { major, info, arg: null, start }
    if (info < 24) return { major, info, arg: BigInt(info), start }
    const width = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : 8
    let arg = 0n
    for (let i = 0; i < width; i++) arg = (arg << 8n) | BigInt(this.byte())
    return { major, info, arg, start }
  }

  private remaining(): bigint {
    return BigInt(this.buf.length - this.pos)
  }

  private string(major: number, length: bigint): void {
    if (length > this.remaining()) throw new NotWellFormed('string longer than the frame')
    const from = this.pos
    this.pos += Number(length)
    if (major === 3) {
      try {
        utf8.decode(this.buf.subarray(from, this.pos))
      } catch {
        this.outside.add('invalid UTF-8')
      }
    }
  }

  /** One item at nesting `depth`; `top` records the entries of the top-level map. */
  item(depth: number, top = false): Node {
    if (depth > MAX_DEPTH) this.outside.add(`nested deeper than ${MAX_DEPTH}`)
    const h = this.head()
    const node = (): Node => ({ major: h.major, arg: h.arg, start: h.start, end: this.pos })
    switch (h.major) {
      case 0:
      case 1:
        if (h.arg === null) throw new NotWellFormed('indefinite-length integer')
        return node()
      case 2:
      case 3:
        if (h.arg !== null) {
          this.string(h.major, h.arg)
          return node()
        }
        for (;;) {
          if (this.buf[this.pos] === 0xff) {
            this.pos += 1
            return node()
          }
          const chunk = this.head()
          if (chunk.major !== h.major || chunk.arg === null) throw new NotWellFormed('bad chunk in an indefinite-length string')
          this.string(chunk.major, chunk.arg)
        }
      case 4: {
        if (h.arg === null) {
          while (!this.atBreak()) this.item(depth + 1)
          return node()
        }
        if (h.arg > this.remaining()) throw new NotWellFormed('array longer than the frame')
        for (let i = 0n; i < h.arg; i++) this.item(depth + 1)
        return node()
      }
      case 5: {
        const keys = new Set<string>()
        if (h.arg !== null) {
          if (h.arg * 2n > this.remaining()) throw new NotWellFormed('map longer than the frame')
          for (let i = 0n; i < h.arg; i++) this.entry(depth, keys, top)
          return node()
        }
        while (!this.atBreak()) this.entry(depth, keys, top)
        return node()
      }
      case 6:
        if (h.arg === null) throw new NotWellFormed('indefinite-length tag')
        this.outside.add('tag')
        this.item(depth, false)
        return node()
      default:
        if (h.info === 24) {
          if (h.arg !== null && h.arg < 32n) throw new NotWellFormed('two-byte simple value below 32')
          this.outside.add('unassigned simple value')
        } else if (h.info < 20) {
          this.outside.add('unassigned simple value')
        } else if (h.info === 31) {
          throw new NotWellFormed('break outside an indefinite-length item')
        }
        return node()
    }
  }

  /** A break ends the container; the end of the bytes before it is a truncation. */
  private atBreak(): boolean {
    if (this.pos >= this.buf.length) throw new NotWellFormed('truncated indefinite-length item')
    if (this.buf[this.pos] !== 0xff) return false
    this.pos += 1
    return true
  }

  private entry(depth: number, keys: Set<string>, top: boolean): void {
    const key = this.item(depth + 1)
    const keyBytes = Buffer.from(this.buf.subarray(key.start, key.end)).toString('latin1')
    if (keys.has(keyBytes)) this.outside.add('repeated map key')
    keys.add(keyBytes)
    if (this.buf[this.pos] === 0xff) throw new NotWellFormed('break where a map value belongs')
    const value = this.item(depth + 1)
    if (top) this.top.push([key, value])
  }
}

export function analyze(frame: Uint8Array): Analysis {
  const reader = new Reader(frame)
  let root: Node | undefined
  let malformed: string | undefined
  try {
    if (frame.length === 0) throw new NotWellFormed('empty frame')
    const first = frame[0] ?? 0
    root = reader.item(0, first >> 5 === 5)
    if (reader.pos !== frame.length) throw new NotWellFormed('bytes after the item')
  } catch (error) {
    if (!(error instanceof NotWellFormed)) throw error
    malformed = error.message
  }
  const idEntries = reader.top.filter(([key]) => key.major === 0 && key.arg === 2n)
  const idCandidates = idEntries.flatMap(([, value]) => (value.major === 0 && value.arg !== null && value.arg <= MAX_UINT32 ? [Number(value.arg)] : []))
  const actionEntry = reader.top.findLast(([key]) => key.major === 0 && key.arg === 0n)
  const action = actionEntry && actionEntry[1].major === 0 && actionEntry[1].arg !== null ? actionEntry[1].arg : undefined
  const outside = [...reader.outside]
  const base = { idCandidates, outside, ...(action === undefined ? {} : { action }) }
  if (malformed !== undefined || root === undefined) return { ...base, verdict: 'no-id', wellFormed: false, malformed: malformed ?? 'nothing read' }
  if (root.major !== 5 || idEntries.length === 0) return { ...base, verdict: 'no-id', wellFormed: true }
  if (reader.top.some(([key]) => key.major !== 0)) outside.push('top-level key not an unsigned integer')
  if (idEntries.length > 1) {
    outside.push('key 2 more than once')
    return { ...base, outside, verdict: 'no-id', wellFormed: true }
  }
  const id = idCandidates[0]
  if (id === undefined) return { ...base, outside, verdict: 'no-id', wellFormed: true }
  return { ...base, outside, id, verdict: outside.length === 0 ? 'must-answer' : 'id-readable', wellFormed: true }
}
