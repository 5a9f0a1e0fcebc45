/**
 * The payload interfaces of index.d.ts and the dev hub's key table (ts/hub/model.generated.ts)
 * are generated from the core's payload tables (`npm run gen:model`). This fails when a
 * committed file differs from what the core declares, e.g. a key or JSON name changed in
 * crates/sonar-core/src/model.rs without regenerating.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

interface Field {
  key: number
  name: string
}
interface Schema {
  structs: { name: string; fields: Field[] }[]
}

const dir = mkdtempSync(join(tmpdir(), 'sonar-gen-model-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** gen-model.mjs; the schema from a file when given, else from the core (cargo). */
function genModel(args: string[], schema?: Schema) {
  const extra: string[] = []
  if (schema) {
    const file = join(dir, `schema-${Math.random().toString(36).slice(2)}.json`)
    writeFileSync(file, JSON.stringify(schema))
    extra.push('--schema', file)
  }
  return spawnSync(process.execPath, ['scripts/gen-model.mjs', ...args, ...extra], { encoding: 'utf8', maxBuffer: 16 << 20 })
}

function field(schema: Schema, struct: string, name: string): Field {
  const found = schema.structs.find((s) => s.name === struct)?.fields.find((f) => f.name === name)
  if (!found) throw new Error(`${struct}.${name} not in the schema`)
  return found
}

describe('generated model files (npm run gen:model)', () => {
  let core: Schema
  beforeAll(() => {
    // cargo builds the example first: minutes when target/ is cold
    const printed = genModel(['--print-schema'])
    expect(printed.status, printed.stderr).toBe(0)
    core = JSON.parse(printed.stdout) as Schema
  }, 600_000)

  it('index.d.ts and ts/hub/model.generated.ts are what the core declares', () => {
    const check = genModel(['--check'], core)
    expect(check.status, check.stderr).toBe(0)
    expect(field(core, 'Stats', 'cpu').key).toBe(0)
  })

  it('a changed CBOR key fails the check for the hub table', () => {
    const changed = structuredClone(core)
    field(changed, 'Stats', 'dios').key = 38
    const check = genModel(['--check'], changed)
    expect(check.status).toBe(1)
    expect(check.stderr).toContain('ts/hub/model.generated.ts differs')
    expect(check.stderr).not.toContain('index.d.ts differs')
  })

  it('a changed JSON name fails the check for both files', () => {
    const changed = structuredClone(core)
    field(changed, 'Info', 'sv').name = 'services'
    const check = genModel(['--check'], changed)
    expect(check.status).toBe(1)
    expect(check.stderr).toContain('index.d.ts differs')
    expect(check.stderr).toContain('ts/hub/model.generated.ts differs')
  })
})
