/**
 * The frame fuzzer's cases: valid hub requests (spec protocol.md §2.9, §4) mutated the ways an
 * attacker or a broken hub would — truncations, wrong types, floats for integers, huge declared
 * lengths, indefinite lengths, tags, deep nesting, repeated keys, unknown actions, odd ids — plus
 * byte-level damage and plain random bytes. Case `i` of seed `s` is always the same frame.
 */
import { Rng } from './rng.js'
import { array, bool, bytes, encode, intMap, map, text, uint, type Item, type Width } from './cbor-tree.js'

export interface FuzzCase {
  index: number
  /** template and mutations, for the report of a failing case */
  kind: string
  /** a binary frame, or a text frame when `text` is set */
  frame: Buffer
  text?: string
}

/** Ids at or above this are the drivers' own (sentinel GetData); the generator's unique ids stay below. */
export const DRIVER_ID_BASE = 0xf000_0000
const UNIQUE_ID_BASE = 0x0010_0000

/** cacheTimeMs values: a few, as the core keeps baselines per distinct value (a separate issue). */
const CACHE_TIMES = [0, 1, 1000, 60_000, 65_535] as const
const EDGE_UINTS = [0n, 1n, 23n, 24n, 255n, 256n, 65_535n, 65_536n, 0x7fff_ffffn, 0xffff_ffffn, 0x1_0000_0000n, 2n ** 53n, 2n ** 64n - 1n] as const
const TAGS = [0n, 1n, 2n, 3n, 24n, 28n, 29n, 40n, 64n, 258n, 55_799n, 2n ** 32n, 2n ** 64n - 1n] as const
const BAD_UTF8 = [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xc0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]] as const
const WIDTHS: readonly Width[] = [1, 2, 4, 8]

type Template = (rng: Rng, id: Item) => { name: string; item: Item }

const hex = (rng: Rng, length: number) => rng.bytes(Math.ceil(length / 2)).toString('hex').slice(0, length)

const TEMPLATES: readonly (readonly [number, Template])[] = [
  [40, (rng, id) => {
    const data: [number, Item][] = [[0, uint(rng.pick(CACHE_TIMES))]]
    if (rng.chance(0.4)) data.push([1, bool(rng.chance(0.5))])
    return { name: 'GetData', item: intMap([[0, uint(0)], [1, intMap(data)], [2, id]]) }
  }],
  [2, (rng, id) => ({ name: 'CheckFingerprint', item: intMap([[0, uint(1)], [1, intMap([[0, bytes(rng.bytes(64))], [1, bool(rng.chance(0.5))]])], [2, id]]) })],
  [8, (rng, id) => {
    const containerId = rng.chance(0.7) ? hex(rng, rng.pick([12, 64])) : rng.pick(['../../etc/passwd', 'x', '', 'abc def 0123456789', '0'.repeat(65)])
    return { name: 'GetContainer', item: intMap([[0, uint(rng.pick([2, 3]))], [1, intMap([[0, text(containerId)]])], [2, id]]) }
  }],
  [6, (rng, id) => ({ name: 'GetSmartData', item: rng.chance(0.5) ? intMap([[0, uint(4)], [2, id]]) : intMap([[0, uint(4)], [1, intMap([])], [2, id]]) })],
  [6, (rng, id) => ({ name: 'GetSystemdInfo', item: intMap([[0, uint(5)], [1, intMap([[0, text(rng.pick(['nginx', 'sshd.service', '../x', 'a'.repeat(300), '']))]])], [2, id]]) })],
  [6, (rng, id) => ({ name: 'Extension', item: intMap([[0, uint(6 + rng.int(8))], [1, intMap([[0, text('ls /')]])], [2, id]]) })],
  [4, (rng, id) => ({ name: 'UnknownAction', item: intMap([[0, uint(rng.pick([14n, 100n, 255n, 65_535n, 0xffff_ffffn, 0x1_0000_0000n, 2n ** 64n - 1n]))], [1, intMap([[0, uint(1000)]])], [2, id]]) })],
]

/** A slot in the tree: the item there and a way to put another in its place. */
interface Slot {
  item: Item
  set(item: Item): void
  depth: number
}

function slots(root: { item: Item }): Slot[] {
  const out: Slot[] = []
  const visit = (item: Item, set: (item: Item) => void, depth: number): void => {
    out.push({ item, set, depth })
    if (item.k === 'array') item.items.forEach((child, i) => visit(child, (next) => (item.items[i] = next), depth + 1))
    else if (item.k === 'map') {
      item.entries.forEach((entry, i) => {
        visit(entry[0], (next) => (item.entries[i] = [next, entry[1]]), depth + 1)
        visit(entry[1], (next) => ((item.entries[i] as [Item, Item])[1] = next), depth + 1)
      })
    } else if (item.k === 'tag') visit(item.item, (next) => (item.item = next), depth + 1)
  }
  visit(root.item, (next) => (root.item = next), 0)
  return out
}

function edgeUint(rng: Rng): bigint {
  return rng.chance(0.8) ? rng.pick(EDGE_UINTS) : BigInt(rng.next())
}

export function randomItem(rng: Rng, depth = 0): Item {
  const kinds = depth >= 4 ? 6 : 9
  switch (rng.int(kinds)) {
    case 0:
      return uint(edgeUint(rng), rng.chance(0.2) ? rng.pick(WIDTHS) : undefined)
    case 1:
      return { k: 'nint', v: edgeUint(rng) }
    case 2:
      return bytes(rng.bytes(rng.int(16)))
    case 3:
      return text(rng.pick(['', 'a', 'nginx', 'ü→😀', 'x'.repeat(40)]))
    case 4:
      return { k: 'simple', v: rng.pick([20, 21, 22, 23]) }
    case 5:
      return { k: 'float', v: rng.pick([0, -0, 1.5, 1000, 60_000, Number.NaN, Infinity, -Infinity, 1e300, -1]), w: rng.pick([2, 4, 8] as const) }
    case 6:
      return array(Array.from({ length: rng.int(5) }, () => randomItem(rng, depth + 1)), rng.chance(0.2))
    case 7:
      return map(Array.from({ length: rng.int(5) }, (_, i) => [rng.chance(0.8) ? uint(i) : randomItem(rng, depth + 1), randomItem(rng, depth + 1)] as [Item, Item]), rng.chance(0.2))
    default:
      return { k: 'tag', tag: rng.pick(TAGS), item: randomItem(rng, depth + 1) }
  }
}

function nested(rng: Rng, levels: number): Item {
  let item: Item = uint(1000)
  for (let i = 0; i < levels; i++) item = rng.chance(0.5) ? array([item]) : intMap([[0, item]])
  return item
}

function floatFor(rng: Rng, value: bigint): Item {
  const v = value === 0n && rng.chance(0.5) ? -0 : Number(value)
  return { k: 'float', v, w: rng.pick([2, 4, 8] as const) }
}

/** A declared length (or count) far past the bytes that follow it. */
function hugeLength(rng: Rng, item: Item): Item {
  const major = item.k === 'bytes' ? 2 : item.k === 'text' ? 3 : item.k === 'array' ? 4 : item.k === 'map' ? 5 : rng.pick([2, 3, 4, 5])
  const length = rng.pick([0xffff_ffffn, 2n ** 53n, 2n ** 64n - 1n, 0x7fff_ffffn, 1_000_000n])
  const declared = Buffer.from(encode({ k: 'uint', v: length }))
  declared[0] = ((declared[0] ?? 0) & 0x1f) | (major << 5)
  return { k: 'raw', bytes: Buffer.concat([declared, rng.bytes(rng.int(8))]) }
}

type Mutation = (rng: Rng, root: { item: Item }) => string

const MUTATIONS: readonly (readonly [number, Mutation])[] = [
  [10, (rng, root) => {
    rng.pick(slots(root)).set(randomItem(rng, 3))
    return 'wrong-type'
  }],
  [8, (rng, root) => {
    const ints = slots(root).filter((s) => s.item.k === 'uint')
    if (ints.length === 0) return 'float-for-int(none)'
    const slot = rng.pick(ints)
    slot.set(floatFor(rng, (slot.item as { v: bigint }).v))
    return 'float-for-int'
  }],
  [6, (rng, root) => {
    const ints = slots(root).filter((s) => s.item.k === 'uint')
    if (ints.length === 0) return 'wide-head(none)'
    const slot = rng.pick(ints)
    slot.set(uint((slot.item as { v: bigint }).v, rng.pick(WIDTHS)))
    return 'wide-head'
  }],
  [8, (rng, root) => {
    const candidates = slots(root).filter((s) => ['array', 'map', 'bytes', 'text'].includes(s.item.k))
    if (candidates.length === 0) return 'indefinite(none)'
    const { item } = rng.pick(candidates)
    if (item.k === 'array' || item.k === 'map') item.indef = true
    else if (item.k === 'bytes' || item.k === 'text') item.chunks = Array.from({ length: rng.int(3) }, () => rng.int(item.v.length + 1))
    return `indefinite(${item.k})`
  }],
  [6, (rng, root) => {
    const slot = rng.pick(slots(root))
    slot.set({ k: 'tag', tag: rng.pick(TAGS), item: slot.item })
    return 'tag'
  }],
  [5, (rng, root) => {
    const levels = rng.pick([2, 30, 31, 32, 33, 40, 100, 500])
    const target = root.item.k === 'map' ? root.item.entries.find(([key]) => key.k === 'uint' && key.v === 1n) : undefined
    if (target) target[1] = nested(rng, levels)
    else rng.pick(slots(root)).set(nested(rng, levels))
    return `nested(${levels})`
  }],
  [8, (rng, root) => {
    const maps = slots(root).filter((s) => s.item.k === 'map' && s.item.entries.length > 0)
    if (maps.length === 0) return 'repeat-key(none)'
    const item = rng.pick(maps).item as Extract<Item, { k: 'map' }>
    const entry = rng.pick(item.entries)
    const key = rng.chance(0.3) && entry[0].k === 'uint' ? uint(entry[0].v, rng.pick(WIDTHS)) : entry[0]
    item.entries.splice(rng.int(item.entries.length + 1), 0, [key, rng.chance(0.5) ? entry[1] : randomItem(rng, 3)])
    return 'repeat-key'
  }],
  [5, (rng, root) => {
    if (root.item.k !== 'map' || root.item.entries.length === 0) return 'drop-key(none)'
    const [removed] = root.item.entries.splice(rng.int(root.item.entries.length), 1)
    return `drop-key(${removed?.[0].k === 'uint' ? String(removed[0].v) : '?'})`
  }],
  [5, (rng, root) => {
    if (root.item.k !== 'map') return 'extra-key(none)'
    const key = rng.chance(0.7) ? uint(rng.pick([3n, 7n, 8n, 99n, 0xffff_ffffn, 2n ** 64n - 1n])) : randomItem(rng, 3)
    root.item.entries.splice(rng.int(root.item.entries.length + 1), 0, [key, randomItem(rng, 2)])
    return 'extra-key'
  }],
  [6, (rng, root) => {
    const ints = slots(root).filter((s) => s.item.k === 'uint')
    if (ints.length === 0) return 'edge-int(none)'
    rng.pick(ints).set(rng.chance(0.8) ? uint(rng.pick(EDGE_UINTS)) : { k: 'nint', v: edgeUint(rng) })
    return 'edge-int'
  }],
  [5, (rng, root) => {
    const texts = slots(root).filter((s) => s.item.k === 'text')
    const bad = Buffer.from(rng.pick(BAD_UTF8))
    if (texts.length === 0) rng.pick(slots(root)).set({ k: 'text', v: bad })
    else {
      const item = rng.pick(texts).item as Extract<Item, { k: 'text' }>
      item.v = Buffer.concat([Buffer.from(item.v), bad])
    }
    return 'invalid-utf8'
  }],
  [4, (rng, root) => {
    rng.pick(slots(root)).set({ k: 'simple', v: rng.pick([0, 7, 19, 24, 31, 32, 100, 255]) })
    return 'simple-value'
  }],
  [5, (rng, root) => {
    const slot = rng.pick(slots(root).filter((s) => s.depth > 0).concat(slots(root).slice(0, 1)))
    slot.set(hugeLength(rng, slot.item))
    return 'huge-length'
  }],
  [6, (rng, root) => {
    if (root.item.k !== 'map') return 'action(none)'
    const entry = root.item.entries.find(([key]) => key.k === 'uint' && key.v === 0n)
    const value = rng.chance(0.7) ? uint(rng.pick([0n, 2n, 3n, 4n, 5n, 6n, 13n, 14n, 200n, 0xffff_ffffn, 2n ** 64n - 1n])) : randomItem(rng, 3)
    if (entry) entry[1] = value
    return 'action'
  }],
  [8, (rng, root) => {
    if (root.item.k !== 'map') return 'id(none)'
    const entry = root.item.entries.find(([key]) => key.k === 'uint' && key.v === 2n)
    const choice = rng.int(4)
    const value: Item =
      choice === 0 ? uint(rng.pick(EDGE_UINTS), rng.chance(0.3) ? rng.pick(WIDTHS) : undefined)
      : choice === 1 ? floatFor(rng, rng.pick([0n, 1000n, 0x10_0000n]))
      : choice === 2 ? { k: 'nint', v: edgeUint(rng) }
      : randomItem(rng, 3)
    if (entry) entry[1] = value
    return 'id'
  }],
]

type ByteMutation = (rng: Rng, frame: Buffer) => [string, Buffer]

const BYTE_MUTATIONS: readonly ByteMutation[] = [
  (rng, frame) => ['truncate', frame.subarray(0, rng.int(frame.length))],
  (rng, frame) => ['trailing', Buffer.concat([frame, rng.bytes(1 + rng.int(4))])],
  (rng, frame) => {
    const out = Buffer.from(frame)
    for (let i = 1 + rng.int(3); i > 0 && out.length > 0; i--) {
      const at = rng.int(out.length)
      out[at] = (out[at] ?? 0) ^ (1 << rng.int(8))
    }
    return ['bit-flip', out]
  },
  (rng, frame) => {
    const at = rng.int(frame.length + 1)
    return ['insert', Buffer.concat([frame.subarray(0, at), rng.bytes(1 + rng.int(4)), frame.subarray(at)])]
  },
  (rng, frame) => {
    const at = rng.int(frame.length)
    return ['delete', Buffer.concat([frame.subarray(0, at), frame.subarray(at + 1 + rng.int(3))])]
  },
]

/** Case `index` of the run seeded `seed`. */
export function fuzzCase(seed: number, index: number): FuzzCase {
  const rng = Rng.forCase(seed, index)
  const shape = rng.weighted<'valid' | 'structured' | 'bytes' | 'random-bytes' | 'random-item' | 'text'>([
    [8, 'valid'],
    [57, 'structured'],
    [20, 'bytes'],
    [7, 'random-bytes'],
    [6, 'random-item'],
    [2, 'text'],
  ])
  if (shape === 'random-bytes') return { index, kind: 'random-bytes', frame: rng.bytes(1 + rng.int(64)) }
  if (shape === 'text') {
    const value = rng.pick(['', '{"action":0}', 'GetData', '\u0000', 'ü'.repeat(50)])
    return { index, kind: 'text-frame', frame: Buffer.from(value), text: value }
  }
  const id = uint(UNIQUE_ID_BASE + index)
  if (shape === 'random-item') {
    const data = randomItem(rng)
    const item = rng.chance(0.7) ? intMap([[0, uint(rng.int(16))], [1, data], [2, id]]) : data
    return { index, kind: 'random-item', frame: encode(item) }
  }
  const template = rng.weighted(TEMPLATES)(rng, id)
  const root = { item: template.item }
  const names = [template.name]
  if (shape !== 'valid') {
    if (root.item.k === 'map' && rng.chance(0.2)) root.item.entries.reverse()
    for (let n = 1 + rng.int(shape === 'bytes' ? 2 : 3); n > 0; n--) names.push(rng.weighted(MUTATIONS)(rng, root))
  }
  let frame = encode(root.item)
  if (shape === 'bytes') {
    const [name, damaged] = rng.pick(BYTE_MUTATIONS)(rng, frame)
    names.push(name)
    frame = damaged
  }
  return { index, kind: names.join('+'), frame }
}
