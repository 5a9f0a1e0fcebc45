/**
 * Known answers for the dev hub's Actions panel tests: one result map per action in issue 11's
 * integer keys, and the agent's refusals. `knownAnswer` plays an agent whose policy allows these
 * requests: it reads the request as the agent does (wire.ts) and answers by what was asked.
 */
import { createHash } from 'node:crypto'
import { decodeEnvelope, decodeParams, type ExtensionAction } from '../../ts/extensions/wire.js'
import type { HubRequest } from '../../ts/protocol/envelope.js'
import type { ActionReply } from './fake-sonar-agent.js'

const m = (entries: [number, unknown][]) => new Map<number, unknown>(entries)

export const LOG_TEXT = 'line one\nline two ✓\n'
export const BLOB = Buffer.from([0xff, 0x00, 0xfe, 0x41])
export const STDOUT = 'backup done: 3 files\n'
export const STDERR = Buffer.from([0xc3, 0x28])
export const ACTIVE_ENTER_US = 1_700_000_000_123_456
export const MTIME_MS = 1_700_000_000_000

export const REFUSE_COMMAND = 'command "reboot" is not in /etc/sonar-agent/extensions.yml (commands)'
export const REFUSE_ROOT = 'root "etc" is not in /etc/sonar-agent/extensions.yml (files)'

export const SERVICES = m([
  [
    0,
    [
      m([[0, 'nginx.service'], [1, 'loaded'], [2, 'active'], [3, 'running'], [4, 'A high performance web server'], [5, true]]),
      m([[0, 'backup.service'], [1, 'loaded'], [2, 'failed'], [3, 'failed'], [4, 'Nightly backup'], [5, false]]),
    ],
  ],
])

export const STATUS = m([[0, 'nginx.service'], [1, 'loaded'], [2, 'active'], [3, 'running'], [4, 'A high performance web server'], [5, 'enabled'], [6, 4242], [7, ACTIVE_ENTER_US], [8, true]])

export const RESTART = m([[0, 'nginx.service'], [1, 'restart'], [2, '/org/freedesktop/systemd1/job/1234'], [3, 'active']])

export const LISTING = m([
  [
    0,
    [
      m([[0, 'app.log'], [1, 0], [2, Buffer.byteLength(LOG_TEXT)], [3, 0o640], [4, MTIME_MS]]),
      m([[0, 'blob.bin'], [1, 0], [2, BLOB.length], [3, 0o600], [4, MTIME_MS]]),
      m([[0, 'archive'], [1, 1], [2, 4096], [3, 0o755], [4, MTIME_MS]]),
      m([[0, 'current'], [1, 2], [2, 7], [3, 0o777], [4, MTIME_MS]]),
    ],
  ],
  [1, false],
])

export const ARCHIVE_LISTING = m([[0, [m([[0, 'old.log'], [1, 0], [2, 3], [3, 0o644], [4, MTIME_MS]])]], [1, false]])

export const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest()

export function readResult(data: Buffer): Map<number, unknown> {
  return m([[0, data], [1, data.length], [2, true], [3, sha256(data)]])
}

export const COMMAND = m([[0, 0], [1, ''], [2, Buffer.from(STDOUT)], [3, STDERR], [4, false], [5, false], [6, 123]])

/** Answers a request by what it asks for, as an agent whose policy allows nginx, root "logs" and command "backup". */
export function knownAnswer(request: HubRequest): ActionReply {
  const envelope = decodeEnvelope(request.data)
  if (!envelope.ok) return { refusal: envelope.message }
  const params = decodeParams(request.action as ExtensionAction, envelope.envelope.params)
  if (!params.ok) return { refusal: params.message }
  const p = params.params as Record<string, unknown>
  switch (request.action) {
    case 6:
      return p.id === 'backup' ? { result: COMMAND } : { refusal: REFUSE_COMMAND.replace('reboot', String(p.id)) }
    case 7:
      return { result: SERVICES }
    case 8:
      return { result: STATUS }
    case 9:
      return { result: RESTART }
    case 10:
      if (p.root !== 'logs') return { refusal: REFUSE_ROOT.replace('etc', String(p.root)) }
      return { result: p.path === 'archive' ? ARCHIVE_LISTING : LISTING }
    case 11:
      if (p.root !== 'logs') return { refusal: REFUSE_ROOT.replace('etc', String(p.root)) }
      return { result: readResult(p.path === 'blob.bin' ? BLOB : Buffer.from(LOG_TEXT)) }
    default:
      return { refusal: `action ${request.action} is not answered by this fake agent` }
  }
}
