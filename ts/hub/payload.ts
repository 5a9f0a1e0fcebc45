/**
 * CombinedData as an agent sends it (integer-keyed CBOR maps, spec data-model.md §1) → the JSON
 * names of index.d.ts, with key 3 (§1.8) as `services`. The keys, names and types come from the
 * core's own declaration (model.generated.ts, `npm run gen:model`); only Details (key 4,
 * beszel-v0.18.md §3.1) is declared elsewhere (details.ts) until the core declares it.
 *
 * Like the Go hub: unknown keys are dropped, a value of the wrong type rejects the whole payload
 * (with a message naming the key), and fields an agent left out take Go's zero value.
 */
import * as z from 'zod/mini'
import type { CombinedDataJson, DetailsJson, InfoJson, ServiceJson } from '../../index.js'
import { PAYLOAD_FIELDS, type PayloadName, type WireField, type WireType } from './model.generated.js'

type Field = readonly [name: string, schema: z.ZodMiniType]
type Table = Readonly<Record<number, Field>>

const num = z.number({ error: 'must be a number' })
const uint = z.int({ error: 'must be an unsigned integer' }).check(z.nonnegative({ error: 'must be an unsigned integer' }))
const text = z.string({ error: 'must be a text string' })
const bool = z.boolean({ error: 'must be a boolean' })
/** Go decodes both a byte string and an array of integers into byte arrays/slices. */
const byteList = z.union([z.pipe(z.instanceof(Uint8Array), z.transform((b: Uint8Array<ArrayBuffer>) => [...b])), z.array(uint)], { error: 'must be a byte string or an array of integers' })
/** CBOR maps come as Maps (text keys here); z.record would not see them. */
const textMap = <T extends z.ZodMiniType>(value: T) =>
  z.pipe(z.map(text, value, { error: 'must be a map with text keys' }), z.transform((m: Map<string, z.output<T>>) => Object.fromEntries(m) as Record<string, z.output<T>>))

/** Integer-keyed CBOR map → object with the table's names; `defaults` are Go's zero values. */
function struct(table: Table, defaults: Record<string, unknown>): z.ZodMiniType<Record<string, unknown>> {
  const integerKeyed = z.map(z.unknown(), z.unknown(), { error: 'must be a map with integer keys' })
  return z.pipe(integerKeyed, z.transform((map: Map<unknown, unknown>, ctx) => {
    const out: Record<string, unknown> = { ...structuredClone(defaults) }
    for (const [key, value] of map) {
      const field = typeof key === 'number' ? table[key] : undefined
      if (!field) continue
      const [name, schema] = field
      const parsed = schema.safeParse(value)
      if (parsed.success) out[name] = parsed.data
      else
        for (const issue of parsed.error.issues) {
          ctx.issues.push({ code: 'custom', message: issue.message, path: [`${key} (${name})`, ...issue.path], input: value })
        }
    }
    return out
  }))
}

/** What a value of the type must be, for messages. */
function noun(type: WireType): string {
  switch (type.kind) {
    case 'float':
      return 'a number'
    case 'uint':
      return 'an unsigned integer'
    case 'text':
      return 'a text string'
    case 'bool':
      return 'a boolean'
    case 'bytes':
      return 'a byte string or an array of integers'
    case 'tuple':
    case 'list':
      return type.of.kind === 'float' ? 'an array of numbers' : type.of.kind === 'uint' ? 'an array of integers' : 'an array'
    case 'map':
      return 'a map with text keys'
    case 'struct':
      return 'a map with integer keys'
    case 'nullable':
      return `${noun(type.of)} or null`
  }
}

/** The decoder of a wire type: the Go hub's rules, the messages naming what was expected. */
function decoder(type: WireType, expected = `must be ${noun(type)}`): z.ZodMiniType {
  switch (type.kind) {
    case 'float':
      return num
    case 'uint':
      return uint
    case 'text':
      return text
    case 'bool':
      return bool
    case 'bytes':
      return byteList
    case 'tuple': {
      const { len } = type
      return z.array(decoder(type.of), { error: expected }).check(z.refine((a) => a.length === len, { error: `must hold ${len} values` }))
    }
    case 'list':
      return z.array(decoder(type.of), { error: expected })
    case 'map':
      return textMap(decoder(type.of))
    case 'struct':
      return payload(type.name)
    case 'nullable':
      return z.nullable(decoder(type.of, expected))
  }
}

/** Go's zero value of a field the agent left out. */
function zero(type: WireType): unknown {
  switch (type.kind) {
    case 'float':
    case 'uint':
      return 0
    case 'text':
      return ''
    case 'bool':
      return false
    case 'bytes':
      return Array<number>(type.len ?? 0).fill(0)
    case 'tuple':
      return Array.from({ length: type.len }, () => zero(type.of))
    case 'list':
      return []
    case 'map':
      return {}
    case 'struct':
      return payload(type.name).parse(new Map())
    case 'nullable':
      return null
  }
}

function tableOf(fields: readonly WireField[]): Table {
  return Object.fromEntries(fields.map((f) => [f.key, [f.name, decoder(f.type)] as const]))
}

function table(name: PayloadName): Table {
  return tableOf(PAYLOAD_FIELDS[name])
}

/** The fields an agent always sends: absent, they take Go's zero value. */
function defaultsOf(fields: readonly WireField[]): Record<string, unknown> {
  return Object.fromEntries(fields.filter((f) => !f.optional).map((f) => [f.name, zero(f.type)]))
}

function defaults(name: PayloadName): Record<string, unknown> {
  return defaultsOf(PAYLOAD_FIELDS[name])
}

const decoders = new Map<PayloadName, z.ZodMiniType<Record<string, unknown>>>()

function payload(name: PayloadName): z.ZodMiniType<Record<string, unknown>> {
  let schema = decoders.get(name)
  if (!schema) {
    schema = struct(table(name), defaults(name))
    decoders.set(name, schema)
  }
  return schema
}

const COMBINED = payload('CombinedData')

/** The store and the page call the systemd list (JSON name `systemd`) `services`. */
export type HubPayload = Omit<CombinedDataJson, 'systemd'> & { services?: ServiceJson[] }

export type DecodeResult = { ok: true; data: HubPayload } | { ok: false; message: string }

/** A GetData answer as a hub reads it: the payload, and Details (key 4) when the agent sent them. */
export type AgentDataResult = { ok: true; data: HubPayload; details: DetailsJson | undefined } | { ok: false; message: string }

/** Decodes the value of AgentResponse key 1 (already CBOR-decoded: Maps with integer keys). */
export function decodeAgentData(value: unknown): AgentDataResult {
  const parsed = COMBINED.safeParse(value)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => (issue.path.length ? `key ${issue.path.map(String).join(' → ')} ${issue.message}` : issue.message))
    return { ok: false, message: `bad CombinedData: ${problems.slice(0, 3).join('; ')}` }
  }
  const { details, systemd, ...rest } = parsed.data as Record<string, unknown> & { details?: DetailsJson }
  // The table's names are index.d.ts's (both generated from the core; its own JSON is checked in test/hub-payload.test.ts).
  const data = (systemd === undefined ? rest : { ...rest, services: systemd }) as unknown as HubPayload
  return { ok: true, data, details }
}

/** The payload as one flat view: host facts from Details (key 4) fill the Info fields they replace. */
export function decodeCombinedData(value: unknown): DecodeResult {
  const decoded = decodeAgentData(value)
  if (!decoded.ok) return decoded
  if (decoded.details) fillFromDetails(decoded.data.info, decoded.details)
  return { ok: true, data: decoded.data }
}

/** Details field → the legacy Info field it replaced (§3.4). */
const INFO_OF_DETAILS: Readonly<Partial<Record<keyof DetailsJson, keyof InfoJson>>> = { Hostname: 'h', Kernel: 'k', Cores: 'c', Threads: 't', CpuModel: 'm', Os: 'os', Podman: 'p' }

function fillFromDetails(info: InfoJson, details: DetailsJson): void {
  const target = info as unknown as Record<string, unknown>
  for (const [field, name] of Object.entries(INFO_OF_DETAILS)) {
    const value = details[field as keyof DetailsJson]
    if (value === undefined || name === undefined) continue
    if (target[name] === undefined || target[name] === '' || target[name] === 0) target[name] = value
  }
}
