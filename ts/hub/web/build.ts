/** `npm run build:web`: bundles the dev hub page into dist/hub-web (shipped with the npm package). */
import { resolve } from 'node:path'
import { bundlePage } from './bundle.js'

const outdir = resolve(process.argv[2] ?? 'dist/hub-web')
const files = await bundlePage(outdir)
const sizes = [...files].map(([name, body]) => `${name} ${(body.length / 1024).toFixed(1)} KiB`)
process.stderr.write(`dev hub page bundled into ${outdir}: ${sizes.join(', ')}\n`)
