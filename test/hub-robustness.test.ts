/**
 * The dev hub survives what an agent or a web page can throw at it (review findings): close
 * reasons over 123 bytes, a request URL that does not parse, a fingerprint file it cannot write,
 * and DNS-rebinding Host headers on the page. Real hub, real WebSocket and TCP clients.
 */
import { rmSync, mkdtempSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { startDevHub, type DevHub } from '../ts/hub/hub.js'
import { HubStore } from '../ts/hub/store.js'
import { createWebHandler, hostAllowed } from '../ts/hub/web/server.js'
import { closeReason } from '../ts/hub/ws-session.js'
import { decodeRequest, encodeResponse } from '../ts/protocol/envelope.js'
import { createLogger } from '../ts/log.js'

const hubs: DevHub[] = []
afterEach(async () => {
  await Promise.all(hubs.splice(0).map((h) => h.close()))
})

async function startHub(): Promise<{ hub: DevHub; dataDir: string; log: () => string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sonar-hub-robust-'))
  let log = ''
  const store = new HubStore()
  const hub = await startDevHub({ dataDir, port: 0, store, web: createWebHandler(store), logger: createLogger('debug', { write: (l: string) => (log += l) }) })
  hubs.push(hub)
  return { hub, dataDir, log: () => log }
}

/** A hand-driven "agent": answers the hub's CheckFingerprint with `answer`, reports how it was closed. */
function fakeAgent(hub: DevHub, answer: Parameters<typeof encodeResponse>[1]): Promise<{ code: number; reason: string }> {
  const ws = new WebSocket(`${hub.agentUrl.replace('http', 'ws')}/api/beszel/agent-connect`, { headers: { 'X-Token': hub.token, 'X-Beszel': '0.17.0' } })
  ws.on('message', (data: Buffer) => {
    const request = decodeRequest(new Uint8Array(data))
    ws.send(encodeResponse(request.id, answer))
  })
  return new Promise((resolve, reject) => {
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))
    ws.once('error', reject)
  })
}

async function pageStatus(hub: DevHub, host?: string): Promise<number> {
  const url = new URL('/api/systems', hub.url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(`GET /api/systems HTTP/1.1\r\nHost: ${host ?? url.host}\r\nConnection: close\r\n\r\n`)
    })
    let text = ''
    socket.on('data', (chunk) => (text += chunk.toString()))
    socket.on('end', () => resolve(Number(text.split(' ')[1])))
    socket.on('error', reject)
  })
}

describe('dev hub robustness', () => {
  it('close-reason-bytes: a reason is cut to 123 UTF-8 bytes on a character boundary', () => {
    const cut = closeReason('→'.repeat(100))
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(123)
    expect(cut).toBe('→'.repeat(41))
    expect(closeReason('short')).toBe('short')
  })

  it('an agent error of many multi-byte characters is a refusal, not a crashed hub', async () => {
    const { hub } = await startHub()
    const closed = await fakeAgent(hub, { kind: 'error', message: 'signature → invalid → '.repeat(20) })
    expect(closed.code).toBe(1000)
    expect(Buffer.byteLength(closed.reason)).toBeLessThanOrEqual(123)
    expect(await pageStatus(hub)).toBe(200)
  })

  it('an upgrade to "//" (an URL that does not parse) is a 400, and the hub serves on', async () => {
    const { hub } = await startHub()
    const url = new URL(hub.agentUrl)
    const status = await new Promise<number>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(`GET // HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`)
      })
      let text = ''
      socket.on('data', (chunk) => (text += chunk.toString()))
      socket.on('close', () => resolve(Number(text.split(' ')[1])))
      socket.on('error', reject)
    })
    expect(status).toBe(400)
    expect(await pageStatus(hub)).toBe(200)
  })

  it('pin-write-failure: a fingerprint file that cannot be written refuses the agent ("database error"), the hub lives on', async () => {
    const { hub, dataDir, log } = await startHub()
    rmSync(dataDir, { recursive: true, force: true })
    const closed = await fakeAgent(hub, { kind: 'fingerprint', fingerprint: 'a'.repeat(48) })
    expect(closed.reason).toMatch(/^database error: cannot write/)
    expect(hub.store.list()).toEqual([])
    expect(log()).toContain('agent refused')
    expect(await pageStatus(hub)).toBe(200)
  })

  it('dns-rebinding: the page answers IP literals and localhost, and refuses other Host names', async () => {
    const { hub } = await startHub()
    const port = new URL(hub.url).port
    expect(await pageStatus(hub, `127.0.0.1:${port}`)).toBe(200)
    expect(await pageStatus(hub, `localhost:${port}`)).toBe(200)
    expect(await pageStatus(hub, `evil.example:${port}`)).toBe(403)
    expect(hostAllowed('[::1]:8090')).toBe(true)
    expect(hostAllowed('myserver:8090', ['myserver'])).toBe(true)
    expect(hostAllowed('myserver.evil.example')).toBe(false)
  })
})
