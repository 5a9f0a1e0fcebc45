/**
 * Action numbers (spec protocol.md §4, SONAR's 6–13) and the zod schemas that turn a request's
 * decoded Data (integer-keyed Maps from cbor-x) into typed objects.
 *
 * Types are strict — no coercion, a float or a string where Go declares uint16 fails — but integer
 * keys a schema does not know are dropped, as Go's decoder drops them, so an option a newer hub adds
 * to a request cannot turn every poll into an error.
 */
import * as z from 'zod/mini'

export const Action = {
  GetData: 0,
  CheckFingerprint: 1,
  GetContainerLogs: 2,
  GetContainerInfo: 3,
  GetSmartData: 4,
  GetSystemdInfo: 5,
  ExecuteCommand: 6,
  ListServices: 7,
  GetServiceStatus: 8,
  PerformServiceAction: 9,
  ListFiles: 10,
  ReadFile: 11,
  WriteFile: 12,
  DeleteFile: 13,
} as const

export type ActionName = keyof typeof Action
export type ActionNumber = (typeof Action)[ActionName]

const NAMES = new Map<number, ActionName>(Object.entries(Action).map(([name, n]) => [n, name as ActionName]))

export function actionName(action: number): ActionName | undefined {
  return NAMES.get(action)
}

export function isKnownAction(action: number): action is ActionNumber {
  return NAMES.has(action)
}

/** SONAR's host-control actions: recognised, and refused until a later issue enables them. */
export function isExtensionAction(action: number): boolean {
  return action >= Action.ExecuteCommand && action <= Action.DeleteFile
}

/** Docker's id form; v0.18.4+ agents and hubs refuse anything else (it ends up in an API URL). */
export const CONTAINER_ID = /^[a-fA-F0-9]{12,64}$/
/** systemd unit-name characters (systemd.unit(5)), at most 255 of them. */
export const UNIT_NAME = /^[A-Za-z0-9:_.\\@-]{1,255}$/

/** An integer-keyed CBOR map as an object keyed "0", "1", … for z.object. */
const intKeyed = z.pipe(
  z.map(z.int({ error: 'is not an unsigned integer key' }).check(z.nonnegative({ error: 'is not an unsigned integer key' })), z.unknown(), {
    error: (issue) => (issue.input === undefined ? 'Data (request key 1) is missing' : 'Data must be a map with unsigned integer keys'),
  }),
  z.transform((map: Map<number, unknown>) => Object.fromEntries(map) as Record<string, unknown>),
)

const uint16 = z.int({ error: 'must be an unsigned 16-bit integer' }).check(z.gte(0, { error: 'must be an unsigned 16-bit integer' }), z.lte(0xffff, { error: 'must be an unsigned 16-bit integer' }))
const bool = z.boolean({ error: 'must be a boolean' })
const signature = z.instanceof(Uint8Array, { error: 'must be a byte string' }).check(z.refine((bytes) => bytes.length === 64, { error: 'must be 64 bytes (an Ed25519 signature)' }))
const containerId = z.string({ error: 'must be a text string' }).check(z.regex(CONTAINER_ID, { error: 'must be 12–64 hex digits (a container id)' }))
const unitName = z.string({ error: 'must be a text string' }).check(z.regex(UNIT_NAME, { error: 'must be a systemd unit name' }))

/**
 * Which Beszel hub generation a connection talks to, learnt from its GetData requests: a ≥ 0.18.0
 * hub always sends key 1 (IncludeDetails), a 0.17 hub never does (spec beszel-v0.18.md §2). It
 * decides the payload shape (Details, SmartComplete, the legacy Info fields); unknown until the
 * first GetData, and then treated as v0.17.
 */
export type HubDialect = 'v0.17' | 'v0.18'

export function dialectOf(options: GetDataOptions): HubDialect {
  return options.includeDetails === undefined ? 'v0.17' : 'v0.18'
}

export interface GetDataOptions {
  /** the hub's cache window: 60000 regular poll, 1000 realtime */
  cacheTimeMs: number
  /** v0.18 hubs: ask for the Details struct; undefined from v0.17 hubs */
  includeDetails: boolean | undefined
}

export interface FingerprintRequest {
  signature: Uint8Array
  needSysInfo: boolean
}

export interface ContainerRequest {
  containerId: string
}

export interface SystemdRequest {
  /** with `.service` appended when the hub sent a bare name, as the Go agent does */
  serviceName: string
}

/** The integer-keyed map, then its fields, then the typed request. */
function request<S extends z.ZodMiniType<object, Record<string, unknown>>, T>(fields: S, shape: (o: z.output<S>) => T) {
  return z.pipe(z.pipe(intKeyed, fields), z.transform(shape))
}

export const GetDataSchema = request(z.object({ '0': uint16, '1': z.optional(bool) }), (o): GetDataOptions => ({ cacheTimeMs: o['0'], includeDetails: o['1'] }))

export const CheckFingerprintSchema = request(z.object({ '0': signature, '1': bool }), (o): FingerprintRequest => ({ signature: o['0'], needSysInfo: o['1'] }))

export const ContainerSchema = request(z.object({ '0': containerId }), (o): ContainerRequest => ({ containerId: o['0'] }))

/** GetSmartData carries no Data; whatever a hub puts there is ignored, as Go does. */
export const SmartSchema = z.pipe(z.unknown(), z.transform((): undefined => undefined))

export const SystemdSchema = request(z.object({ '0': unitName }), (o): SystemdRequest => ({ serviceName: o['0'].endsWith('.service') ? o['0'] : `${o['0']}.service` }))

export const DataSchemas = {
  [Action.GetData]: GetDataSchema,
  [Action.CheckFingerprint]: CheckFingerprintSchema,
  [Action.GetContainerLogs]: ContainerSchema,
  [Action.GetContainerInfo]: ContainerSchema,
  [Action.GetSmartData]: SmartSchema,
  [Action.GetSystemdInfo]: SystemdSchema,
} as const

export type SchemaAction = keyof typeof DataSchemas
export type ActionData<A extends SchemaAction> = z.output<(typeof DataSchemas)[A]>

export type ParseResult<T> = { ok: true; data: T } | { ok: false; message: string }

/** Validates a request's Data for `action`; the message names the action, key and problem. */
export function parseActionData<A extends SchemaAction>(action: A, data: unknown): ParseResult<ActionData<A>> {
  const schema = DataSchemas[action] as unknown as z.ZodMiniType<ActionData<A>>
  const result = schema.safeParse(data)
  if (result.success) return { ok: true, data: result.data }
  const problems = result.error.issues.map((issue) =>
    issue.path.length > 0 ? `key ${issue.path.map(String).join('.')} ${issue.message}` : issue.message,
  )
  return { ok: false, message: `invalid ${actionName(action) ?? `action ${action}`} data: ${problems.join('; ')}` }
}
