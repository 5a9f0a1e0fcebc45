/**
 * SSH version negotiation (spec §3.4, §6): the version this agent announces in its identification
 * line, and what the hub's own line says about how it talks to agents (request/response, or a
 * payload pushed first as CBOR or JSON for old hubs).
 */
import { compareSemver, parseSemver, type SemVer } from '../protocol/semver.js'

const ZERO: SemVer = { major: 0, minor: 0, patch: 0, prerelease: [] }
const MIN_VERSION_CBOR = { major: 0, minor: 12, patch: 0, prerelease: [] }
const MIN_VERSION_AGENT_RESPONSE = { major: 0, minor: 13, patch: 0, prerelease: [] }

/** The hub's version from its identification line: strict semver after the first `_`, else 0.0.0. */
export function hubVersionFromIdent(ident: string): SemVer {
  const line = ident.replace(/\r?\n$/, '')
  const underscore = line.indexOf('_')
  if (underscore < 0) return ZERO
  return parseSemver(line.slice(underscore + 1)) ?? ZERO
}

/** request: normal request/response; legacy-*: push a bare payload first (spec §3.4 table). */
export type HubMode = 'request' | 'legacy-cbor' | 'legacy-json'

export function hubMode(version: SemVer): HubMode {
  if (compareSemver(version, MIN_VERSION_AGENT_RESPONSE) >= 0) return 'request'
  return compareSemver(version, MIN_VERSION_CBOR) >= 0 ? 'legacy-cbor' : 'legacy-json'
}

export function formatVersion(v: SemVer): string {
  return `${v.major}.${v.minor}.${v.patch}${v.prerelease.length ? `-${v.prerelease.join('.')}` : ''}`
}

/** Throws unless `version` may be announced: hubs would treat anything below 0.13.0 as a push-only agent. */
export function checkAnnouncedVersion(version: string): void {
  const parsed = parseSemver(version)
  if (!parsed || compareSemver(parsed, MIN_VERSION_AGENT_RESPONSE) < 0) {
    throw new Error(`SSH protocol version must be strict semver >= 0.13.0, got "${version}"`)
  }
}

/** The software-version part of our identification line (`SSH-2.0-<this>`). */
export function sshIdent(version: string): string {
  return `sonar_${version}`
}
