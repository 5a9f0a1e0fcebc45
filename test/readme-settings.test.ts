/**
 * The README's settings tables against the core's settings table (the one list): every supported
 * setting has a row, every refused one is named in the "refuses" paragraph, and no row names a
 * setting the agent does not know — so a setting added to the core without documentation, or a
 * README row left behind by a removed one, fails here.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { settingCatalog } from '../ts/config/catalog.js'

const readme = readFileSync('README.md', 'utf8')
const catalog = settingCatalog()
/** `NAME` in a table row's first cell. */
const rowNames = readme
  .split('\n')
  .filter((line) => line.startsWith('| `'))
  .flatMap((line) => [...(line.split('|')[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1] as string))
const refusedParagraph = /Beszel names this agent refuses[^\n]*\n((?:[^\n]+\n)+)/.exec(readme)?.[1] ?? ''
const refusedNames = [...refusedParagraph.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1] as string)

describe('README settings tables', () => {
  it('have a row for every supported setting of the core table', () => {
    const missing = catalog.filter((s) => s.refused === undefined && !rowNames.includes(s.name)).map((s) => s.name)
    expect(missing, 'settings without a README row').toEqual([])
  })

  it('name every refused setting in the "refuses" paragraph, and only those', () => {
    expect([...new Set(refusedNames)].sort()).toEqual(catalog.filter((s) => s.refused !== undefined).map((s) => s.name).sort())
  })

  it('name no setting the agent does not know', () => {
    const known = new Set(catalog.map((s) => s.name))
    expect(rowNames.filter((name) => !known.has(name))).toEqual([])
    expect(rowNames.length).toBeGreaterThan(30)
  })
})
