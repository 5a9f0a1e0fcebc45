// Run by test/package-arm64.test.ts under qemu-user with Debian's arm64 node: loads the arm64
// addon, takes two samples a second apart through collect() and snapshot(), decodes the CBOR with
// cbor-x and prints one JSON line for the test to check against the host.
import { createRequire } from 'node:module'
import { setTimeout as sleep } from 'node:timers/promises'
import { Decoder } from 'cbor-x'

const require = createRequire(import.meta.url)
const addon = require(process.argv[2])
const decoder = new Decoder({ mapsAsObjects: false, int64AsNumber: true })

await addon.collect({ cacheTimeMs: 1000 })
await sleep(1100)
const bytes = await addon.collect({ cacheTimeMs: 1000 })
const data = decoder.decode(bytes)
const stats = data.get(0)
const info = data.get(1)
const snapshot = await addon.snapshot({ cacheTimeMs: 1000 })
process.stdout.write(
  JSON.stringify({
    arch: process.arch,
    node: process.version,
    cborBytes: bytes.length,
    cborTopKeys: [...data.keys()],
    cbor: {
      hostname: info.get(0),
      kernel: info.get(1),
      agentVersion: info.get(10),
      cpu: stats.get(0),
      memTotalGiB: stats.get(2),
      perCoreBytes: stats.get(34)?.length,
    },
    snapshot,
  }) + '\n',
)
