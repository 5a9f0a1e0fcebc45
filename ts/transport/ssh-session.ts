/**
 * One SSH session channel (spec §3): every request type but `shell` is refused; a `shell` carries
 * one request — one CBOR item read from stdin, dispatched, one CBOR answer written, exit-status 0,
 * close. Hubs too old to send requests get the payload pushed instead.
 */
import type { Connection, ServerChannel, Session as SshSession } from 'ssh2'
import type { Dispatcher, Session } from '../dispatch.js'
import type { Logger } from '../log.js'
import { encodeResponse } from '../protocol/envelope.js'
import { CborItemScanner } from './cbor-item.js'
import type { HubMode } from './ssh-version.js'

/** The largest request read from stdin (the Go agent's WebSocket frame limit). */
export const MAX_REQUEST_BYTES = 16 * 1024 * 1024
/** Not in the Go agent: a session whose request has not arrived by then is answered anyway. */
export const REQUEST_TIMEOUT_MS = 30_000

export interface SessionOptions {
  dispatcher: Pick<Dispatcher, 'handle'>
  /** CBOR CombinedData for hubs older than 0.13 that expect a pushed payload */
  legacyPayload: () => Promise<Buffer>
  /** JSON CombinedData (Appendix A names) for hubs older than 0.12 or with an unparsable banner */
  legacyJson?: () => Promise<string>
  logger: Logger
  requestTimeoutMs?: number
  maxRequestBytes?: number
}

/** One session channel of an authenticated connection. */
export interface SessionContext {
  options: SessionOptions
  mode: HubMode
  client: Connection
  peer: string
  /** each `shell` session, before its request is read */
  onShell: () => void
  /** the connection's hub state, shared by its session channels */
  hub: Session
}

type ReadOutcome =
  | { kind: 'item'; frame: Buffer }
  /** stdin closed (or the channel went away) before a whole item arrived */
  | { kind: 'eof'; bytes: Buffer }
  | { kind: 'invalid'; bytes: Buffer }
  | { kind: 'too-large' }
  | { kind: 'timeout' }

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** Refuses everything a session may ask for except `shell`, which is served. */
export function serveSession(session: SshSession, context: SessionContext): void {
  const { logger } = context.options
  const refuse = (what: string) => (_accept: unknown, reject: (() => void) | undefined) => {
    logger.warn(`SSH ${what} refused`, { peer: context.peer })
    reject?.()
  }
  session.on('pty', refuse('pty'))
  session.on('x11', refuse('X11 forwarding'))
  session.on('auth-agent', refuse('agent forwarding'))
  session.on('exec', refuse('exec'))
  session.on('subsystem', refuse('subsystem'))
  session.on('sftp', refuse('sftp'))
  // Environment variables are never applied; OpenSSH sends LANG/LC_* without wanting a reply.
  session.on('env', (_accept, reject) => reject?.())
  session.on('shell', (accept) => {
    const channel = accept()
    if (channel) void serveShell(channel, context)
  })
}

async function serveShell(channel: ServerChannel, context: SessionContext): Promise<void> {
  const { options, mode, client, peer } = context
  const { logger } = options
  channel.on('error', (error: Error) => logger.debug('SSH channel error', { peer, error: error.message }))
  context.onShell()
  let exitStatus = 0
  let closeConnection = false
  try {
    if (mode !== 'request') await pushLegacy(channel, mode, options)
    const { maxRequestBytes = MAX_REQUEST_BYTES, requestTimeoutMs = REQUEST_TIMEOUT_MS } = options
    const input = await readRequest(channel, maxRequestBytes, requestTimeoutMs)
    if (mode !== 'request' && input.kind !== 'item') {
      // An old hub sends nothing; like the Go agent, answer the failed read with the payload again.
      await pushLegacy(channel, mode, options)
    } else {
      const { reply, close } = await answer(input, options, context.hub)
      await writeTo(channel, reply)
      closeConnection = close
    }
  } catch (error) {
    // Only a payload we could not produce ends in a non-zero status (as the Go agent's exit 1).
    logger.error('SSH session failed', { peer, error: errorText(error) })
    exitStatus = 1
  }
  channel.exit(exitStatus)
  channel.end()
  if (closeConnection) client.end()
}

async function answer(input: ReadOutcome, options: SessionOptions, session: Session): Promise<{ reply: Buffer; close: boolean }> {
  const { logger } = options
  const error = (message: string) => ({ reply: encodeResponse(undefined, { kind: 'error', message }), close: false })
  switch (input.kind) {
    case 'too-large':
      logger.warn('SSH request over the size limit; refused')
      return error('request too large')
    case 'timeout':
      logger.warn('SSH request did not arrive in time')
      return error('no request received')
    case 'eof':
      if (input.bytes.length === 0) return error('no request received')
      break
    default:
      break
  }
  // Truncated or malformed input still goes to the dispatcher: it answers with the precise decode error.
  const frame = input.kind === 'item' ? input.frame : input.bytes
  try {
    const result = await options.dispatcher.handle(frame, session)
    if (result.close) logger.warn('closing the SSH connection', { reason: result.close.reason })
    if (!result.reply) return { ...error('no answer'), close: result.close !== undefined }
    return { reply: result.reply, close: result.close !== undefined }
  } catch (failure) {
    logger.error('SSH request handling failed', { error: errorText(failure) })
    return error(errorText(failure))
  }
}

async function pushLegacy(channel: ServerChannel, mode: Exclude<HubMode, 'request'>, options: SessionOptions): Promise<void> {
  if (mode === 'legacy-json') {
    if (options.legacyJson) {
      const text = await options.legacyJson()
      await writeTo(channel, text.endsWith('\n') ? text : `${text}\n`)
      return
    }
    options.logger.warn('hub too old for CBOR and no JSON payload configured; sending CBOR')
  }
  await writeTo(channel, await options.legacyPayload())
}

function readRequest(channel: ServerChannel, limit: number, timeoutMs: number): Promise<ReadOutcome> {
  return new Promise((resolve) => {
    const scanner = new CborItemScanner(limit)
    let done = false
    const finish = (outcome: ReadOutcome): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      channel.removeListener('end', onEnd)
      channel.removeListener('close', onEnd)
      // Keep draining so ssh2 sees 'end' and can emit 'close'; the extra bytes are ignored.
      resolve(outcome)
    }
    const onData = (chunk: Buffer): void => {
      if (done) return
      const result = scanner.push(chunk)
      if (result.state === 'complete') finish({ kind: 'item', frame: Buffer.from(scanner.bytes().subarray(0, result.end)) })
      else if (result.state === 'invalid') finish({ kind: 'invalid', bytes: Buffer.from(scanner.bytes()) })
      else if (result.state === 'too-large') finish({ kind: 'too-large' })
    }
    const onEnd = (): void => finish({ kind: 'eof', bytes: Buffer.from(scanner.bytes()) })
    const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs)
    channel.on('data', onData)
    channel.once('end', onEnd)
    channel.once('close', onEnd)
  })
}

/** Resolves when `data` is handed to ssh2, or when the channel is gone (then nothing can be sent). */
function writeTo(channel: ServerChannel, data: Buffer | string): Promise<void> {
  return new Promise((resolve) => {
    if (!channel.writable) {
      resolve()
      return
    }
    const settle = (): void => {
      channel.removeListener('close', settle)
      resolve()
    }
    channel.once('close', settle)
    channel.write(data, () => settle())
  })
}
