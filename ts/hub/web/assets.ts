/**
 * Finds the dev hub page's bundle. From a source checkout (this file runs as .ts) the page is
 * bundled in memory, so it is never stale; from dist/ (the bundled bin.cjs, tsc's output or the
 * installed npm package) the bundle that `npm run build:ts` wrote into dist/hub-web is read.
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { ASSET_FILES, bundlePage } from './bundle.js'

export interface Asset {
  body: Buffer
  contentType: string
  etag: string
}

const CONTENT_TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
}

export class AssetsNotFoundError extends Error {
  constructor(searched: string[]) {
    super(`the dev hub page bundle (app.js, app.css) is missing from ${searched.join(', ')} — run \`npm run build:ts\` (it bundles the page into dist/hub-web)`)
    this.name = 'AssetsNotFoundError'
  }
}

/** Where a built bundle can lie, relative to this module: dist/bin.cjs, dist/hub/web/*.js, ts/hub/web/*.ts. */
export function bundleDirectories(moduleUrl: string = import.meta.url): string[] {
  return ['./hub-web/', '../../hub-web/', '../../../dist/hub-web/'].map((relative) => fileURLToPath(new URL(relative, moduleUrl)))
}

export async function loadAssets(moduleUrl: string = import.meta.url): Promise<Map<string, Asset>> {
  if (moduleUrl.endsWith('.ts')) {
    try {
      return toAssets(await bundlePage())
    } catch {
      // no esbuild here (a copy without dev dependencies): fall back to a built bundle
    }
  }
  const searched = [...new Set(bundleDirectories(moduleUrl))]
  for (const dir of searched) {
    if (!ASSET_FILES.every((name) => existsSync(`${dir}${name}`))) continue
    const files = new Map<string, Buffer>()
    for (const name of ASSET_FILES) files.set(name, await readFile(`${dir}${name}`))
    return toAssets(files)
  }
  throw new AssetsNotFoundError(searched)
}

function toAssets(files: Map<string, Buffer>): Map<string, Asset> {
  const assets = new Map<string, Asset>()
  for (const [name, body] of files) {
    const extension = name.slice(name.lastIndexOf('.') + 1)
    const contentType = CONTENT_TYPES[extension]
    if (!contentType) continue
    assets.set(name, { body, contentType, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"` })
  }
  return assets
}
