/**
 * The agent's answer to a host action, as the page gets it: response key 7 (the result map with
 * integer keys, issue 11's tables) named and checked with zod, byte strings as base64 plus the text
 * where they are UTF-8; key 3 a refusal. Anything else is an answer this hub cannot read, and says so.
 * Keys this hub does not know are ignored, as a hub ignores a newer agent's additions.
 */
import * as z from 'zod/mini'
import type { ExtensionAction } from '../../extensions/wire.js'
import { ResponseKey, type AgentResponse } from '../../protocol/envelope.js'
import type { ActionResultJson, BytesJson, FileEntryJson, ServiceUnitJson } from '../web/api-types.js'

/** The generic data key of a v0.18 AgentResponse, which SONAR's actions answer under. */
export const RESULT_KEY = ResponseKey.Data
const ERROR_KEY = ResponseKey.Error

export class AnswerError extends Error {
  override readonly name = 'AnswerError'
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

export function bytesJson(bytes: Uint8Array): BytesJson {
  const out: BytesJson = { base64: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64'), length: bytes.length }
  try {
    out.text = utf8.decode(bytes)
  } catch {
    // binary: base64 only
  }
  return out
}

const text = z.string()
const bool = z.boolean()
const int = z.int()
const uint = z.int().check(z.nonnegative())
const num = z.number().check(z.nonnegative())
const byteString = z.custom<Uint8Array>((value) => value instanceof Uint8Array, { error: 'must be a byte string' })
const bytes = z.pipe(byteString, z.transform(bytesJson))
const hex = z.pipe(byteString, z.transform((b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex')))

type Shape = Record<string, readonly [key: number, schema: z.ZodMiniType, required: boolean]>
type Out<S extends Shape> = { [K in keyof S]: S[K][2] extends true ? z.output<S[K][1]> : z.output<S[K][1]> | undefined }

/** An integer-keyed CBOR map → an object with the names of `shape`; the path of a bad key in the message. */
function intMap<S extends Shape>(shape: S): z.ZodMiniType<Out<S>> {
  return z.pipe(
    z.map(z.number(), z.unknown()),
    z.transform((map: Map<number, unknown>, ctx) => {
      const out: Record<string, unknown> = {}
      for (const [name, [key, schema, required]] of Object.entries(shape)) {
        const value = map.get(key)
        if (value === undefined) {
          if (required) ctx.issues.push({ code: 'custom', message: `key ${key} (${name}) is missing`, input: map })
          continue
        }
        const parsed = schema.safeParse(value)
        if (parsed.success) out[name] = parsed.data
        else ctx.issues.push({ code: 'custom', message: `key ${key} (${name}): ${parsed.error.issues[0]?.message ?? 'invalid'}`, input: value })
      }
      return out as Out<S>
    }),
  ) as unknown as z.ZodMiniType<Out<S>>
}

const KINDS = ['file', 'directory', 'symlink', 'other'] as const

const unitSchema = intMap({
  unit: [0, text, true],
  loadState: [1, text, true],
  activeState: [2, text, true],
  subState: [3, text, true],
  description: [4, text, true],
  manageable: [5, bool, true],
})

const entrySchema = z.pipe(
  intMap({ name: [0, text, true], kind: [1, uint, true], size: [2, num, true], mode: [3, uint, true], mtimeMs: [4, num, true] }),
  z.transform((e): FileEntryJson => ({ ...e, kind: KINDS[e.kind] ?? 'other' })),
)

/** Each action's result map (issue 11), named as the page shows it. */
const RESULTS: Record<ExtensionAction, z.ZodMiniType<ActionResultJson> | undefined> = {
  6: z.pipe(
    intMap({
      exitStatus: [0, int, true],
      signal: [1, text, true],
      stdout: [2, bytes, true],
      stderr: [3, bytes, true],
      truncated: [4, bool, true],
      timedOut: [5, bool, true],
      durationMs: [6, num, true],
    }),
    z.transform((r): ActionResultJson => ({ action: 'ExecuteCommand', ...r })),
  ),
  7: z.pipe(
    intMap({ units: [0, z.array(unitSchema), true] }),
    z.transform((r): ActionResultJson => ({ action: 'ListServices', units: r.units as ServiceUnitJson[] })),
  ),
  8: z.pipe(
    intMap({
      unit: [0, text, true],
      loadState: [1, text, true],
      activeState: [2, text, true],
      subState: [3, text, true],
      description: [4, text, true],
      unitFileState: [5, text, true],
      mainPid: [6, uint, true],
      activeEnterUs: [7, num, true],
      manageable: [8, bool, true],
    }),
    z.transform((r): ActionResultJson => ({ action: 'GetServiceStatus', ...r })),
  ),
  9: z.pipe(
    intMap({ unit: [0, text, true], serviceAction: [1, text, true], job: [2, text, true], activeState: [3, text, true] }),
    z.transform((r): ActionResultJson => ({ action: 'PerformServiceAction', ...r })),
  ),
  10: z.pipe(
    intMap({ entries: [0, z.array(entrySchema), true], truncated: [1, bool, true] }),
    z.transform((r): ActionResultJson => ({ action: 'ListFiles', entries: r.entries as FileEntryJson[], truncated: r.truncated })),
  ),
  11: z.pipe(
    intMap({ data: [0, bytes, true], size: [1, num, true], eof: [2, bool, true], sha256: [3, hex, false] }),
    z.transform((r): ActionResultJson => ({ action: 'ReadFile', data: r.data, size: r.size, eof: r.eof, ...(r.sha256 === undefined ? {} : { sha256: r.sha256 }) })),
  ),
  // not offered by the page
  12: undefined,
  13: undefined,
}

export type ActionOutcome = { outcome: 'done'; result: ActionResultJson } | { outcome: 'refused'; message: string }

/** The agent's AgentResponse to one action → a result or a refusal; AnswerError for anything else. */
export function readAnswer(action: ExtensionAction, response: AgentResponse): ActionOutcome {
  const refusal = response.fields.get(ERROR_KEY)
  if (typeof refusal === 'string') return { outcome: 'refused', message: refusal }
  const data = response.fields.get(RESULT_KEY)
  if (data === undefined) {
    const keys = [...response.fields.keys()].filter((k) => k !== 0)
    throw new AnswerError(`the agent answered action ${action} without a result (key 7) or a refusal (key 3)${keys.length ? `; keys: ${keys.join(', ')}` : ''}`)
  }
  const schema = RESULTS[action]
  if (!schema) throw new AnswerError(`this hub does not read answers to action ${action}`)
  const parsed = schema.safeParse(data)
  if (!parsed.success) throw new AnswerError(`the agent's result for action ${action} is not the documented map: ${parsed.error.issues[0]?.message ?? 'invalid'}`)
  return { outcome: 'done', result: parsed.data }
}
