/**
 * zod schemas for the engine JSON that enters the agent (list, one-shot stats, inspect). Only the
 * fields used are checked; the rest is ignored (engines add fields between versions). Counters
 * that are absent read as 0, as they do in the Go agent's structs.
 */
import { z } from 'zod'

const counter = z.number().nonnegative().catch(0).default(0)

export const ListedContainerSchema = z.object({
  Id: z.string().regex(/^[a-fA-F0-9]{12,64}$/),
  Names: z.array(z.string()).nullish(),
  Image: z.string().catch('').default(''),
  Status: z.string().catch('').default(''),
  Ports: z
    .array(z.object({ IP: z.string().nullish(), PublicPort: z.number().int().nonnegative().nullish() }))
    .nullish()
    .catch(null),
})
export type ListedContainer = z.output<typeof ListedContainerSchema>

/** The list as a whole must be an array; an entry that does not fit is dropped on its own. */
export const ContainerListSchema = z.array(z.unknown())

const networkCounters = z.object({ rx_bytes: counter, tx_bytes: counter })

export const StatsSchema = z.object({
  read: z.string().optional(),
  cpu_stats: z.object({
    cpu_usage: z.object({ total_usage: counter }),
    system_cpu_usage: counter,
    online_cpus: counter,
  }),
  memory_stats: z
    .object({
      usage: counter,
      stats: z.record(z.string(), z.number()).nullish().catch(null),
    })
    .catch({ usage: 0, stats: null })
    .default({ usage: 0, stats: null }),
  networks: z.record(z.string(), networkCounters).nullish().catch(null),
})
export type EngineStats = z.output<typeof StatsSchema>

export const InspectSchema = z.looseObject({
  Id: z.string(),
  Config: z.looseObject({}).nullish(),
})

export const VersionSchema = z.looseObject({
  Version: z.string().optional(),
  Components: z.array(z.looseObject({ Name: z.string().optional() })).nullish().catch(null),
})
