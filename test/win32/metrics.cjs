// Renders the Prometheus exposition with the addon given as argv[2] (test/win32.test.ts runs it in
// Windows' node.exe) and prints one JSON line: its size, its family names and whether any sample
// value is not a number.
'use strict'
const path = require('node:path')
const addon = require(path.resolve(process.argv[2]))
// HOST_PROC/HOST_SYS from the environment (the test points them at an empty folder: Wine shows
// Linux's /proc as Z:\proc, which real Windows does not have)
addon.configure(process.env)
addon.metricsExposition('text').then(
  (body) => {
    const text = body.toString('utf8')
    const families = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1])
    const samples = text.split('\n').filter((line) => line && !line.startsWith('#'))
    const bad = samples.filter((line) => !/ -?(\d+(\.\d+)?([eE][-+]?\d+)?|\+Inf|-Inf)$/.test(line))
    process.stdout.write(`${JSON.stringify({ bytes: body.length, families, samples: samples.length, bad: bad.slice(0, 5) })}\n`)
  },
  (error) => {
    process.stderr.write(`${error && error.stack ? error.stack : error}\n`)
    process.exitCode = 1
  },
)
