/**
 * Bundles the dev hub page (page/main.ts, uPlot and the CSS) with esbuild: at build time into
 * dist/hub-web (build.ts), or in memory when the hub runs from a source checkout. esbuild is a dev
 * dependency, so it is imported by a computed name: the bundled dist/bin.cjs never embeds it.
 */
import { fileURLToPath } from 'node:url'

export const PAGE_ENTRY = fileURLToPath(new URL('./page/main.ts', import.meta.url))
/** The files a bundle consists of, as served under /assets/. */
export const ASSET_FILES = ['app.js', 'app.css'] as const

const ESBUILD = 'esbuild'

/** Bundles the page; writes into `outdir` when given, and returns the files by name either way. */
export async function bundlePage(outdir?: string): Promise<Map<string, Buffer>> {
  const esbuild = (await import(ESBUILD)) as typeof import('esbuild')
  const result = await esbuild.build({
    entryPoints: { app: PAGE_ENTRY },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    outdir: outdir ?? '/virtual/hub-web',
    write: outdir !== undefined,
  })
  const files = new Map<string, Buffer>()
  for (const file of result.outputFiles ?? []) {
    files.set(file.path.slice(file.path.lastIndexOf('/') + 1), Buffer.from(file.contents))
  }
  if (outdir !== undefined) {
    const { readFile } = await import('node:fs/promises')
    for (const name of ASSET_FILES) files.set(name, await readFile(`${outdir}/${name}`))
  }
  return files
}
