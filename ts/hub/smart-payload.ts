/**
 * A GetSmartData answer as a hub reads it: AgentResponse key 5, `map[string]SmartData` keyed by
 * serial (or `/dev/mmcblkN`, `mdraid:mdN`), and key 8 SmartComplete (spec data-model.md §1.10,
 * beszel-v0.18.md §4). Key 7 is not read: no agent sends it for SMART.
 */
import * as z from 'zod/mini'

export interface SmartAttributeJson {
  id?: number
  n: string
  v?: number
  w?: number
  t?: number
  rv: number
  rs?: string
  wf?: string
}

/** SmartData with its JSON names (mn model, sn serial, fv firmware, c capacity bytes, s status, dn disk, dt type, t °C, a attributes). */
export interface SmartDataJson {
  mn?: string
  sn?: string
  fv?: string
  c?: number
  s?: string
  dn?: string
  dt?: string
  t?: number
  a?: SmartAttributeJson[]
}

const text = z.string({ error: 'must be a text string' })
const uint = z.int({ error: 'must be an unsigned integer' }).check(z.nonnegative({ error: 'must be an unsigned integer' }))

/** Integer-keyed map → object of the named fields (unknown keys dropped, as Go does). */
function keyed<T>(names: Readonly<Record<number, readonly [string, z.ZodMiniType]>>) {
  return z.pipe(
    z.map(z.unknown(), z.unknown(), { error: 'must be a map with integer keys' }),
    z.transform((map: Map<unknown, unknown>, ctx) => {
      const out: Record<string, unknown> = {}
      for (const [key, value] of map) {
        const field = typeof key === 'number' ? names[key] : undefined
        if (!field) continue
        const parsed = field[1].safeParse(value)
        if (parsed.success) out[field[0]] = parsed.data
        else ctx.issues.push({ code: 'custom', message: `${field[0]} ${parsed.error.issues[0]?.message ?? 'is invalid'}`, input: value })
      }
      return out as T
    }),
  )
}

const ATTRIBUTE = keyed<SmartAttributeJson>({ 0: ['id', uint], 1: ['n', text], 2: ['v', uint], 3: ['w', uint], 4: ['t', uint], 5: ['rv', uint], 6: ['rs', text], 7: ['wf', text] })

const SMART_DATA = keyed<SmartDataJson>({
  1: ['mn', text],
  2: ['sn', text],
  3: ['fv', text],
  4: ['c', uint],
  5: ['s', text],
  6: ['dn', text],
  7: ['dt', text],
  8: ['t', uint],
  9: ['a', z.array(ATTRIBUTE, { error: 'must be an array' })],
})

const DEVICES = z.pipe(
  z.map(text, SMART_DATA, { error: 'must be a map with text keys' }),
  z.transform((m: Map<string, SmartDataJson>) => m),
)

export interface SmartAnswer {
  /** device key → data, in the agent's order */
  devices: Map<string, SmartDataJson>
  /** key 8: every discovered device was read */
  complete: boolean
}

export type SmartAnswerResult = { ok: true; answer: SmartAnswer } | { ok: false; message: string }

/** `response`: a decoded AgentResponse (protocol/envelope.ts), kept structural so the page can import the types here. */
export function decodeSmartAnswer(response: { fields: ReadonlyMap<number, unknown>; error: string | undefined }): SmartAnswerResult {
  if (response.error !== undefined) return { ok: false, message: response.error }
  const complete = response.fields.get(8) === true
  const value = response.fields.get(5)
  // an empty map is left out by the agent: the hub logs "no SMART data in response" and saves nothing
  if (value === undefined) return { ok: true, answer: { devices: new Map(), complete } }
  const parsed = DEVICES.safeParse(value)
  if (!parsed.success) return { ok: false, message: `bad SMART data: ${parsed.error.issues.map((i) => i.message).slice(0, 3).join('; ')}` }
  return { ok: true, answer: { devices: parsed.data, complete } }
}
