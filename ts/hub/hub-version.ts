/**
 * Which Beszel hub the dev hub and the test hub play, and the rules that differ between the two
 * generations an agent meets (spec beszel-v0.18.md): what a GetData request carries (§2), whether
 * Details are stored and legacy Info migrated (§3.4), how SMART is fetched (§5.2, §7.1) and pruned
 * (§4), and the version in the SSH banner.
 */

export const HUB_VERSIONS = ['0.17', '0.18.8'] as const
export type HubVersion = (typeof HUB_VERSIONS)[number]

/** What `sonar-agent hub` plays unless told otherwise: today's Beszel. */
export const DEFAULT_HUB_VERSION: HubVersion = '0.18.8'

export interface HubRules {
  readonly version: HubVersion
  /** GetData options carry key 1 IncludeDetails (§2); a 0.17 hub only knows key 0 */
  readonly includeDetails: boolean
  /** Details (CombinedData key 4) are read, stored, and synthesized from legacy Info (§3.4) */
  readonly details: boolean
  /** SMART: once after the first data write of a connection (0.17), or in the background (§5.2) */
  readonly smart: 'after-first-write' | 'background'
  /** how long the hub waits for a GetSmartData answer (§7.1) */
  readonly smartTimeoutMs: number
  /** AgentResponse key 8 SmartComplete prunes vanished drives (§4) */
  readonly pruneSmart: boolean
  /** the version after `_` in the SSH banner */
  readonly sshVersion: string
}

const RULES: Readonly<Record<HubVersion, HubRules>> = {
  '0.17': {
    version: '0.17',
    includeDetails: false,
    details: false,
    smart: 'after-first-write',
    smartTimeoutMs: 5_000,
    pruneSmart: false,
    sshVersion: '0.17.0',
  },
  '0.18.8': {
    version: '0.18.8',
    includeDetails: true,
    details: true,
    smart: 'background',
    smartTimeoutMs: 60_000,
    pruneSmart: true,
    sshVersion: '0.18.8',
  },
}

export function hubRules(version: HubVersion): HubRules {
  return RULES[version]
}

/** `0.17`, `0.17.0`, `0.18`, `0.18.8` (a leading `v` allowed); anything else names the choices. */
export function parseHubVersion(text: string): HubVersion {
  const bare = text.trim().replace(/^v/, '')
  if (bare === '0.17' || bare === '0.17.0') return '0.17'
  if (bare === '0.18' || bare === '0.18.8') return '0.18.8'
  throw new Error(`Beszel hub version ${JSON.stringify(text)}: expected one of ${HUB_VERSIONS.join(', ')}`)
}

/** The 60 s poll's cache time; realtime polls use 1000. */
export const REGULAR_CACHE_MS = 60_000

/**
 * GetData's DataRequestOptions as this hub sends them (§2): `{0: cacheTimeMs}` from 0.17;
 * `{0: cacheTimeMs, 1: includeDetails}` from 0.18.8, key 1 always present — true on a 60 s poll
 * while details were not stored on this connection, false otherwise (realtime included).
 */
export function dataRequestOptions(rules: HubRules, cacheTimeMs: number, detailsFetched: boolean): Map<number, unknown> {
  const options = new Map<number, unknown>([[0, cacheTimeMs]])
  if (rules.includeDetails) options.set(1, cacheTimeMs === REGULAR_CACHE_MS && !detailsFetched)
  return options
}
