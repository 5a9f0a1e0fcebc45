/**
 * The frame fuzzer's long run (test/fuzz-frames.test.ts runs a few thousand cases in the suite):
 * the same seeded cases and checks against `sonar-agent run`, over WebSocket and over SSH, with
 * figures: what the cases were, how they were answered, the slowest GetData after a batch, and the
 * agent's RSS before and after.
 *
 *   node --import tsx bench/fuzz.ts [--cases 100000] [--ssh-cases 10000] [--seed N]
 *
 * Exits non-zero on any failure (each printed with its case index and frame in hex; replay one with
 * SONAR_FUZZ_SEED=<seed> SONAR_FUZZ_FIRST=<index> SONAR_FUZZ_CASES=1 npx vitest run test/fuzz-frames.test.ts).
 * Linux only. Build first: npm run build:ts.
 */
import { randomInt } from 'node:crypto'
import { parseArgs } from 'node:util'
import { rssKiB, startAgentProcess } from '../test/helpers/agent-process.js'
import { fuzzSsh } from '../test/helpers/fuzz/drive-ssh.js'
import { fuzzWebSocket, type FuzzFailure } from '../test/helpers/fuzz/drive-websocket.js'
import { freePort, waitForPort } from '../test/helpers/net.js'
import { generateSshKeyPair } from '../test/helpers/ssh.js'
import { TestHub } from '../test/hub/test-hub.js'

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '100000' },
    'ssh-cases': { type: 'string', default: '10000' },
    seed: { type: 'string' },
  },
})
const cases = Number(values.cases)
const sshCases = Number(values['ssh-cases'])
const seed = values.seed === undefined ? randomInt(2 ** 32 - 1) : Number(values.seed)
/** as in the test: the collectors off, so that the frame layer is what is measured */
const QUIET = { LOG_LEVEL: 'error', DOCKER_HOST: '', SMART_DEVICES: '', SKIP_SYSTEMD: 'true', SKIP_GPU: 'true' }
const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`

/** RSS every 2 s until stopped (where the growth happens: early, then flat, or all along). */
function sampleRss(pid: number): { stop: () => number[] } {
  const samples: number[] = []
  const timer = setInterval(() => {
    try {
      samples.push(rssKiB(pid))
    } catch {
      // the process is gone: the run reports it
    }
  }, 2_000)
  return {
    stop: () => {
      clearInterval(timer)
      return samples
    },
  }
}

const quintiles = (samples: number[]): number[] => [1, 2, 3, 4, 5].map((q) => samples[Math.max(0, Math.ceil((q / 5) * samples.length) - 1)] ?? Number.NaN)

function printFailures(failures: FuzzFailure[]): void {
  for (const failure of failures) console.log(`  FAIL ${failure.problem}${failure.index === undefined ? '' : ` — case ${failure.index} (${failure.kind ?? '?'}): ${failure.hex ?? ''}`}`)
}

async function websocket(): Promise<boolean> {
  const hub = await TestHub.start()
  const agent = startAgentProcess({ HUB_URL: hub.url, TOKEN: hub.token, KEY: hub.publicKeyLine, DISABLE_SSH: 'true', ...QUIET })
  try {
    const connected = await hub.nextAccepted(30_000)
    await connected.getData(60_000)
    const before = rssKiB(agent.pid)
    const trend = sampleRss(agent.pid)
    const report = await fuzzWebSocket(hub, agent, { seed, cases })
    const after = agent.exit === undefined ? rssKiB(agent.pid) : Number.NaN
    const samples = trend.stop()
    console.log(`\nWebSocket: ${report.cases} cases in ${report.seconds.toFixed(0)} s (${(report.cases / report.seconds).toFixed(0)}/s)`)
    console.log(`  must answer ${report.mustAnswer}, answered ${report.mustAnswerAnswered}`)
    console.log(`  well-formed with a readable id outside the accepted subset ${report.idReadable}, answered ${report.idReadableAnswered}; unanswered by reason ${JSON.stringify(report.idReadableSilent)}`)
    console.log(`  no readable id ${report.noId}, text frames ${report.textFrames}; legacy (id-less) replies ${report.legacyReplies}`)
    console.log(`  answers by payload key ${JSON.stringify(report.answerKeys)}`)
    console.log(`  GetData after each batch: ${report.sentinels} answered, slowest ${report.sentinelMaxMs.toFixed(1)} ms; reconnects (after CheckFingerprint cases) ${report.reconnects}`)
    console.log(`  agent RSS ${mib(before)} → ${mib(after)}; at each fifth of the run ${quintiles(samples).map(mib).join(', ')}`)
    console.log(`  still running: ${agent.exit === undefined}; error log lines: ${agent.stderr().split('\n').filter((l) => / ERROR /.test(l)).length}`)
    printFailures(report.failures)
    return report.failures.length === 0 && agent.exit === undefined
  } finally {
    await agent.stop()
    await hub.stop()
  }
}

async function ssh(): Promise<boolean> {
  const keys = generateSshKeyPair()
  const port = await freePort()
  const agent = startAgentProcess({ LISTEN: `127.0.0.1:${port}`, KEY: keys.public, ...QUIET })
  try {
    await waitForPort(port)
    const before = rssKiB(agent.pid)
    const report = await fuzzSsh(port, keys.private, agent, { seed, cases: sshCases })
    const after = agent.exit === undefined ? rssKiB(agent.pid) : Number.NaN
    console.log(`\nSSH: ${report.cases} sessions in ${report.seconds.toFixed(0)} s (${(report.cases / report.seconds).toFixed(0)}/s)`)
    console.log(`  answered with exit status 0 ${report.answered}; answers by payload key ${JSON.stringify(report.answerKeys)}; slowest ${report.maxExchangeMs.toFixed(0)} ms`)
    console.log(`  agent RSS ${mib(before)} → ${mib(after)}; still running: ${agent.exit === undefined}`)
    printFailures(report.failures)
    return report.failures.length === 0 && agent.exit === undefined
  } finally {
    await agent.stop()
  }
}

console.log(`frame fuzzer: seed ${seed}, ${cases} WebSocket cases, ${sshCases} SSH sessions (node ${process.version})`)
const ok = [cases > 0 ? await websocket() : true, sshCases > 0 ? await ssh() : true].every(Boolean)
console.log(ok ? '\nPASS' : '\nFAIL')
process.exitCode = ok ? 0 : 1
