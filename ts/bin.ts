#!/usr/bin/env node
import { main } from './cli.js'

// No top-level await: the bundle is CommonJS (dist/bin.cjs), which spares the daemon node's ESM
// loader (about 1.4 MiB of RSS for its whole life).
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code
})
