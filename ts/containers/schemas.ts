/**
 * zod schemas for the engine JSON that enters the agent (list, one-shot stats, inspect). Only the
 * fields used are checked; the rest is ignored (engines add fields between versions). Counters
 * that are absent read as 0, as they do in the Go agent's structs.
 */
import * as z from 'zod/mini'

/** `schema`, with `fallback` both when absent and when it does not fit. */
function lenient<S extends z.ZodMiniType>(schema: S, fallback: z.core.util.NoUndefined<z.output<S>>) {
  return z._default(z.catch(schema, fallback), fallback)
}

const counter = lenient(z.number().check(z.nonnegative()), 0)

export const ListedContainerSchema = z.object({
  Id: z.string().check(z.regex(/^[a-fA-F0-9]{12,64}$/)),
  Names: z.nullish(z.array(z.string())),
  Image: lenient(z.string(), ''),
  Status: lenient(z.string(), ''),
  Ports: z.catch(z.nullish(z.array(z.object({ IP: z.nullish(z.string()), PublicPort: z.nullish(z.int().check(z.nonnegative())) }))), null),
  /** Docker API ≥ 1.52 only; Podman's list has no health */
  Health: z.catch(z.nullish(z.object({ Status: z.catch(z.nullish(z.string()), null) })), null),
})
export type ListedContainer = z.output<typeof ListedContainerSchema>

/** The list as a whole must be an array; an entry that does not fit is dropped on its own. */
export const ContainerListSchema = z.array(z.unknown())

const networkCounters = z.object({ rx_bytes: counter, tx_bytes: counter })

export const StatsSchema = z.object({
  read: z.optional(z.string()),
  cpu_stats: z.object({
    cpu_usage: z.object({ total_usage: counter }),
    system_cpu_usage: counter,
    online_cpus: counter,
  }),
  memory_stats: lenient(
    z.object({
      usage: counter,
      stats: z.catch(z.nullish(z.record(z.string(), z.number())), null),
    }),
    { usage: 0, stats: null },
  ),
  networks: z.catch(z.nullish(z.record(z.string(), networkCounters)), null),
})
export type EngineStats = z.output<typeof StatsSchema>

export const InspectSchema = z.looseObject({
  Id: z.string(),
  Config: z.nullish(z.looseObject({})),
})

export const VersionSchema = z.looseObject({
  Version: z.optional(z.string()),
  Components: z.catch(z.nullish(z.array(z.looseObject({ Name: z.optional(z.string()) }))), null),
})

/** What a container inspect says about health: Podman's list has none (podman#27786). */
export const HealthInspectSchema = z.object({
  State: z.catch(z.nullish(z.object({ Health: z.catch(z.nullish(z.object({ Status: z.catch(z.nullish(z.string()), null) })), null) })), null),
  Config: z.catch(z.nullish(z.object({ Healthcheck: z.catch(z.nullish(z.object({ Test: z.catch(z.nullish(z.array(z.string())), null) })), null) })), null),
})
