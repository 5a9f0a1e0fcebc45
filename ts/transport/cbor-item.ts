/**
 * Finds where the first CBOR item in a byte stream ends, fed chunk by chunk, without decoding it.
 * The SSH transport has no frames: a request is "one CBOR item on stdin", so the server needs to
 * know when it has a whole item (answer at once, even if the hub never closes stdin) and must not
 * hand trailing bytes to the strict decoder. Scanning is incremental: each byte is looked at once.
 */
import { CborFormatError, MAJOR_ARRAY, MAJOR_BYTES, MAJOR_MAP, MAJOR_TAG, MAJOR_TEXT, readHead, type Head } from '../protocol/cbor.js'

export type ScanResult =
  | { state: 'incomplete' }
  /** the first item is `bytes()[0, end)` */
  | { state: 'complete'; end: number }
  /** not well-formed CBOR (reserved header, stray break, too deep); the bytes so far are returned as-is */
  | { state: 'invalid' }
  /** the item claims or needs more than `limit` bytes */
  | { state: 'too-large' }

/** Nesting deeper than this is not a hub request. */
const MAX_DEPTH = 64
const INDEFINITE = Number.POSITIVE_INFINITY

export class CborItemScanner {
  private buffer: Buffer = Buffer.alloc(0)
  private length = 0
  private pos = 0
  /** items still expected in each open container (outermost first); INDEFINITE until a break */
  private readonly expected: number[] = [1]
  private result: ScanResult = { state: 'incomplete' }

  constructor(private readonly limit: number) {}

  /** Everything received so far. */
  bytes(): Buffer {
    return this.buffer.subarray(0, this.length)
  }

  get received(): number {
    return this.length
  }

  push(chunk: Uint8Array): ScanResult {
    if (this.result.state !== 'incomplete') return this.result
    if (this.length + chunk.length > this.limit) {
      this.result = { state: 'too-large' }
      return this.result
    }
    this.append(chunk)
    this.result = this.scan()
    return this.result
  }

  private append(chunk: Uint8Array): void {
    const needed = this.length + chunk.length
    if (needed > this.buffer.length) {
      // Doubling keeps a flood of small packets linear.
      const grown = Buffer.alloc(Math.min(this.limit, Math.max(needed, this.buffer.length * 2, 4096)))
      this.buffer.copy(grown, 0, 0, this.length)
      this.buffer = grown
    }
    this.buffer.set(chunk, this.length)
    this.length = needed
  }

  private scan(): ScanResult {
    const buf = this.buffer
    const stack = this.expected
    while (stack.length > 0) {
      const top = stack.length - 1
      const remaining = stack[top] ?? 0
      if (remaining === 0) {
        stack.pop()
        continue
      }
      if (this.pos >= this.length) return { state: 'incomplete' }
      const initial = buf[this.pos] ?? 0
      if (initial === 0xff) {
        if (remaining !== INDEFINITE) return { state: 'invalid' }
        stack.pop()
        this.pos += 1
        continue
      }
      let head: Head
      try {
        head = readHead(buf, this.pos, this.length)
      } catch (error) {
        // a head cut off by the chunk boundary is completed by a later push; a reserved one never is
        if (error instanceof CborFormatError && error.truncated) return { state: 'incomplete' }
        return { state: 'invalid' }
      }
      const { major, info } = head
      const indefinite = info === 31
      if (indefinite && (major < MAJOR_BYTES || major > MAJOR_MAP)) return { state: 'invalid' }
      if (remaining !== INDEFINITE) stack[top] = remaining - 1
      this.pos = head.next
      switch (major) {
        case MAJOR_BYTES:
        case MAJOR_TEXT:
          if (indefinite) stack.push(INDEFINITE)
          else this.pos += head.value
          break
        case MAJOR_ARRAY:
          stack.push(indefinite ? INDEFINITE : head.value)
          break
        case MAJOR_MAP:
          stack.push(indefinite ? INDEFINITE : head.value * 2)
          break
        case MAJOR_TAG:
          stack.push(1)
          break
        default:
          // 0, 1 integers; 7 simple values and floats: the header holds everything
          break
      }
      if (this.pos > this.limit) return { state: 'too-large' }
      if (stack.length > MAX_DEPTH) return { state: 'invalid' }
    }
    return this.pos <= this.length ? { state: 'complete', end: this.pos } : { state: 'incomplete' }
  }
}
