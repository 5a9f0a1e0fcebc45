/**
 * A hand-driven agent for the dev hub's Actions panel: it dials a real hub over a real WebSocket
 * (SONAR's route or Beszel's), answers CheckFingerprint with a chosen fingerprint and GetData with
 * the native core's real payload, and answers host actions (6–13) as the test says — a result map
 * under response key 7, a refusal under key 3, or nothing. It keeps every action frame it got, for
 * the test to check the hub's signature on the exact bytes. It verifies nothing itself: the real
 * agent's gate does that; this stands in for an agent whose policy allows the request.
 */
import { Encoder } from 'cbor-x'
import { WebSocket } from 'ws'
import type { Collector } from '../../ts/collector.js'
import { encodeUint, MAJOR_MAP, writeHead } from '../../ts/protocol/cbor.js'
import { decodeRequest, encodeResponse, type HubRequest } from '../../ts/protocol/envelope.js'

export type ActionReply = { result: Map<number, unknown> } | { refusal: string } | 'silent'

export interface FakeAgentOptions {
  hub: { agentUrl: string; token: string }
  route: 'sonar' | 'beszel'
  fingerprint: string
  collector: Collector
  answer: (request: HubRequest) => ActionReply
}

// byte strings as plain major-2 items, Maps as maps: what the agent's encoder writes
const encoder = new Encoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false } as ConstructorParameters<typeof Encoder>[0])

/** `{0: id, 7: result}`: the generic data key a SONAR agent answers actions under. */
export function resultFrame(id: number | undefined, result: Map<number, unknown>): Buffer {
  const entries = [encodeUint(7), encoder.encode(result)]
  if (id !== undefined) entries.unshift(encodeUint(0), encodeUint(id))
  return Buffer.concat([writeHead(MAJOR_MAP, entries.length / 2), ...entries])
}

export class FakeSonarAgent {
  /** frames of actions 6–13 as received */
  readonly actionFrames: Buffer[] = []
  readonly closed: Promise<{ code: number; reason: string }>
  private readonly ws: WebSocket

  constructor(private readonly options: FakeAgentOptions) {
    const url = `${options.hub.agentUrl.replace(/^http/, 'ws')}/api/${options.route}/agent-connect`
    this.ws = new WebSocket(url, { headers: { 'X-Token': options.hub.token, 'X-Beszel': '0.18.8' } })
    this.ws.on('message', (data: Buffer) => void this.onFrame(Buffer.from(data)))
    this.closed = new Promise((resolve) => this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })))
    this.ws.on('error', () => undefined)
  }

  private async onFrame(frame: Buffer): Promise<void> {
    const request = decodeRequest(frame)
    const { id } = request
    let reply: Buffer | undefined
    if (request.action === 0) {
      const options = request.data instanceof Map ? request.data : new Map()
      const cacheTimeMs = typeof options.get(0) === 'number' ? (options.get(0) as number) : 60_000
      reply = encodeResponse(id, { kind: 'data', cbor: await this.options.collector.collect({ cacheTimeMs }) })
    } else if (request.action === 1) {
      reply = encodeResponse(id, { kind: 'fingerprint', fingerprint: this.options.fingerprint })
    } else if (request.action === 4) {
      reply = encodeResponse(id, { kind: 'smartRaw', cbor: Buffer.from([0xa0]), complete: true })
    } else if (request.action >= 6 && request.action <= 13) {
      this.actionFrames.push(frame)
      const answer = this.options.answer(request)
      if (answer === 'silent') return
      reply = 'refusal' in answer ? encodeResponse(id, { kind: 'error', message: answer.refusal }) : resultFrame(id, answer.result)
    } else {
      reply = encodeResponse(id, { kind: 'error', message: `unknown action: ${request.action}` })
    }
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(reply)
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close()
    return this.closed
  }
}
