/**
 * A real HTTP proxy on 127.0.0.1 for the proxy tests: CONNECT tunnels (https, wss) and
 * absolute-form requests forwarded (http); it records each target.
 */
import { createServer, request, type Server } from 'node:http'
import { connect as netConnect, type AddressInfo } from 'node:net'

export interface ConnectProxy {
  server: Server
  port: number
  /** "host:port" of every CONNECT request, in order */
  tunnels: string[]
  /** the absolute URL of every forwarded request, in order */
  forwarded: string[]
  close(): void
}

export async function startConnectProxy(): Promise<ConnectProxy> {
  const tunnels: string[] = []
  const forwarded: string[] = []
  const server = createServer((req, res) => {
    // a proxied http request names its whole target: GET http://host:port/path HTTP/1.1
    forwarded.push(req.url ?? '')
    let target: URL
    try {
      target = new URL(req.url ?? '')
    } catch {
      res.writeHead(400).end('not an absolute URL')
      return
    }
    const upstream = request(target, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    upstream.on('error', () => res.writeHead(502).end())
    req.pipe(upstream)
  })
  server.on('connect', (req, client, head) => {
    tunnels.push(req.url ?? '')
    const [host, port] = (req.url ?? '').split(':')
    const upstream = netConnect(Number(port), host ?? '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
    })
    upstream.on('error', () => client.destroy())
    client.on('error', () => upstream.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    server,
    port: (server.address() as AddressInfo).port,
    tunnels,
    forwarded,
    close: () => {
      server.closeAllConnections()
      server.close()
    },
  }
}
