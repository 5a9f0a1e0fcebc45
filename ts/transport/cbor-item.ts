/**
 * Finds where the first CBOR item in a byte stream ends, fed chunk by chunk, without decoding it.
 * The SSH transport has no frames: a request is "one CBOR item on stdin", so the server needs to
 * know when it has a whole item (answer at once, even if the hub never closes stdin) and must not
 * hand trailing bytes to the strict decoder. Scanning is incremental: each byte is looked at once.
 */

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
      const major = initial >> 5
      const info = initial & 0x1f
      const headerLength = info < 24 ? 1 : info === 24 ? 2 : info === 25 ? 3 : info === 26 ? 5 : info === 27 ? 9 : info === 31 ? 1 : 0
      if (headerLength === 0) return { state: 'invalid' }
      if (this.pos + headerLength > this.length) return { state: 'incomplete' }
      const argument = this.readArgument(info)
      const indefinite = info === 31
      if (indefinite && (major < 2 || major > 5)) return { state: 'invalid' }
      if (remaining !== INDEFINITE) stack[top] = remaining - 1
      this.pos += headerLength
      switch (major) {
        case 2:
        case 3:
          if (indefinite) stack.push(INDEFINITE)
          else this.pos += argument
          break
        case 4:
          stack.push(indefinite ? INDEFINITE : argument)
          break
        case 5:
          stack.push(indefinite ? INDEFINITE : argument * 2)
          break
        case 6:
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

  private readArgument(info: number): number {
    const at = this.pos + 1
    switch (info) {
      case 24:
        return this.buffer.readUInt8(at)
      case 25:
        return this.buffer.readUInt16BE(at)
      case 26:
        return this.buffer.readUInt32BE(at)
      case 27:
        // Beyond 2^53 the value is only compared with the limit, so precision does not matter.
        return Number(this.buffer.readBigUInt64BE(at))
      default:
        return info < 24 ? info : 0
    }
  }
}
