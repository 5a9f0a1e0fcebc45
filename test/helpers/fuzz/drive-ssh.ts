/**
 * Drives the frame fuzzer over SSH (spec §3): one shell session per case on one authenticated
 * connection, as a hub sends requests. Over SSH every input gets an answer, well-formed or not: one
 * CBOR map with a payload key, exit status 0, within the hub's 5 s; a request with a readable id
 * gets it back in key 0. Every 50 cases a plain GetData must still be answered.
 */
import ssh2 from 'ssh2'
import { decodeResponse, encodeRequest } from '../../../ts/protocol/envelope.js'
import type { AgentProcess } from '../agent-process.js'
import { connectAsHub, shellExchange } from '../ssh.js'
import type { FuzzFailure } from './drive-websocket.js'
import { fuzzCase } from './frames.js'
import { analyze } from './oracle.js'

export interface SshFuzzReport {
  cases: number
  seconds: number
  answered: number
  /** answers by payload key */
  answerKeys: Record<string, number>
  maxExchangeMs: number
  failures: FuzzFailure[]
}

const HUB_TIMEOUT_MS = 5_000
const CHECK_EVERY = 50
const GET_DATA = encodeRequest({ action: 0, data: new Map([[0, 1000]]), id: undefined })

export async function fuzzSsh(port: number, privateKey: string, agent: AgentProcess, options: { seed: number; cases: number; first?: number; maxFailures?: number }): Promise<SshFuzzReport> {
  const { seed, cases, first = 0, maxFailures = 20 } = options
  const started = performance.now()
  const report: SshFuzzReport = { cases: 0, seconds: 0, answered: 0, answerKeys: {}, maxExchangeMs: 0, failures: [] }
  const fail = (failure: FuzzFailure) => {
    if (report.failures.length < maxFailures) report.failures.push(failure)
  }
  const connect = async () => {
    const next = await connectAsHub(port, privateKey)
    next.on('error', () => undefined)
    // without it, Nagle and delayed ACKs add ~40 ms to every exchange
    next.setNoDelay(true)
    return next
  }
  let client: InstanceType<typeof ssh2.Client> = await connect()
  try {
    for (let index = first; index < first + cases; index++) {
      if (agent.exit !== undefined) {
        fail({ problem: `the agent exited (${JSON.stringify(agent.exit)}) after case ${index - 1}` })
        break
      }
      if (report.failures.length >= maxFailures) break
      const fuzz = fuzzCase(seed, index)
      const where = { index, kind: fuzz.kind, hex: fuzz.frame.toString('hex') }
      const analysis = analyze(fuzz.frame)
      report.cases += 1
      const at = performance.now()
      try {
        const { stdout, code } = await shellExchange(client, fuzz.frame, HUB_TIMEOUT_MS)
        report.maxExchangeMs = Math.max(report.maxExchangeMs, performance.now() - at)
        const response = decodeResponse(stdout)
        const payload = [...response.fields.keys()].filter((key) => key !== 0)
        for (const key of payload) report.answerKeys[String(key)] = (report.answerKeys[String(key)] ?? 0) + 1
        if (code !== 0) fail({ problem: `exit status ${String(code)}`, ...where })
        else if (payload.length === 0 || payload.some((key) => key < 1 || key > 8)) fail({ problem: `answer with payload keys [${payload.join(',')}]`, ...where })
        else if (analysis.verdict === 'must-answer' && response.id !== analysis.id) fail({ problem: `answered under id ${String(response.id)}, not ${String(analysis.id)}`, ...where })
        else report.answered += 1
      } catch (error) {
        fail({ problem: `no usable answer: ${(error as Error).message}`, ...where })
        // a broken session may take the connection with it: the next case starts on a fresh one
        client.end()
        client = await connect()
      }
      if ((index - first + 1) % CHECK_EVERY === 0) {
        try {
          const { stdout } = await shellExchange(client, GET_DATA, HUB_TIMEOUT_MS)
          if (!(decodeResponse(stdout).fields.get(1) instanceof Map)) fail({ problem: `GetData after case ${index} answered without data` })
        } catch (error) {
          fail({ problem: `GetData after case ${index} not answered: ${(error as Error).message}` })
        }
      }
    }
  } finally {
    client.end()
  }
  report.seconds = (performance.now() - started) / 1000
  return report
}
