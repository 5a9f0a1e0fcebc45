/**
 * CBOR items as a tree the fuzzer can mutate, and a writer that can produce what a careful encoder
 * never does: heads wider than needed, indefinite lengths, declared lengths with nothing behind them,
 * invalid UTF-8, any tag or simple value. Independent of ts/protocol on purpose: the fuzzer must not
 * share the code it tests.
 */

/** Head argument width in bytes: 0 = in the initial byte. undefined = shortest. */
export type Width = 0 | 1 | 2 | 4 | 8

export type Item =
  | { k: 'uint'; v: bigint; w?: Width }
  /** the negative integer -1 - v */
  | { k: 'nint'; v: bigint; w?: Width }
  /** `chunks`: indefinite length, split before each of these offsets */
  | { k: 'bytes'; v: Uint8Array; chunks?: number[] }
  /** raw UTF-8 (or not) bytes */
  | { k: 'text'; v: Uint8Array; chunks?: number[] }
  | { k: 'array'; items: Item[]; indef?: boolean }
  | { k: 'map'; entries: [Item, Item][]; indef?: boolean }
  | { k: 'tag'; tag: bigint; item: Item }
  /** simple value 0–255 (20 false, 21 true, 22 null, 23 undefined) */
  | { k: 'simple'; v: number }
  | { k: 'float'; v: number; w: 2 | 4 | 8 }
  /** bytes written as they are (already broken, or a declared length with nothing behind it) */
  | { k: 'raw'; bytes: Uint8Array }

export const uint = (v: number | bigint, w?: Width): Item => (w === undefined ? { k: 'uint', v: BigInt(v) } : { k: 'uint', v: BigInt(v), w })
export const text = (s: string): Item => ({ k: 'text', v: Buffer.from(s, 'utf8') })
export const bytes = (v: Uint8Array): Item => ({ k: 'bytes', v })
export const bool = (v: boolean): Item => ({ k: 'simple', v: v ? 21 : 20 })
export const map = (entries: [Item, Item][], indef = false): Item => ({ k: 'map', entries, indef })
export const array = (items: Item[], indef = false): Item => ({ k: 'array', items, indef })
/** A map with unsigned-integer keys, in the order given. */
export const intMap = (entries: [number, Item][]): Item => map(entries.map(([key, value]) => [uint(key), value]))

const WIDTH_INFO: Record<Exclude<Width, 0>, number> = { 1: 24, 2: 25, 4: 26, 8: 27 }

function shortestWidth(v: bigint): Width {
  if (v < 24n) return 0
  if (v < 0x100n) return 1
  if (v < 0x1_0000n) return 2
  if (v < 0x1_0000_0000n) return 4
  return 8
}

/** A head; a requested width too narrow for the value falls back to the shortest. */
export function head(major: number, v: bigint, w?: Width): Buffer {
  const shortest = shortestWidth(v)
  const width = w === undefined || (w === 0 ? shortest !== 0 : w < shortest) ? shortest : w
  if (width === 0) return Buffer.from([(major << 5) | Number(v)])
  const out = Buffer.alloc(1 + width)
  out[0] = (major << 5) | WIDTH_INFO[width]
  let rest = v
  for (let i = width; i >= 1; i--) {
    out[i] = Number(rest & 0xffn)
    rest >>= 8n
  }
  return out
}

/** IEEE 754 half precision of `v`, or undefined when it is not exactly representable. */
export function toHalf(v: number): number | undefined {
  if (Number.isNaN(v)) return 0x7e00
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0
  const a = Math.abs(v)
  if (a === Infinity) return sign | 0x7c00
  if (a === 0) return sign
  // normal: 1.m × 2^e, e in [-14, 15], 10 mantissa bits; subnormal: m × 2^-24
  let e = Math.floor(Math.log2(a))
  if (a / 2 ** e >= 2) e += 1
  else if (a / 2 ** e < 1) e -= 1
  if (e >= -14 && e <= 15) {
    const m = a / 2 ** e - 1
    const bits = m * 1024
    if (Number.isInteger(bits)) return sign | ((e + 15) << 10) | bits
    return undefined
  }
  const sub = a / 2 ** -24
  return Number.isInteger(sub) && sub < 1024 ? sign | sub : undefined
}

function floatBytes(v: number, w: 2 | 4 | 8): Buffer {
  if (w === 2) {
    const half = toHalf(v)
    if (half !== undefined) return Buffer.from([0xf9, half >> 8, half & 0xff])
  }
  if (w <= 4 && (Number.isNaN(v) || Math.fround(v) === v)) {
    const out = Buffer.alloc(5)
    out[0] = 0xfa
    out.writeFloatBE(v, 1)
    return out
  }
  const out = Buffer.alloc(9)
  out[0] = 0xfb
  out.writeDoubleBE(v, 1)
  return out
}

function stringBytes(major: number, v: Uint8Array, chunks: number[] | undefined): Buffer[] {
  if (chunks === undefined) return [head(major, BigInt(v.length)), Buffer.from(v)]
  const cuts = [...new Set(chunks.filter((c) => c > 0 && c < v.length))].sort((a, b) => a - b)
  const parts: Buffer[] = [Buffer.from([(major << 5) | 31])]
  let from = 0
  for (const cut of [...cuts, v.length]) {
    parts.push(head(major, BigInt(cut - from)), Buffer.from(v.subarray(from, cut)))
    from = cut
  }
  parts.push(Buffer.from([0xff]))
  return parts
}

function write(item: Item, out: Buffer[]): void {
  switch (item.k) {
    case 'uint':
      out.push(head(0, item.v, item.w))
      return
    case 'nint':
      out.push(head(1, item.v, item.w))
      return
    case 'bytes':
      out.push(...stringBytes(2, item.v, item.chunks))
      return
    case 'text':
      out.push(...stringBytes(3, item.v, item.chunks))
      return
    case 'array':
      out.push(item.indef ? Buffer.from([0x9f]) : head(4, BigInt(item.items.length)))
      for (const child of item.items) write(child, out)
      if (item.indef) out.push(Buffer.from([0xff]))
      return
    case 'map':
      out.push(item.indef ? Buffer.from([0xbf]) : head(5, BigInt(item.entries.length)))
      for (const [key, value] of item.entries) {
        write(key, out)
        write(value, out)
      }
      if (item.indef) out.push(Buffer.from([0xff]))
      return
    case 'tag':
      out.push(head(6, item.tag))
      write(item.item, out)
      return
    case 'simple':
      out.push(item.v < 24 ? Buffer.from([0xe0 | item.v]) : Buffer.from([0xf8, item.v]))
      return
    case 'float':
      out.push(floatBytes(item.v, item.w))
      return
    case 'raw':
      out.push(Buffer.from(item.bytes))
      return
  }
}

export function encode(item: Item): Buffer {
  const out: Buffer[] = []
  write(item, out)
  return Buffer.concat(out)
}
