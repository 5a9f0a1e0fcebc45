/**
 * The HTTP/1.1 that /metrics needs, on a plain or TLS socket: GET and HEAD without a body,
 * keep-alive, pipelined requests answered in order. node:http's general machinery (streams,
 * per-request objects, timers) was half of a scrape's JavaScript under the daemon's
 * interpreter-only V8 (bench:metrics); a scraper asks for one fixed thing.
 *
 * Strict where being lenient could confuse what sits between us and the scraper: a request
 * with a body (Content-Length above 0, any Transfer-Encoding), a malformed request line or
 * header, a missing Host in HTTP/1.1, or a head over MAX_HEAD_BYTES is answered with its
 * 4xx and the connection is closed. Bare LF line ends are accepted, as Go's net/http does.
 */
import type { Socket } from 'node:net'

export interface Http1Request {
  method: string
  /** the target's path, query left out */
  path: string
  /** lower-case names; a repeated header's values joined with ", " */
  headers: ReadonlyMap<string, string>
}

export interface Http1Response {
  status: number
  headers: readonly (readonly [string, string | number])[]
  body: Buffer | string
}

export interface Http1Options {
  /** a request's head (line and headers) must arrive within this (slow clients hold a socket) */
  headersTimeoutMs: number
  /** an idle kept-alive connection is closed after this */
  keepAliveTimeoutMs: number
  onError?: (error: Error) => void
}

/** Node's default --max-http-header-size. */
export const MAX_HEAD_BYTES = 16 * 1024

const REASONS: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  505: 'HTTP Version Not Supported',
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** A header value: no control characters but tab (RFC 9110 field-value), so no line break or NUL. */
export const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e\x80-\xff]+) HTTP\/(\d)\.(\d)$/

/** RFC 9110 IMF-fixdate of now, made once a second. */
let dateSecond = -1
let dateText = ''
function httpDate(): string {
  const now = Date.now()
  const second = Math.floor(now / 1000)
  if (second !== dateSecond) {
    dateSecond = second
    dateText = new Date(second * 1000).toUTCString()
  }
  return dateText
}

/**
 * Header lists already checked and joined, by list: a server that answers every scrape with the
 * same list object has it checked once (the checks were a tenth of a scrape's JavaScript under
 * the daemon's interpreter-only V8). The lists are not mutated after they are answered with.
 */
const checkedHeaders = new WeakMap<Http1Response['headers'], string>()

function headerLines(headers: Http1Response['headers']): string {
  let lines = checkedHeaders.get(headers)
  if (lines === undefined) {
    lines = ''
    for (const [name, value] of headers) {
      const text = String(value)
      if (!TOKEN.test(name) || !HEADER_VALUE.test(text)) throw new Error(`the response header ${JSON.stringify(name)} is not a valid header`)
      lines += `${name}: ${text}\r\n`
    }
    checkedHeaders.set(headers, lines)
  }
  return lines
}

/** The status line and headers of a response; throws on a header that could split the head. */
export function formatHead(status: number, headers: Http1Response['headers'], contentLength: number, close: boolean): string {
  let head = `HTTP/1.1 ${status} ${REASONS[status] ?? 'Unknown'}\r\nDate: ${httpDate()}\r\n${headerLines(headers)}`
  head += `Content-Length: ${contentLength}\r\n`
  if (close) head += 'Connection: close\r\n'
  return `${head}\r\n`
}

type Parsed = { request: Http1Request; keepAlive: boolean } | { error: number; reason: string }

/** One request head (without its blank line), `lines` split already. */
function parseHead(lines: string[]): Parsed {
  const match = REQUEST_LINE.exec(lines[0] ?? '')
  if (!match) return { error: 400, reason: 'malformed request line' }
  const [, method = '', target = '', major, minor] = match
  if (major !== '1') return { error: 505, reason: 'only HTTP/1.x is spoken here' }
  const http11 = minor !== '0'
  const headers = new Map<string, string>()
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? ''
    const colon = line.indexOf(':')
    // a line starting with white space continues the previous one (obs-fold): refused, as RFC 9112 lets a server
    if (colon <= 0) return { error: 400, reason: 'malformed header line' }
    const name = line.slice(0, colon)
    if (!TOKEN.test(name)) return { error: 400, reason: 'malformed header name' }
    const value = line.slice(colon + 1).trim()
    if (!HEADER_VALUE.test(value)) return { error: 400, reason: 'malformed header value' }
    const key = name.toLowerCase()
    const earlier = headers.get(key)
    if (earlier !== undefined && (key === 'content-length' || key === 'host')) return { error: 400, reason: `more than one ${name}` }
    headers.set(key, earlier === undefined ? value : `${earlier}, ${value}`)
  }
  if (headers.has('transfer-encoding')) return { error: 400, reason: 'a request body is not accepted' }
  const length = headers.get('content-length')
  if (length !== undefined && !/^0+$/.test(length)) return { error: 400, reason: /^\d+$/.test(length) ? 'a request body is not accepted' : 'malformed Content-Length' }
  if (http11 && !headers.has('host')) return { error: 400, reason: 'HTTP/1.1 needs a Host header' }
  const connection = (headers.get('connection') ?? '').toLowerCase()
  const keepAlive = http11 ? !/(^|,)\s*close\s*(,|$)/.test(connection) : /(^|,)\s*keep-alive\s*(,|$)/.test(connection)
  // origin form (/metrics?x), absolute form (http://host/metrics) or asterisk form
  let path = target
  if (!target.startsWith('/')) {
    const scheme = /^https?:\/\/[^/?#]*/i.exec(target)
    path = scheme ? target.slice(scheme[0].length) || '/' : target
  }
  const query = path.search(/[?#]/)
  if (query >= 0) path = path.slice(0, query)
  return { request: { method, path, headers }, keepAlive }
}

/** A served connection's state, as the idle sweep sees it. */
interface Connection {
  socket: Socket
  /** answering a request (never idle then) */
  busy: boolean
  /** when the last bytes came in or the last answer went out */
  lastActive: number
  /** when the unfinished request head now pending began to arrive */
  headSince: number | undefined
}

export interface Http1Connections {
  /** serves HTTP/1.1 on a connected socket until either side closes it */
  serve(socket: Socket): void
  /** destroys every connection */
  closeAll(): void
}

/**
 * The connections of one server. Each request's answer comes from `answer` (a rejection becomes
 * a 500), and a pipelined request is parsed only once the previous answer is written. Timeouts
 * are one sweep over the connections while there are any, not a timer per socket re-armed on
 * every read and write. The server should allow half-open sockets, so that a client ending its
 * side after a request still gets the answer.
 */
export function http1Connections(answer: (request: Http1Request) => Promise<Http1Response>, options: Http1Options): Http1Connections {
  const live = new Set<Connection>()
  let sweeper: NodeJS.Timeout | undefined
  const sweep = () => {
    const now = Date.now()
    for (const c of live) {
      if (c.busy) continue
      // a request begun but not finished in time (a slow client holding the socket), or idle
      if ((c.headSince !== undefined && now - c.headSince > options.headersTimeoutMs) || now - c.lastActive > options.keepAliveTimeoutMs) c.socket.destroy()
    }
  }
  const sweepEveryMs = Math.max(50, Math.min(1_000, options.headersTimeoutMs / 4, options.keepAliveTimeoutMs / 4))
  return {
    serve(socket) {
      const connection: Connection = { socket, busy: false, lastActive: Date.now(), headSince: undefined }
      live.add(connection)
      if (!sweeper) {
        sweeper = setInterval(sweep, sweepEveryMs)
        sweeper.unref()
      }
      socket.once('close', () => {
        live.delete(connection)
        if (live.size === 0 && sweeper) {
          clearInterval(sweeper)
          sweeper = undefined
        }
      })
      serveConnection(connection, answer, options)
    },
    closeAll() {
      for (const c of live) c.socket.destroy()
    },
  }
}

function serveConnection(connection: Connection, answer: (request: Http1Request) => Promise<Http1Response>, options: Http1Options): void {
  const { socket } = connection
  let pending = ''
  let closing = false
  let lastHead = ''
  let lastParsed: Parsed | undefined

  const send = (status: number, headers: Http1Response['headers'], body: Buffer | string, head: boolean, close: boolean) => {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body
    const text = formatHead(status, headers, bytes.length, close)
    // one write of head and body: a corked pair goes through the stream's writev machinery,
    // which cost more than copying a scrape's few KiB
    if (head || bytes.length === 0) socket.write(text, 'latin1')
    else {
      const whole = Buffer.allocUnsafe(text.length + bytes.length)
      whole.write(text, 0, 'latin1')
      bytes.copy(whole, text.length)
      socket.write(whole)
    }
    connection.lastActive = Date.now()
    if (close) {
      closing = true
      socket.end()
    }
  }
  const refuse = (status: number, reason: string) => {
    connection.busy = true
    connection.headSince = undefined
    send(status, [['Content-Type', 'text/plain; charset=utf-8']], `${REASONS[status] ?? 'Error'}: ${reason}\n`, false, true)
  }

  const next = () => {
    while (!connection.busy && !closing) {
      // the end of the head: the first empty line (CRLF or bare LF)
      const blank = /\r?\n\r?\n/.exec(pending)
      if (!blank) {
        if (pending.length > MAX_HEAD_BYTES) refuse(431, `the request head is over ${MAX_HEAD_BYTES} bytes`)
        else if (pending.length > 0) connection.headSince ??= Date.now()
        return
      }
      if (blank.index > MAX_HEAD_BYTES) return refuse(431, `the request head is over ${MAX_HEAD_BYTES} bytes`)
      const headText = pending.slice(0, blank.index)
      pending = pending.slice(blank.index + blank[0].length)
      connection.headSince = undefined
      // a scraper sends the same head every time: parsed once (the parse is a pure function of
      // it, and the parsed request is only read)
      let parsed = lastParsed
      if (headText !== lastHead || parsed === undefined) {
        const lines = headText.split(/\r?\n/)
        // empty lines before a request line are skipped (RFC 9112 §2.2)
        while (lines[0] === '' && lines.length > 1) lines.shift()
        parsed = parseHead(lines)
        lastHead = headText
        lastParsed = parsed
      }
      if ('error' in parsed) return refuse(parsed.error, parsed.reason)
      connection.busy = true
      const { request, keepAlive } = parsed
      answer(request)
        .catch((error: unknown) => {
          options.onError?.(error instanceof Error ? error : new Error(String(error)))
          return { status: 500, headers: [['Content-Type', 'text/plain; charset=utf-8']], body: 'Internal Server Error\n' } satisfies Http1Response
        })
        .then((response) => {
          if (socket.destroyed) return
          try {
            send(response.status, response.headers, response.body, request.method === 'HEAD', !keepAlive)
          } catch (error) {
            options.onError?.(error instanceof Error ? error : new Error(String(error)))
            send(500, [['Content-Type', 'text/plain; charset=utf-8']], 'Internal Server Error\n', request.method === 'HEAD', true)
          }
          connection.busy = false
          // the client half-closed meanwhile: what it asked is answered, now close our side
          if (closing) socket.end()
          else next()
        })
        .catch((error: unknown) => {
          options.onError?.(error instanceof Error ? error : new Error(String(error)))
          socket.destroy()
        })
    }
  }

  socket.setNoDelay(true)
  socket.on('data', (chunk: Buffer) => {
    if (closing) return
    connection.lastActive = Date.now()
    pending += chunk.toString('latin1')
    // a client piling up requests faster than they are answered is stopped, not buffered
    if (connection.busy && pending.length > 4 * MAX_HEAD_BYTES) {
      socket.destroy()
      return
    }
    next()
  })
  socket.on('end', () => {
    // the client is done sending: answer what is in flight, then close our side
    closing = true
    connection.headSince = undefined
    if (!connection.busy) socket.end()
  })
  socket.on('error', (error) => options.onError?.(error))
}
