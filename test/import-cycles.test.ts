/**
 * No import cycles in ts/: a cycle makes module evaluation order decide whether a binding is
 * initialised, and it ties modules that should be layered (see design/architecture.md).
 *
 * Every relative import counts: static, `export … from`, dynamic `import()` (a lazily loaded
 * command that imports its loader back is still a cycle) and type-only imports too — a type-only
 * edge erases at runtime, but it still means two modules each need the other to be understood,
 * which is the coupling this test exists to catch.
 *
 * The same holds for the Rust core, file by file: every `crate::…` path outside `#[cfg(test)]`
 * code is an edge to the file that defines the longest matching module (a parent module's
 * re-export counts as the parent: import from the defining file to avoid a false edge).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '..')
const SRC = join(ROOT, 'ts')

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : []
  })
}

/** Relative imports of one file, as absolute .ts paths. preProcessFile skips comments and strings. */
function relativeImports(file: string, known: ReadonlySet<string>): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
  const out: string[] = []
  for (const { fileName } of importedFiles) {
    if (!fileName.startsWith('.')) continue
    const base = resolve(dirname(file), fileName)
    const target = [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')].find((candidate) => known.has(candidate))
    // A relative import of a non-TS file (package.json, assets) cannot close a cycle.
    if (target) out.push(target)
  }
  return out
}

/** Cycles closed by DFS back edges: empty exactly when the graph has no cycle (not every elementary cycle is listed). */
function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = []
  const seen = new Set<string>()
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  const visit = (node: string): void => {
    state.set(node, 'open')
    stack.push(node)
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') {
        const cycle = stack.slice(stack.indexOf(next))
        const key = [...cycle].sort().join('\n')
        if (!seen.has(key)) {
          seen.add(key)
          cycles.push([...cycle, next])
        }
      } else if (!state.has(next)) {
        visit(next)
      }
    }
    stack.pop()
    state.set(node, 'done')
  }
  for (const node of graph.keys()) if (!state.has(node)) visit(node)
  return cycles
}

describe('import graph of ts/', () => {
  const files = sourceFiles(SRC)
  const known = new Set(files)
  const graph = new Map(files.map((file) => [file, relativeImports(file, known)]))

  it('sees the imports it is meant to see (static, dynamic, type-only)', () => {
    const edges = (name: string) => (graph.get(join(SRC, name)) ?? []).map((file) => relative(SRC, file))
    expect(files.length).toBeGreaterThan(50)
    expect(edges('cli.ts')).toContain('commands/run.ts') // dynamic import()
    expect(edges('handlers/handler.ts')).toEqual(['protocol/envelope.ts']) // its only import is `import type`
    expect(edges('bin.ts')).toEqual(['cli.ts'])
  })

  it('finds a cycle when there is one (the detector itself)', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a', 'd']],
      ['d', []],
    ])
    expect(findCycles(graph)).toEqual([['a', 'b', 'c', 'a']])
    expect(findCycles(new Map([['a', ['b']], ['b', []]]))).toEqual([])
  })

  it('has no cycles', () => {
    const cycles = findCycles(graph).map((cycle) => cycle.map((file) => relative(SRC, file)).join(' → '))
    expect(cycles).toEqual([])
  })
})

/** Rust files of a crate's src/, keyed by module path ("settings/grammar", "" for lib.rs). */
function rustModules(dir: string, base = dir): Map<string, string> {
  const out = new Map<string, string>()
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) {
      for (const [k, v] of rustModules(path, base)) out.set(k, v)
    } else if (entry.name.endsWith('.rs')) {
      const module = relative(base, path).replace(/\.rs$/, '').replace(/(^|\/)(mod|lib)$/, '')
      out.set(module, path)
    }
  }
  return out
}

/** `crate::a::b::c` paths of a file (test modules, comments and strings stripped) → the modules they land in. */
function rustEdges(module: string, source: string, modules: ReadonlySet<string>): string[] {
  const code = (source.split('#[cfg(test)]')[0] ?? '').replace(/\/\/.*$/gm, '').replace(/"(?:[^"\\]|\\.)*"/g, '""')
  const out = new Set<string>()
  for (const match of code.matchAll(/crate::((?:[a-z_][a-z0-9_]*::)*[a-z_][a-z0-9_]*)/g)) {
    const parts = (match[1] ?? '').split('::')
    for (let i = parts.length; i > 0; i--) {
      const target = parts.slice(0, i).join('/')
      if (!modules.has(target)) continue
      // a module's own children and parents are not edges (it declares or re-exports them)
      if (target !== module && !module.startsWith(`${target}/`) && !target.startsWith(`${module}/`)) out.add(target)
      break
    }
  }
  return [...out]
}

describe('module graph of crates/sonar-core', () => {
  const modules = rustModules(join(ROOT, 'crates/sonar-core/src'))
  const names = new Set(modules.keys())
  const graph = new Map([...modules].map(([module, path]) => [module, rustEdges(module, readFileSync(path, 'utf8'), names)]))

  it('sees the edges it is meant to see', () => {
    expect(names.size).toBeGreaterThan(40)
    expect(graph.get('collect/gpu')).toContain('settings')
    expect(graph.get('collect/smart/runner')).toContain('settings/grammar')
  })

  it('has no cycles (settings ⇄ gpu, portable ⇄ system were the old ones)', () => {
    expect(findCycles(graph).map((cycle) => cycle.join(' → '))).toEqual([])
  })

  it('the data model depends on no collector (it imported a GPU type)', () => {
    const fromModel = [...graph].filter(([m]) => m === 'model' || m.startsWith('model/')).flatMap(([m, edges]) => edges.map((t) => `${m} → ${t}`))
    expect(fromModel.filter((edge) => / → collect/.test(edge))).toEqual([])
  })
})
