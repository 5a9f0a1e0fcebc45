/** One raw HTTP(S) request with node:http(s): no automatic decompression or redirects, the bytes as sent. */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { request as httpsRequest } from 'node:https'

export interface RawResponse {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
}

export interface RawRequest {
  method?: string
  headers?: Record<string, string>
  /** https only: trusted CA, client certificate and key (PEM) */
  ca?: Buffer
  cert?: Buffer
  key?: Buffer
}

export function rawRequest(url: string, options: RawRequest = {}): Promise<RawResponse> {
  const target = new URL(url)
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
        agent: false,
        ...(options.ca ? { ca: options.ca } : {}),
        ...(options.cert ? { cert: options.cert } : {}),
        ...(options.key ? { key: options.key } : {}),
        timeout: 15_000,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer in 15 s`)))
    req.on('error', reject)
    req.end()
  })
}
