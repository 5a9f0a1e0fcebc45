/** This package's version from package.json: shown by `--version`, sent in User-Agent, put in the doctor's report. */
import { createRequire } from 'node:module'
import * as z from 'zod/mini'

const require = createRequire(import.meta.url)
export const packageVersion = z.object({ version: z.string() }).parse(require('../package.json')).version
