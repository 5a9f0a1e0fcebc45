/**
 * The hub's per-connection request manager (spec §2.10): ids from 1, answers matched by id in any
 * order, a 5 s wait per request, late or unknown answers dropped.
 */
import { decodeResponse, encodeRequest, type AgentResponse } from '../protocol/envelope.js'

export const REQUEST_TIMEOUT_MS = 5_000

export class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError'
}

interface Pending {
  resolve: (response: AgentResponse) => void
  reject: (error: Error) => void
  timer: NodeJS.Timeout
}

export class RequestManager {
  private nextId = 1
  private readonly pending = new Map<number, Pending>()

  constructor(
    /** writes one binary frame; calls back with an error when it could not */
    private readonly write: (frame: Buffer, done: (error?: Error) => void) => void,
    private readonly timeoutMs = REQUEST_TIMEOUT_MS,
  ) {}

  get inFlight(): number {
    return this.pending.size
  }

  request(action: number, data?: unknown): Promise<AgentResponse> {
    const id = this.nextId++
    const frame = encodeRequest({ action, data, id })
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new RequestTimeoutError(`no answer to request ${id} (action ${action}) within ${this.timeoutMs} ms`))
      }, this.timeoutMs)
      this.pending.set(id, { resolve, reject, timer })
      this.write(frame, (error) => {
        if (!error) return
        clearTimeout(timer)
        this.pending.delete(id)
        reject(error)
      })
    })
  }

  /** One binary frame from the agent. Returns false when it matched no pending request. */
  receive(frame: Buffer): boolean {
    let response: AgentResponse
    try {
      response = decodeResponse(frame)
    } catch {
      return false
    }
    const pending = response.id === undefined ? undefined : this.pending.get(response.id)
    if (!pending || response.id === undefined) return false
    this.pending.delete(response.id)
    clearTimeout(pending.timer)
    pending.resolve(response)
    return true
  }

  /** Fails everything still waiting (the connection closed). */
  close(reason: string): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer)
      pending.reject(new Error(`${reason} before the answer to request ${id}`))
    }
    this.pending.clear()
  }
}
