/**
 * CombinedData as an agent sends it (integer-keyed CBOR maps, spec data-model.md §1) → the JSON
 * names of index.d.ts, plus `services` from key 3 (§1.8). The one key→name table of the hub side.
 *
 * Like the Go hub: unknown keys are dropped, a value of the wrong type rejects the whole payload
 * (with a message naming the key), and fields an agent left out take Go's zero value.
 */
import { z } from 'zod'
import type { CombinedDataJson, InfoJson } from '../../index.js'
import type { ServiceJson } from './store.js'

type Field = readonly [name: string, schema: z.ZodType]
type Table = Readonly<Record<number, Field>>

const num = z.number({ error: 'must be a number' })
const uint = z.int({ error: 'must be an unsigned integer' }).nonnegative('must be an unsigned integer')
const text = z.string({ error: 'must be a text string' })
const bool = z.boolean({ error: 'must be a boolean' })
/** Go decodes both a byte string and an array of integers into byte arrays/slices. */
const byteList = z.union([z.instanceof(Uint8Array).transform((b) => [...b]), z.array(uint)], { error: 'must be a byte string or an array of integers' })
const numList = z.array(num, { error: 'must be an array of numbers' })
const tuple = (n: number) => numList.refine((a) => a.length === n, `must hold ${n} numbers`)
/** CBOR maps come as Maps (text keys here); z.record would not see them. */
const textMap = <T extends z.ZodType>(value: T) =>
  z.map(text, value, { error: 'must be a map with text keys' }).transform((m) => Object.fromEntries(m) as Record<string, z.output<T>>)

/** Integer-keyed CBOR map → object with the table's names; `defaults` are Go's zero values. */
function struct(table: Table, defaults: Record<string, unknown>): z.ZodType<Record<string, unknown>> {
  return z.map(z.unknown(), z.unknown(), { error: 'must be a map with integer keys' }).transform((map, ctx) => {
    const out: Record<string, unknown> = { ...structuredClone(defaults) }
    for (const [key, value] of map) {
      const field = typeof key === 'number' ? table[key] : undefined
      if (!field) continue
      const [name, schema] = field
      const parsed = schema.safeParse(value)
      if (parsed.success) out[name] = parsed.data
      else
        for (const issue of parsed.error.issues) {
          ctx.addIssue({ code: 'custom', message: issue.message, path: [`${key} (${name})`, ...issue.path] })
        }
    }
    return out
  })
}

const FS_STATS = struct(
  { 0: ['d', num], 1: ['du', num], 2: ['r', num], 3: ['w', num], 6: ['rb', num], 7: ['wb', num], 8: ['dios', numList] },
  { d: 0, du: 0, r: 0, w: 0 },
)

const GPU = struct(
  { 0: ['n', text], 1: ['mu', num], 2: ['mt', num], 3: ['u', num], 4: ['p', num], 5: ['e', textMap(num)], 6: ['pp', num] },
  { n: '' },
)

const STATS = struct(
  {
    0: ['cpu', num],
    2: ['m', num],
    3: ['mu', num],
    4: ['mp', num],
    5: ['mb', num],
    6: ['mz', num],
    7: ['s', num],
    8: ['su', num],
    9: ['d', num],
    10: ['du', num],
    11: ['dp', num],
    12: ['dr', num],
    13: ['dw', num],
    16: ['ns', num],
    17: ['nr', num],
    20: ['t', textMap(num)],
    21: ['efs', textMap(FS_STATS)],
    22: ['g', textMap(GPU)],
    26: ['b', tuple(2)],
    28: ['la', tuple(3)],
    29: ['bat', byteList],
    31: ['ni', textMap(tuple(4))],
    32: ['dio', tuple(2)],
    33: ['cpub', numList],
    34: ['cpus', byteList],
    35: ['dios', numList],
    36: ['f', textMap(uint)],
    37: ['bats', textMap(uint)],
  },
  { cpu: 0, m: 0, mu: 0, mp: 0, mb: 0, d: 0, du: 0, dp: 0, dr: 0, dw: 0, ns: 0, nr: 0, la: [0, 0, 0] },
)

const INFO = struct(
  {
    0: ['h', text],
    1: ['k', text],
    2: ['c', uint],
    3: ['t', uint],
    4: ['m', text],
    5: ['u', uint],
    6: ['cpu', num],
    7: ['mp', num],
    8: ['dp', num],
    9: ['b', num],
    10: ['v', text],
    11: ['p', bool],
    12: ['g', num],
    13: ['dt', num],
    14: ['os', uint],
    15: ['l1', num],
    16: ['l5', num],
    17: ['l15', num],
    18: ['bb', uint],
    19: ['la', tuple(3)],
    20: ['ct', uint],
    21: ['efs', textMap(num)],
    22: ['sv', z.array(uint, { error: 'must be an array of integers' }).length(2, 'must hold [total, failed]')],
    23: ['bat', byteList],
  },
  { h: '', c: 0, m: '', u: 0, cpu: 0, mp: 0, dp: 0, b: 0, v: '', os: 0, bb: 0, la: [0, 0, 0] },
)

/** HEAD agents move host facts to Details (CombinedData key 4); the page still wants them in info. */
const DETAILS = struct({ 0: ['h', text], 1: ['k', text], 2: ['c', uint], 3: ['t', uint], 4: ['m', text], 5: ['os', uint] }, {})

const CONTAINER = struct(
  {
    0: ['n', text],
    1: ['c', num],
    2: ['m', num],
    3: ['ns', num],
    4: ['nr', num],
    5: ['health', uint],
    6: ['status', text],
    7: ['id', text],
    8: ['image', text],
    9: ['b', tuple(2)],
    10: ['ports', text],
  },
  { n: '', c: 0, m: 0, ns: 0, nr: 0, health: 0, status: '', id: '', image: '', ports: '' },
)

const SERVICE = struct(
  { 0: ['n', text], 1: ['s', uint], 2: ['c', num], 3: ['m', uint], 4: ['mp', uint], 5: ['ss', uint], 6: ['cp', num] },
  { n: '', s: 0, c: 0, m: 0, mp: 0, ss: 0, cp: 0 },
)

const COMBINED = struct(
  {
    0: ['stats', STATS],
    1: ['info', INFO],
    2: ['container', z.array(CONTAINER, { error: 'must be an array or null' }).nullable()],
    3: ['services', z.array(SERVICE, { error: 'must be an array' })],
    4: ['details', DETAILS],
  },
  { stats: STATS.parse(new Map()), info: INFO.parse(new Map()), container: null },
)

export type HubPayload = CombinedDataJson & { services?: ServiceJson[] }

export type DecodeResult = { ok: true; data: HubPayload } | { ok: false; message: string }

/** Decodes the value of AgentResponse key 1 (already CBOR-decoded: Maps with integer keys). */
export function decodeCombinedData(value: unknown): DecodeResult {
  const parsed = COMBINED.safeParse(value)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => (issue.path.length ? `key ${issue.path.map(String).join(' → ')} ${issue.message}` : issue.message))
    return { ok: false, message: `bad CombinedData: ${problems.slice(0, 3).join('; ')}` }
  }
  const { details, ...rest } = parsed.data as Record<string, unknown> & { details?: Record<string, unknown> }
  // The table's names are index.d.ts's: checked against the native core's own JSON in test/hub-payload.test.ts.
  const data = rest as unknown as HubPayload
  if (details) fillFromDetails(data.info, details)
  return { ok: true, data }
}

function fillFromDetails(info: InfoJson, details: Record<string, unknown>): void {
  const target = info as unknown as Record<string, unknown>
  for (const [name, value] of Object.entries(details)) {
    if (target[name] === undefined || target[name] === '' || target[name] === 0) target[name] = value
  }
}
