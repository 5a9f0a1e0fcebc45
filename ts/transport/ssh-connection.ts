/**
 * One SSH connection from the hub: the hub's version read from its identification line, public-key
 * authentication within a number of tries (its deadline is ssh-admission.ts's), then each session
 * channel served; forwarding and global requests are refused (spec §10: the agent is not a tunnel).
 */
import type { Session } from '../dispatch.js'
import type { ClientInfo, Connection } from 'ssh2'
import type { HubKey } from '../identity/keys.js'
import { authenticate, type Ssh2Utils } from './ssh-auth.js'
import { serveSession, type SessionOptions } from './ssh-session.js'
import { formatVersion, hubMode, hubVersionFromIdent } from './ssh-version.js'

/** OpenSSH's MaxAuthTries. */
const MAX_AUTH_FAILURES = 6

export interface ConnectionOptions extends SessionOptions {
  keys: () => readonly HubKey[]
}

export function serveConnection(client: Connection, info: ClientInfo, options: ConnectionOptions, utils: Ssh2Utils, onShell: () => void): void {
  const { logger } = options
  const peer = info.ip ?? 'unix'
  const ident = info.header.identRaw.replace(/\r?\n$/, '')
  const hubVersion = hubVersionFromIdent(ident)
  // The peer chose these bytes: keep control characters out of the log line.
  const printableIdent = ident.slice(0, 255).replace(/[^\x20-\x7e]/g, '?')
  const mode = hubMode(hubVersion)
  let authenticated = false
  let failures = 0
  // The authentication deadline runs on the socket, from accept (ssh-admission.ts).

  client.on('error', (error: Error & { level?: string }) => {
    logger.debug('SSH connection error', { peer, level: error.level, error: error.message })
  })
  client.on('close', () => {
    if (authenticated) logger.debug('SSH connection closed', { peer })
  })
  client.on('authentication', (ctx) => {
    if (authenticate(ctx, options.keys, utils, logger)) return
    if (ctx.method !== 'none' && ++failures >= MAX_AUTH_FAILURES) {
      logger.warn('SSH peer exceeded authentication attempts; closing', { peer })
      client.end()
    }
  })
  client.on('ready', () => {
    authenticated = true
    logger.info('SSH hub connected', { peer, client: printableIdent, hubVersion: formatVersion(hubVersion), mode })
  })
  // One hub state for the whole connection: each request comes on its own session channel, and
  // the dialect a GetData revealed must hold for the GetSmartData that follows it.
  const hub: Session = { transport: 'ssh', verified: true }
  client.on('session', (accept) => {
    const session = accept()
    if (session) serveSession(session, { options, mode, client, peer, onShell, hub })
  })
  client.on('tcpip', (_accept, reject) => {
    logger.warn('SSH port forwarding refused', { peer })
    reject()
  })
  client.on('openssh.streamlocal', (_accept, reject) => {
    logger.warn('SSH socket forwarding refused', { peer })
    reject()
  })
  client.on('request', (_accept, reject, name) => {
    logger.warn('SSH global request refused', { peer, request: name })
    reject?.()
  })
}
