/** STUB (helper PROTOCOL replaces): request/response envelopes. */
export interface HubRequest {
  action: number
  data: unknown
  id: number | undefined
}

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError'
}

export type ResponseBody =
  | { kind: 'data'; cbor: Uint8Array }
  | { kind: 'fingerprint'; fingerprint: string; hostname?: string; port?: string; name?: string }
  | { kind: 'string'; text: string }
  | { kind: 'smart'; devices: Map<string, unknown> }
  | { kind: 'service'; info: Map<string, unknown> }
  | { kind: 'error'; message: string }

export function decodeRequest(_frame: Uint8Array): HubRequest {
  throw new ProtocolError('not implemented')
}

export function encodeResponse(_id: number | undefined, _body: ResponseBody): Buffer {
  throw new Error('not implemented')
}

export function encodeRequest(_request: HubRequest): Buffer {
  throw new Error('not implemented')
}
