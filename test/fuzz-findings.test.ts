/**
 * What the frame fuzzer (test/fuzz-frames.test.ts) found, each pinned on its own against the real
 * agent (`node dist/bin.cjs run`) and the test hub. Both are requests whose id the agent can read,
 * and which it leaves unanswered, so the hub waits its full 5 s (spec §2.10).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { encodeRequest } from '../ts/protocol/envelope.js'
import { startAgentProcess, type AgentProcess } from './helpers/agent-process.js'
import { encode, intMap, map, text, uint, type Item } from './helpers/fuzz/cbor-tree.js'
import { TestHub, type HubConnection } from './hub/test-hub.js'

const agents: AgentProcess[] = []
const hubs: TestHub[] = []
const cleanups: (() => void)[] = []
afterEach(async () => {
  await Promise.all(agents.splice(0).map((agent) => agent.stop()))
  await Promise.all(hubs.splice(0).map((hub) => hub.stop()))
  for (const cleanup of cleanups.splice(0)) cleanup()
})

async function verifiedAgent(env: Record<string, string> = {}): Promise<HubConnection> {
  const hub = await TestHub.start()
  hubs.push(hub)
  agents.push(startAgentProcess({ HUB_URL: hub.url, TOKEN: hub.token, KEY: hub.publicKeyLine, DISABLE_SSH: 'true', SMART_DEVICES: '', SKIP_SYSTEMD: 'true', SKIP_GPU: 'true', LOG_LEVEL: 'warn', ...env }))
  return hub.nextAccepted(15_000)
}

/** The ids answered on `connection` within `ms`. */
async function answeredIds(connection: HubConnection, ms: number): Promise<Map<number, string | undefined>> {
  await new Promise((resolve) => setTimeout(resolve, ms))
  return new Map(connection.unmatched.flatMap((reply) => (reply.response.id === undefined ? [] : [[reply.response.id, reply.response.error] as const])))
}

/** A container engine socket that accepts and never answers: each request to it is in flight for DOCKER_TIMEOUT. */
function silentEngine(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sonar-silent-engine-'))
  const path = join(dir, 'engine.sock')
  const sockets: Socket[] = []
  const server: Server = createServer((socket) => sockets.push(socket)).listen(path)
  cleanups.push(() => {
    for (const socket of sockets) socket.destroy()
    server.close()
    rmSync(dir, { recursive: true, force: true })
  })
  return `unix://${path}`
}

describe('frame fuzzer findings', () => {
  it('busy-answer-keeps-id: with 64 requests in flight, a request the decoder refuses but whose id it reads is still answered under that id', async () => {
    const connection = await verifiedAgent({ DOCKER_HOST: silentEngine(), DOCKER_TIMEOUT: '3s' })
    // 64 GetContainerInfo held by the silent engine: the connection's in-flight limit is reached
    for (let id = 100; id < 164; id++) await connection.send(encodeRequest({ action: 3, data: new Map([[0, 'abcdef123456']]), id }))
    // well-formed, id 501, an action the agent does not know: answered "busy" today
    await connection.send(encode(intMap([[0, uint(200)], [2, uint(501)]])))
    // well-formed, id 500, but the action is -0.0 (a float): the decoder reads the id and refuses the
    // request; under load the busy path decodes it again, gets the same refusal, and sends nothing
    await connection.send(encode(intMap([[0, { k: 'float', v: -0, w: 2 }], [1, intMap([[0, uint(1000)]])], [2, uint(500)]])))
    const answered = await answeredIds(connection, 1_500)
    expect(answered.get(501)).toMatch(/busy/)
    expect(answered.has(500)).toBe(true)
  })

  it('readable-id-answered: a well-formed request (RFC 8949) with a readable uint32 id outside the accepted subset gets {0: id, 3: …}', async () => {
    const connection = await verifiedAgent({ DOCKER_HOST: '' })
    let deep: Item = uint(1000)
    for (let i = 0; i < 40; i++) deep = intMap([[0, deep]])
    const getData = (id: number, data: Item, extra: [Item, Item][] = []): Buffer => encode(map([[uint(0), uint(0)], [uint(1), data], [uint(2), uint(id)], ...extra]))
    const frames: [number, string, Buffer][] = [
      [600, 'a tag in Data', getData(600, intMap([[0, { k: 'tag', tag: 1n, item: uint(1000) }]]))],
      [601, 'a key repeated in Data', getData(601, map([[uint(0), uint(1000)], [uint(0), uint(1000)]]))],
      [602, 'invalid UTF-8 in a text string', getData(602, intMap([[0, { k: 'text', v: Buffer.from([0xff]) }]]))],
      [603, 'Data nested 40 deep', getData(603, deep)],
      [604, 'an unassigned simple value', getData(604, intMap([[0, { k: 'simple', v: 0 }]]))],
      [605, 'a text key at the top level', getData(605, intMap([[0, uint(1000)]]), [[text('x'), uint(1)]])],
    ]
    for (const [, , frame] of frames) await connection.send(frame)
    const answered = await answeredIds(connection, 1_500)
    const unanswered = frames.filter(([id]) => !answered.has(id)).map(([id, what, frame]) => `${id} (${what}): ${frame.toString('hex')}`)
    expect(unanswered).toEqual([])
  })
})
