/**
 * Linux capabilities as /proc/self/status shows them, and which of them a CHILD (smartctl,
 * intel_gpu_top) keeps: a non-root process passes on only its ambient set; root passes on its
 * bounding set (a container's default bounding set lacks SYS_RAWIO and SYS_ADMIN).
 */
import { readFile } from 'node:fs/promises'

export const CAP = { SYS_RAWIO: 17, SYS_ADMIN: 21, PERFMON: 38 } as const
export type CapName = keyof typeof CAP

export interface CapabilitySets {
  effective: bigint
  bounding: bigint
  ambient: bigint
}

function field(status: string, name: string): bigint {
  const hex = new RegExp(`^${name}:\\s*([0-9a-f]+)$`, 'mi').exec(status)?.[1]
  return hex === undefined ? 0n : BigInt(`0x${hex}`)
}

export function parseCapabilities(status: string): CapabilitySets {
  return { effective: field(status, 'CapEff'), bounding: field(status, 'CapBnd'), ambient: field(status, 'CapAmb') }
}

export async function readCapabilities(procRoot = '/proc'): Promise<CapabilitySets | undefined> {
  try {
    return parseCapabilities(await readFile(`${procRoot}/self/status`, 'utf8'))
  } catch {
    return undefined
  }
}

export function has(set: bigint, cap: CapName): boolean {
  return ((set >> BigInt(CAP[cap])) & 1n) === 1n
}

/** The capabilities among `wanted` that a child started by this process would NOT get. */
export function missingForChild(sets: CapabilitySets, uid: number, wanted: readonly CapName[]): CapName[] {
  const inherited = uid === 0 ? sets.bounding : sets.ambient
  return wanted.filter((cap) => !has(inherited, cap))
}
