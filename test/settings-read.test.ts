/**
 * Every setting either does something or is refused: each supported setting of the core's table
 * is read by the side the table says reads it (a source check — a name in the table that no code
 * looks up would be accepted and silently ignored, which is how HOST_ROOT, NVML and nine others
 * lived on before the table existed). The doctor does not count as a reader.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { settingCatalog } from '../ts/config/catalog.js'

function sources(dir: string, ext: string, skip: (path: string) => boolean): string {
  let text = ''
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry)
    if (skip(path)) continue
    if (statSync(path).isDirectory()) text += sources(path, ext, skip)
    else if (path.endsWith(ext)) text += readFileSync(path, 'utf8')
  }
  return text
}

// the table itself names every setting: it is not a reader
const core = sources('crates/sonar-core/src', '.rs', (p) => p.endsWith('catalog.rs')) + sources('crates/sonar-node/src', '.rs', (p) => p.endsWith('settings.rs'))
const agent = sources('ts', '.ts', (p) => p.startsWith('ts/doctor') || p.startsWith('ts/hub') || p.endsWith('catalog.ts'))
const catalog = settingCatalog()

describe('every_setting_does_something_or_is_refused', () => {
  it.each(catalog.filter((s) => s.refused === undefined).map((s) => [s.name, s.side] as const))('%s is read by the %s side', (name, side) => {
    if (side !== 'agent') expect(core, `the core never looks ${name} up`).toMatch(new RegExp(`"${name}"`))
    if (side !== 'core') expect(agent, `TypeScript never looks ${name} up`).toMatch(new RegExp(`['"\`]${name}['"\`]|\\b${name}:`))
  })

  it('refused settings carry their reason', () => {
    const refused = catalog.filter((s) => s.refused !== undefined)
    expect(refused.map((s) => s.name)).toContain('HOST_ROOT')
    for (const s of refused) expect(s.refused?.length, s.name).toBeGreaterThan(20)
  })
})
