/** A real HTTP CONNECT proxy on 127.0.0.1 for the proxy tests: it records each tunnel's target. */
import { createServer, type Server } from 'node:http'
import { connect as netConnect, type AddressInfo } from 'node:net'

export interface ConnectProxy {
  server: Server
  port: number
  /** "host:port" of every CONNECT request, in order */
  tunnels: string[]
  close(): void
}

export async function startConnectProxy(): Promise<ConnectProxy> {
  const tunnels: string[] = []
  const server = createServer()
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
    close: () => {
      server.closeAllConnections()
      server.close()
    },
  }
}
