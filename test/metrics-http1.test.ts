/**
 * The HTTP/1.1 under /metrics (ts/metrics/http1.ts), byte for byte over real TCP sockets: what
 * scrapers and curl send is answered, keep-alive and pipelining keep their order, and every
 * malformed or body-carrying request is refused with its status and a closed connection.
 */
import { execFile } from 'node:child_process'
import { connect, createServer, type Server } from 'node:net'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { formatHead, http1Connections, MAX_HEAD_BYTES, type Http1Options, type Http1Request, type Http1Response } from '../ts/metrics/http1.js'

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))))
})

type Answer = (request: Http1Request) => Promise<Http1Response>

const echo: Answer = async (request) => ({
  status: 200,
  headers: [['Content-Type', 'text/plain']],
  body: `${request.method} ${request.path} accept=${request.headers.get('accept') ?? '-'}\n`,
})

async function listen(answer: Answer = echo, options: Partial<Http1Options> = {}): Promise<number> {
  const connections = http1Connections(answer, { headersTimeoutMs: 10_000, keepAliveTimeoutMs: 65_000, ...options })
  const server = createServer({ allowHalfOpen: true }, (socket) => connections.serve(socket))
  servers.push(server)
  server.on('close', () => connections.closeAll())
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

interface Exchange {
  text: string
  /** the server closed the connection (rather than the test's timeout ending it) */
  closedByServer: boolean
  ms: number
}

/** Sends `bytes` (in the pieces given, `gapMs` apart) and collects what comes back until the server closes or `waitMs` passes. */
function exchange(port: number, pieces: string[], { waitMs = 2_000, gapMs = 0, halfClose = false } = {}): Promise<Exchange> {
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    let done = false
    const finish = (closedByServer: boolean) => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closedByServer, ms: Date.now() - started })
    }
    const timer = setTimeout(() => finish(false), waitMs)
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('close', () => finish(true))
    socket.on('error', (error) => (done ? undefined : reject(error)))
    socket.on('connect', async () => {
      for (const piece of pieces) {
        socket.write(piece, 'latin1')
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs))
      }
      if (halfClose) socket.end()
    })
  })
}

/** The responses in a byte stream (none to HEAD): status, headers (lower-case) and body, split by Content-Length. */
function responses(text: string): { status: number; headers: Map<string, string>; body: string }[] {
  const out: { status: number; headers: Map<string, string>; body: string }[] = []
  let rest = text
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n')
    if (end < 0) throw new Error(`an unfinished head: ${JSON.stringify(rest)}`)
    const [statusLine = '', ...lines] = rest.slice(0, end).split('\r\n')
    const headers = new Map(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]))
    const length = Number(headers.get('content-length') ?? 0)
    const status = Number(statusLine.split(' ')[1])
    out.push({ status, headers, body: rest.slice(end + 4, end + 4 + length) })
    rest = rest.slice(end + 4 + length)
  }
  return out
}

const GET = (path = '/metrics', extra = '') => `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${extra}\r\n`
const CLOSE = 'Connection: close\r\n'

describe('http1: what scrapers send', () => {
  it('keep-alive: two requests on one connection, each with Date and an exact Content-Length', async () => {
    const port = await listen()
    const { text, closedByServer } = await exchange(port, [GET('/metrics', 'Accept: text/plain\r\n'), GET('/metrics?x=1', CLOSE)], { gapMs: 50 })
    const [first, second] = responses(text)
    expect(first?.status).toBe(200)
    expect(first?.body).toBe('GET /metrics accept=text/plain\n')
    expect(first?.headers.get('content-length')).toBe(String(first?.body.length))
    expect(first?.headers.get('date')).toMatch(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/)
    expect(first?.headers.has('connection')).toBe(false)
    // the query is not part of the path
    expect(second?.body).toBe('GET /metrics accept=-\n')
    expect(second?.headers.get('connection')).toBe('close')
    expect(closedByServer).toBe(true)
  })

  it('pipelined requests are answered in order, the second only after the first', async () => {
    const started: string[] = []
    const port = await listen(async (request) => {
      started.push(request.path)
      // the first answer is the slow one
      await new Promise((r) => setTimeout(r, request.path === '/slow' ? 150 : 0))
      return { status: 200, headers: [], body: request.path }
    })
    const { text } = await exchange(port, [GET('/slow') + GET('/fast', CLOSE)])
    expect(responses(text).map((r) => r.body)).toEqual(['/slow', '/fast'])
    expect(started).toEqual(['/slow', '/fast'])
  })

  it('a repeated request head is answered as the first one was, and a changed one is read afresh', async () => {
    // heads are parsed once and remembered per connection: the memo must never answer a
    // different head (another path, another Accept, a close) with the last one's request
    const port = await listen()
    const same = GET('/metrics', 'Accept: text/plain\r\n')
    const { text, closedByServer } = await exchange(port, [same, same, GET('/other', 'Accept: text/plain\r\n'), same, GET('/metrics', 'Accept: application/openmetrics-text\r\n'), same + GET('/metrics', CLOSE)], { gapMs: 20 })
    expect(responses(text).map((r) => r.body)).toEqual([
      'GET /metrics accept=text/plain\n',
      'GET /metrics accept=text/plain\n',
      'GET /other accept=text/plain\n',
      'GET /metrics accept=text/plain\n',
      'GET /metrics accept=application/openmetrics-text\n',
      'GET /metrics accept=text/plain\n',
      'GET /metrics accept=-\n',
    ])
    expect(closedByServer).toBe(true)
  })

  it('HTTP/1.0 closes after the answer unless it asks for keep-alive', async () => {
    const port = await listen()
    const plain = await exchange(port, ['GET /metrics HTTP/1.0\r\n\r\n'])
    expect(plain.closedByServer).toBe(true)
    expect(responses(plain.text)[0]?.headers.get('connection')).toBe('close')
    const kept = await exchange(port, ['GET /metrics HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n'], { waitMs: 300 })
    expect(kept.closedByServer).toBe(false)
    expect(responses(kept.text)[0]?.status).toBe(200)
  })

  it('HEAD gets the headers and Content-Length of GET, without the body', async () => {
    const port = await listen()
    const { text } = await exchange(port, [`HEAD /metrics HTTP/1.1\r\nHost: x\r\n${CLOSE}\r\n`])
    const end = text.indexOf('\r\n\r\n')
    expect(text.slice(end + 4)).toBe('')
    expect(text).toContain(`Content-Length: ${'HEAD /metrics accept=-\n'.length}\r\n`)
  })

  it('bare LF line ends, leading empty lines, repeated headers and the absolute form are read', async () => {
    const port = await listen()
    const { text } = await exchange(port, ['\r\nGET http://localhost:9101/metrics HTTP/1.1\nHost: x\nAccept: a\nACCEPT: b\nConnection: close\n\n'])
    expect(responses(text)[0]?.body).toBe('GET /metrics accept=a, b\n')
  })

  it('a client that half-closes after its request still gets the answer', async () => {
    const port = await listen(async () => {
      await new Promise((r) => setTimeout(r, 100))
      return { status: 200, headers: [], body: 'late' }
    })
    const { text, closedByServer } = await exchange(port, [GET()], { halfClose: true })
    expect(responses(text)[0]?.body).toBe('late')
    expect(closedByServer).toBe(true)
  })

  it('curl gets the answer', async (ctx) => {
    const port = await listen()
    let stdout: string
    try {
      ;({ stdout } = await promisify(execFile)('curl', ['-sS', '--http1.1', '-H', 'Accept: text/plain', `http://127.0.0.1:${port}/metrics`], { timeout: 10_000 }))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return ctx.skip('curl is not installed')
      throw error
    }
    expect(stdout).toBe('GET /metrics accept=text/plain\n')
  })
})

describe('http1: refused, and the connection closed', () => {
  const cases: [string, string, number][] = [
    ['a malformed request line', 'GET /metrics\r\nHost: x\r\n\r\n', 400],
    ['a space in the target', 'GET /me trics HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['HTTP/2.0', 'GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n', 505],
    ['no Host in HTTP/1.1', 'GET /metrics HTTP/1.1\r\n\r\n', 400],
    ['two Host headers', 'GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
    ['a request body', 'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello', 400],
    ['a chunked body', 'GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
    ['a malformed Content-Length', 'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1e3\r\n\r\n', 400],
    ['two Content-Length headers', 'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n', 400],
    ['a folded header line', 'GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: a\r\n b\r\n\r\n', 400],
    ['a header name with a space', 'GET /metrics HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n', 400],
    ['a NUL in a header value', 'GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: a\u0000b\r\n\r\n', 400],
    ['a head over the limit', `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(MAX_HEAD_BYTES)}\r\n\r\n`, 431],
    ['a head over the limit with no end yet', `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(MAX_HEAD_BYTES + 10)}`, 431],
  ]
  for (const [what, request, status] of cases) {
    it(`${what}: ${status}`, async () => {
      let answered = 0
      const port = await listen(async (r) => {
        answered++
        return echo(r)
      })
      const { text, closedByServer } = await exchange(port, [request])
      expect(text.startsWith(`HTTP/1.1 ${status} `)).toBe(true)
      expect(text).toContain('Connection: close\r\n')
      expect(closedByServer).toBe(true)
      expect(answered).toBe(0)
    })
  }

  it('Content-Length: 0 is no body and is served', async () => {
    const port = await listen()
    const { text } = await exchange(port, [GET('/metrics', `Content-Length: 0\r\n${CLOSE}`)])
    expect(responses(text)[0]?.status).toBe(200)
  })
})

describe('http1: time and failure', () => {
  it('a request head that does not finish in time closes the connection', async () => {
    const port = await listen(echo, { headersTimeoutMs: 200 })
    const { text, closedByServer, ms } = await exchange(port, ['GET /metrics HTTP/1.1\r\nHost: x\r\n'], { waitMs: 3_000 })
    expect(text).toBe('')
    expect(closedByServer).toBe(true)
    expect(ms).toBeGreaterThanOrEqual(150)
    expect(ms).toBeLessThan(2_500)
  })

  it('an idle kept-alive connection is closed after keepAliveTimeoutMs', async () => {
    const port = await listen(echo, { keepAliveTimeoutMs: 300 })
    const { text, closedByServer, ms } = await exchange(port, [GET()], { waitMs: 3_000 })
    expect(responses(text)[0]?.status).toBe(200)
    expect(closedByServer).toBe(true)
    expect(ms).toBeGreaterThanOrEqual(250)
  })

  it('an answer that throws is a 500 and the connection goes on', async () => {
    const errors: string[] = []
    const port = await listen(
      async (request) => {
        if (request.path === '/boom') throw new Error('boom')
        return echo(request)
      },
      { onError: (e) => errors.push(e.message) },
    )
    const { text } = await exchange(port, [GET('/boom') + GET('/metrics', CLOSE)])
    expect(responses(text).map((r) => r.status)).toEqual([500, 200])
    expect(errors).toEqual(['boom'])
  })

  it('a response header that could split the head is never written: 500 instead', async () => {
    expect(() => formatHead(200, [['X-Evil', 'a\r\nSet-Cookie: x']], 0, false)).toThrow(/X-Evil/)
    expect(() => formatHead(200, [['Bad Name', 'v']], 0, false)).toThrow()
    // a list is remembered only once it passed: the same bad list is refused every time
    const bad: Http1Response['headers'] = [['X-Evil', 'a\nb']]
    expect(() => formatHead(200, bad, 0, false)).toThrow(/X-Evil/)
    expect(() => formatHead(200, bad, 0, false)).toThrow(/X-Evil/)
    const good: Http1Response['headers'] = [['Content-Type', 'text/plain']]
    expect(formatHead(200, good, 1, false)).toContain('\r\nContent-Type: text/plain\r\nContent-Length: 1\r\n\r\n')
    expect(formatHead(404, good, 2, true)).toMatch(/^HTTP\/1\.1 404 Not Found\r\nDate: .+\r\nContent-Type: text\/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n$/)
    const port = await listen(async () => ({ status: 200, headers: [['X-Evil', 'a\r\nInjected: 1']], body: 'x' }))
    const { text } = await exchange(port, [GET()])
    expect(text.startsWith('HTTP/1.1 500 ')).toBe(true)
    expect(text).not.toContain('Injected')
  })
})
