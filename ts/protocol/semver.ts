/**
 * Strict semantic versions as blang/semver `Parse` accepts them: the hub checks the agent's
 * X-Beszel header and SSH banner with it, and the agent and the dev hub must agree with that.
 */
export interface SemVer {
  major: number
  minor: number
  patch: number
  prerelease: readonly string[]
}

const NUMBER = '(0|[1-9]\\d*)'
const PRERELEASE_ID = '(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)'
const SEMVER = new RegExp(
  `^${NUMBER}\\.${NUMBER}\\.${NUMBER}(?:-(${PRERELEASE_ID}(?:\\.${PRERELEASE_ID})*))?(?:\\+[0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*)?$`,
)

/** Strict semver, as blang/semver `Parse` accepts it. */
export function parseSemver(text: string): SemVer | undefined {
  const m = SEMVER.exec(text)
  if (!m) return undefined
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), prerelease: m[4] ? m[4].split('.') : [] }
}

function compareIdentifiers(a: string, b: string): number {
  const an = /^\d+$/.test(a)
  const bn = /^\d+$/.test(b)
  if (an && bn) return Math.sign(Number(a) - Number(b))
  if (an !== bn) return an ? -1 : 1
  return a < b ? -1 : a > b ? 1 : 0
}

/** semver precedence: a pre-release sorts below its release. */
export function compareSemver(a: SemVer, b: SemVer): number {
  const core = Math.sign(a.major - b.major) || Math.sign(a.minor - b.minor) || Math.sign(a.patch - b.patch)
  if (core !== 0) return core
  if (a.prerelease.length === 0 || b.prerelease.length === 0) return Math.sign(b.prerelease.length - a.prerelease.length)
  for (let i = 0; i < Math.min(a.prerelease.length, b.prerelease.length); i++) {
    const c = compareIdentifiers(a.prerelease[i] ?? '', b.prerelease[i] ?? '')
    if (c !== 0) return c
  }
  return Math.sign(a.prerelease.length - b.prerelease.length)
}

/** Whether `text` is a strict semver (no leading zeros, no "v" prefix). */
export function isStrictSemver(text: string): boolean {
  return parseSemver(text) !== undefined
}
