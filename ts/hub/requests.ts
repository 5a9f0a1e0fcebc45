/**
 * The hub's per-connection request manager (spec §2.10): ids from 1, answers matched by id in any
 * order, a 5 s wait per request, late or unknown answers handed back to the caller (the dev hub
 * drops them; the test hub keeps them for its assertions).
 */
import { decodeResponse, encodeRequest, type AgentResponse } from '../protocol/envelope.js'

export const REQUEST_TIMEOUT_MS = 5_000

export class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError'
}

/** An answer: the frame as received and its decoded envelope. */
export interface Reply {
  frame: Buffer
  response: AgentResponse
}

export interface RequestOptions {
  /** a chosen id (tests); default the next one */
  id?: number
  timeoutMs?: number
}

interface Pending {
  resolve: (reply: Reply) => void
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

  request(action: number, data?: unknown, options: RequestOptions = {}): Promise<Reply> {
    const id = options.id ?? this.nextId++
    const timeoutMs = options.timeoutMs ?? this.timeoutMs
    const frame = encodeRequest({ action, data, id })
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new RequestTimeoutError(`request ${id} (action ${action}) timed out after ${timeoutMs} ms`))
      }, timeoutMs)
      this.pending.set(id, { resolve, reject, timer })
      this.write(frame, (error) => {
        if (!error) return
        clearTimeout(timer)
        this.pending.delete(id)
        reject(error)
      })
    })
  }

  /**
   * One binary frame from the agent: settles the request with its id. Returns the reply with
   * `matched: false` when no request waits for it, undefined when it is not an AgentResponse.
   */
  receive(frame: Buffer): { matched: boolean; reply: Reply } | undefined {
    let response: AgentResponse
    try {
      response = decodeResponse(frame)
    } catch {
      return undefined
    }
    const reply = { frame, response }
    const pending = response.id === undefined ? undefined : this.pending.get(response.id)
    if (!pending || response.id === undefined) return { matched: false, reply }
    this.pending.delete(response.id)
    clearTimeout(pending.timer)
    pending.resolve(reply)
    return { matched: true, reply }
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
