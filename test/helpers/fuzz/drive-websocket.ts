/**
 * Drives the frame fuzzer through the test hub's WebSocket into a running agent: cases go out in
 * batches; each must-answer case must come back as `{0: id, …}` within the hub's 5 s; after each
 * batch a plain GetData must be answered within 5 s (the agent still serves); the process must
 * never exit. A CheckFingerprint case (which may rightly end the connection) goes alone, and the
 * driver waits for the agent to redial.
 */
import { Decoder } from 'cbor-x'
import type { RawData } from 'ws'
import { decodeResponse } from '../../../ts/protocol/envelope.js'
import type { HubConnection, TestHub } from '../../hub/test-hub.js'
import type { AgentProcess } from '../agent-process.js'
import { DRIVER_ID_BASE, fuzzCase, type FuzzCase } from './frames.js'
import { analyze, type Analysis } from './oracle.js'

export interface FuzzOptions {
  seed: number
  cases: number
  /** the first case index (to replay a failing case alone) */
  first?: number
  /** cases sent before the driver waits for their answers (default DEFAULT_BATCH) */
  batchSize?: number
  /** stop collecting after this many failures */
  maxFailures?: number
}

export interface FuzzFailure {
  problem: string
  index?: number
  kind?: string
  /** the frame in hex, to replay it */
  hex?: string
}

export interface FuzzReport {
  cases: number
  seconds: number
  mustAnswer: number
  mustAnswerAnswered: number
  /** well-formed with a readable id, outside the subset the agent accepts (see oracle.ts) */
  idReadable: number
  idReadableAnswered: number
  /** reasons why, with how many of each went unanswered */
  idReadableSilent: Record<string, number>
  noId: number
  textFrames: number
  /** answers by payload key (1 data, 3 error, …) */
  answerKeys: Record<string, number>
  legacyReplies: number
  sentinels: number
  sentinelMaxMs: number
  reconnects: number
  failures: FuzzFailure[]
}

const HUB_TIMEOUT_MS = 5_000
/**
 * Below the agent's 64 requests in flight per connection (websocket-connection.ts MAX_IN_FLIGHT):
 * every case reaches the dispatcher. Beyond it the agent answers "busy", which the regression test
 * busy-answer-keeps-id covers on its own.
 */
export const DEFAULT_BATCH = 48
const decoder = new Decoder({ mapsAsObjects: false, int64AsNumber: true } as ConstructorParameters<typeof Decoder>[0])

interface Sent {
  fuzz: FuzzCase
  analysis: Analysis | undefined
  answered: number
}

const describeCase = (sent: Sent): Pick<FuzzFailure, 'index' | 'kind' | 'hex'> => ({ index: sent.fuzz.index, kind: sent.fuzz.kind, hex: sent.fuzz.frame.toString('hex') })

/** A bare pre-0.13 payload: CombinedData (key 0 a map) or FingerprintResponse (key 0 text). */
function isLegacyPayload(frame: Buffer): boolean {
  try {
    const value: unknown = decoder.decode(frame)
    if (!(value instanceof Map)) return false
    const first: unknown = value.get(0)
    return first instanceof Map || typeof first === 'string'
  } catch {
    return false
  }
}

export async function fuzzWebSocket(hub: TestHub, agent: AgentProcess, options: FuzzOptions): Promise<FuzzReport> {
  const { seed, cases, first = 0, batchSize = DEFAULT_BATCH, maxFailures = 20 } = options
  const started = performance.now()
  const report: FuzzReport = {
    cases: 0,
    seconds: 0,
    mustAnswer: 0,
    mustAnswerAnswered: 0,
    idReadable: 0,
    idReadableAnswered: 0,
    idReadableSilent: {},
    noId: 0,
    textFrames: 0,
    answerKeys: {},
    legacyReplies: 0,
    sentinels: 0,
    sentinelMaxMs: 0,
    reconnects: 0,
    failures: [],
  }
  const fail = (failure: FuzzFailure) => {
    if (report.failures.length < maxFailures) report.failures.push(failure)
  }

  let batch: Sent[] = []
  /** this batch's cases by every id they might be answered under */
  let byId = new Map<number, Sent[]>()
  /**
   * the batch before: a case without a must-answer id (a repeated key 2, say) may still be answered,
   * and a GetData behind it may finish after the batch's own GetData did
   */
  let previous = new Map<number, Sent[]>()
  let pendingMust = 0
  let allAnswered: () => void = () => undefined
  let sentinelId = DRIVER_ID_BASE

  const onMessage = (data: RawData, isBinary: boolean): void => {
    if (!isBinary) return fail({ problem: 'the agent sent a text frame' })
    const frame = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)
    let response
    try {
      response = decodeResponse(frame)
    } catch {
      if (isLegacyPayload(frame)) report.legacyReplies += 1
      else fail({ problem: `a reply that is neither {0: id, …} nor a legacy payload: ${frame.toString('hex').slice(0, 200)}` })
      return
    }
    const { id } = response
    if (id === undefined) return fail({ problem: `a reply without key 0 (a v0.17 hub crashes on it): ${frame.toString('hex').slice(0, 200)}` })
    if (id >= DRIVER_ID_BASE && !byId.has(id) && !previous.has(id)) return // a sentinel: the request manager settles it
    const sent = byId.get(id)?.find((s) => s.answered === 0) ?? previous.get(id)?.find((s) => s.answered === 0)
    if (!sent) return fail({ problem: `a reply under id ${id}, which no case of this batch is owed`, ...(byId.get(id)?.[0] ? describeCase(byId.get(id)?.[0] as Sent) : {}) })
    sent.answered += 1
    const payloadKeys = [...response.fields.keys()].filter((key) => key !== 0)
    for (const key of payloadKeys) report.answerKeys[String(key)] = (report.answerKeys[String(key)] ?? 0) + 1
    if (payloadKeys.length === 0 || payloadKeys.some((key) => key < 1 || key > 8)) fail({ problem: `answer with payload keys [${payloadKeys.join(',')}]`, ...describeCase(sent) })
    if (sent.analysis?.verdict === 'must-answer') {
      report.mustAnswerAnswered += 1
      pendingMust -= 1
      if (pendingMust === 0) allAnswered()
    } else if (sent.analysis?.verdict === 'id-readable') report.idReadableAnswered += 1
  }

  /** The agent's first verified connection from the `index`-th on (the hub may have seen it already). */
  const acceptedFrom = async (index: number): Promise<HubConnection> => {
    for (let at = index; ; at++) {
      const next = await hub.connection(at, 15_000)
      if ((await next.verdict).accepted) {
        next.socket.on('message', onMessage)
        return next
      }
    }
  }
  let connection = await acceptedFrom(0)

  const redial = async (): Promise<void> => {
    connection = await acceptedFrom(hub.connections.indexOf(connection) + 1)
    report.reconnects += 1
  }

  const sentinel = async (mayClose: boolean, retry = true): Promise<void> => {
    while (byId.has(sentinelId) || previous.has(sentinelId)) sentinelId += 1
    const id = sentinelId++
    const at = performance.now()
    try {
      const reply = await connection.request(0, new Map([[0, 1000]]), { id, timeoutMs: HUB_TIMEOUT_MS })
      report.sentinels += 1
      report.sentinelMaxMs = Math.max(report.sentinelMaxMs, performance.now() - at)
      if (!(reply.response.fields.get(1) instanceof Map)) fail({ problem: `GetData after a batch answered without data: ${reply.response.error ?? '?'}`, ...(batch[0] ? describeCase(batch[0]) : {}) })
    } catch (error) {
      if (connection.open || !mayClose) {
        const cases = batch.map((s) => s.fuzz.index)
        fail({ problem: `GetData after cases ${cases[0]}–${cases.at(-1)} not answered: ${(error as Error).message}` })
        if (connection.open || !retry) return
      }
      await redial()
      await sentinel(false, false)
    }
  }

  const flush = async (): Promise<void> => {
    if (batch.length === 0) return
    if (!connection.open) await redial()
    const mayClose = batch.some((s) => s.analysis?.action === 1n)
    const done = new Promise<void>((resolve) => (allAnswered = resolve))
    pendingMust = batch.filter((s) => s.analysis?.verdict === 'must-answer').length
    if (pendingMust === 0) allAnswered()
    for (const sent of batch) {
      await connection.send(sent.fuzz.text ?? sent.fuzz.frame).catch((error: Error) => {
        if (!mayClose) fail({ problem: `could not send: ${error.message}`, ...describeCase(sent) })
      })
    }
    let timer: NodeJS.Timeout | undefined
    await Promise.race([done, new Promise<void>((resolve) => (timer = setTimeout(resolve, HUB_TIMEOUT_MS)))])
    clearTimeout(timer)
    await sentinel(mayClose)
    for (const sent of batch) {
      if (sent.analysis?.verdict === 'must-answer' && sent.answered === 0) fail({ problem: `no answer within ${HUB_TIMEOUT_MS} ms`, ...describeCase(sent) })
      if (sent.answered > 1) fail({ problem: `answered ${sent.answered} times`, ...describeCase(sent) })
      if (sent.analysis?.verdict === 'id-readable' && sent.answered === 0) {
        for (const reason of sent.analysis.outside) report.idReadableSilent[reason] = (report.idReadableSilent[reason] ?? 0) + 1
      }
    }
    if (agent.exit !== undefined) fail({ problem: `the agent exited (${JSON.stringify(agent.exit)}) after case ${batch.at(-1)?.fuzz.index}` })
    // the test hub keeps every frame; a long run must not grow with them
    connection.received.length = 0
    connection.unmatched.length = 0
    batch = []
    previous = byId
    byId = new Map()
  }

  for (let index = first; index < first + cases; index++) {
    if (agent.exit !== undefined || report.failures.length >= maxFailures) break
    const fuzz = fuzzCase(seed, index)
    const analysis = fuzz.text === undefined ? analyze(fuzz.frame) : undefined
    const isolate = analysis?.action === 1n
    const ids = analysis?.idCandidates ?? []
    if (isolate || batch.length >= batchSize || ids.some((id) => byId.has(id) || previous.has(id))) await flush()
    // an id of the batch before is not reused at once: a late answer to it could not be told apart
    if (ids.some((id) => previous.has(id))) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      previous = new Map()
    }
    const sent: Sent = { fuzz, analysis, answered: 0 }
    batch.push(sent)
    for (const id of ids) byId.set(id, [...(byId.get(id) ?? []), sent])
    report.cases += 1
    if (!analysis) report.textFrames += 1
    else if (analysis.verdict === 'must-answer') report.mustAnswer += 1
    else if (analysis.verdict === 'id-readable') report.idReadable += 1
    else report.noId += 1
    if (isolate) await flush()
  }
  await flush()
  connection.socket.off('message', onMessage)
  report.seconds = (performance.now() - started) / 1000
  return report
}
