// Loads the addon given as argv[2] in whatever executable runs this (test/win32.test.ts copies
// node.exe to another name) and prints one JSON line: the host's path, and what a snapshot says.
'use strict'
const path = require('node:path')
const addon = require(path.resolve(process.argv[2]))
addon.snapshot({ cacheTimeMs: 0 }).then(
  (snapshot) => {
    process.stdout.write(`${JSON.stringify({ execPath: process.execPath, os: snapshot.info.os, loaded: true })}\n`)
  },
  (error) => {
    process.stderr.write(`${error && error.stack ? error.stack : error}\n`)
    process.exitCode = 1
  },
)
