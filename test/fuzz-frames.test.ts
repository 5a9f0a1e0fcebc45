/**
 * The frame fuzzer against the real agent (`node dist/bin.cjs run`): seeded mutations of valid hub
 * requests and random bytes (test/helpers/fuzz/frames.ts) through the test hub's WebSocket and over
 * SSH. The agent must never exit, must keep answering a plain GetData within 5 s after every batch,
 * and must answer every well-formed request with an id (test/helpers/fuzz/oracle.ts decides which)
 * with `{0: id, …}`.
 *
 *   SONAR_FUZZ_CASES=100000 npx vitest run test/fuzz-frames.test.ts   (the long run; npm run bench:fuzz prints figures)
 *   SONAR_FUZZ_SEED=<seed> SONAR_FUZZ_FIRST=<index> SONAR_FUZZ_CASES=1 …  (replays one case)
 *
 * The agent runs with containers, S.M.A.R.T., systemd and GPUs off: what is under test is the
 * frame layer (decoding, dispatch, answers), not the collectors behind it, and every case then
 * costs milliseconds. Build first: npm run build:ts.
 */
import { randomInt } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { startAgentProcess, type AgentProcess } from './helpers/agent-process.js'
import { fuzzSsh } from './helpers/fuzz/drive-ssh.js'
import { fuzzWebSocket } from './helpers/fuzz/drive-websocket.js'
import { freePort, waitForPort } from './helpers/net.js'
import { generateSshKeyPair } from './helpers/ssh.js'
import { TestHub } from './hub/test-hub.js'

const CASES = Number(process.env.SONAR_FUZZ_CASES ?? 3_000)
/** SSH sessions cost ~30 ms each here: a tenth of the cases, at least 200 (or all of a short replay) */
const SSH_CASES = Number(process.env.SONAR_FUZZ_SSH_CASES ?? (CASES <= 200 ? CASES : Math.max(200, Math.round(CASES / 10))))
const SEED = process.env.SONAR_FUZZ_SEED ? Number(process.env.SONAR_FUZZ_SEED) : randomInt(2 ** 32 - 1)
const FIRST = Number(process.env.SONAR_FUZZ_FIRST ?? 0)
/** the collectors off (see above); LOG_LEVEL=error: any error line is a handler that failed */
const QUIET = { LOG_LEVEL: 'error', DOCKER_HOST: '', SMART_DEVICES: '', SKIP_SYSTEMD: 'true', SKIP_GPU: 'true' }

const replay = (transport: string, cases: number) =>
  `frame fuzzer (${transport}): seed ${SEED}, cases ${FIRST}–${FIRST + cases - 1}; replay one with SONAR_FUZZ_SEED=${SEED} SONAR_FUZZ_FIRST=<index> SONAR_FUZZ_CASES=1`

const agents: AgentProcess[] = []
const hubs: TestHub[] = []
afterEach(async () => {
  await Promise.all(agents.splice(0).map((agent) => agent.stop()))
  await Promise.all(hubs.splice(0).map((hub) => hub.stop()))
})

const errorLines = (agent: AgentProcess) => agent.stderr().split('\n').filter((line) => / ERROR /.test(line))

describe('frame fuzzer', () => {
  it(`WebSocket: ${CASES} cases, every well-formed request with an id answered, GetData answered after every batch`, { timeout: 60_000 + CASES * 20 }, async () => {
    console.log(replay('WebSocket', CASES))
    const hub = await TestHub.start()
    hubs.push(hub)
    const agent = startAgentProcess({ HUB_URL: hub.url, TOKEN: hub.token, KEY: hub.publicKeyLine, DISABLE_SSH: 'true', ...QUIET })
    agents.push(agent)
    const report = await fuzzWebSocket(hub, agent, { seed: SEED, first: FIRST, cases: CASES })
    const { failures, ...figures } = report
    console.log(JSON.stringify(figures))
    expect(failures).toEqual([])
    expect(agent.exit).toBeUndefined()
    expect(report.mustAnswerAnswered).toBe(report.mustAnswer)
    expect(report.sentinels).toBeGreaterThanOrEqual(Math.ceil(CASES / 48))
    // the mix exercises what it claims to (a generator that drifted to one shape would pass trivially)
    if (CASES >= 1_000) {
      expect(report.mustAnswer).toBeGreaterThan(CASES / 10)
      expect(report.noId).toBeGreaterThan(CASES / 10)
      expect(report.answerKeys['1']).toBeGreaterThan(0)
      expect(report.answerKeys['3']).toBeGreaterThan(0)
    }
    expect(errorLines(agent)).toEqual([])
  })

  it(`SSH: ${SSH_CASES} cases, each session answered with exit status 0 and its id, GetData answered every 50`, { timeout: 60_000 + SSH_CASES * 100 }, async () => {
    console.log(replay('SSH', SSH_CASES))
    const keys = generateSshKeyPair()
    const port = await freePort()
    const agent = startAgentProcess({ LISTEN: `127.0.0.1:${port}`, KEY: keys.public, ...QUIET })
    agents.push(agent)
    await waitForPort(port)
    const report = await fuzzSsh(port, keys.private, agent, { seed: SEED, first: FIRST, cases: SSH_CASES })
    const { failures, ...figures } = report
    console.log(JSON.stringify(figures))
    expect(failures).toEqual([])
    expect(agent.exit).toBeUndefined()
    expect(report.answered).toBe(SSH_CASES)
    expect(errorLines(agent)).toEqual([])
  })
})
