/**
 * POST /api/systems/:id/actions: the page asks, the hub signs (hub-actions.ts). This is the one
 * request of the page that makes the hub act with its key, so on top of the page's Host check
 * (DNS rebinding, server.ts) it is served only
 *  - to a peer on this machine (loopback): the page has no login, and whoever reaches a hub started
 *    with --host 0.0.0.0 must not get the hub's signature (an SSH tunnel reaches it from afar);
 *  - to the page's own origin: an Origin or Sec-Fetch-Site header that names another site is
 *    refused, and the body must be application/json, which no cross-site form or no-cors fetch can
 *    send without a CORS preflight this hub never answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { isLoopbackAddress } from '../../transport/loopback.js'
import type { HubStore } from '../store.js'
import { ActionTimeoutError, ActionUnavailableError, AnswerError, type ActionPort } from '../actions/hub-actions.js'
import { ActionRequestSchema } from '../actions/request.js'
import type { ApiError } from './api-types.js'
import { sendJson } from './respond.js'

export const ACTIONS_PATH = /^\/api\/systems\/([^/]+)\/actions$/
/** a request body is a few names and slot values */
export const MAX_ACTION_BODY_BYTES = 64 * 1024


/** Why a browser request comes from another site, or undefined when it is the page's own (or no browser's). */
export function foreignOrigin(req: IncomingMessage): string | undefined {
  const site = req.headers['sec-fetch-site']
  if (site !== undefined && site !== 'same-origin') return `Sec-Fetch-Site: ${String(site)}`
  const origin = req.headers.origin
  if (origin === undefined) return undefined
  let originHost: string
  try {
    originHost = new URL(origin).host
  } catch {
    return `Origin: ${origin}`
  }
  let host: string
  try {
    host = new URL(`http://${req.headers.host ?? ''}`).host
  } catch {
    return `Origin: ${origin}`
  }
  return originHost !== '' && originHost === host ? undefined : `Origin: ${origin}`
}

function error(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  const body: ApiError = { error: message }
  sendJson(res, status, body, headers)
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let over = false
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) over = true
      if (!over) chunks.push(chunk)
    })
    req.on('end', () => resolve(over ? 'too large' : Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

/** Serves one request to the actions path of system `id` (already decoded; the Host check done). */
export async function serveAction(req: IncomingMessage, res: ServerResponse, id: string, store: HubStore, actions: ActionPort | undefined): Promise<void> {
  if (req.method !== 'POST') return error(res, 405, `${req.method ?? '?'} is not allowed here; use POST`, { allow: 'POST' })
  if (!isLoopbackAddress(req.socket.remoteAddress)) {
    return error(res, 403, `host actions are signed only for a page opened on this machine (loopback), not from ${req.socket.remoteAddress ?? 'an unknown address'}; reach the hub through an SSH tunnel (ssh -L)`)
  }
  const foreign = foreignOrigin(req)
  if (foreign) return error(res, 403, `refused a cross-site request (${foreign}): host actions are served to the hub's own page only`)
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase()
  if (type !== 'application/json') return error(res, 415, 'the body must be application/json')

  const body = await readBody(req, MAX_ACTION_BODY_BYTES)
  if (body === 'too large') return error(res, 413, `the body is larger than ${MAX_ACTION_BODY_BYTES} bytes`)
  let json: unknown
  try {
    json = JSON.parse(body.toString('utf8'))
  } catch {
    return error(res, 400, 'the body is not JSON')
  }
  const request = ActionRequestSchema.safeParse(json)
  if (!request.success) {
    return error(res, 400, `bad action: ${request.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ')}`)
  }

  const system = store.get(id)
  if (!system) return error(res, 404, `unknown system ${JSON.stringify(id)}`)
  if (!actions) return error(res, 409, 'this page runs without a hub that signs actions')
  const availability = actions.availability(system)
  if (!availability.available) return error(res, 409, availability.reason)
  try {
    sendJson(res, 200, await actions.perform(id, request.data))
  } catch (failure) {
    const message = failure instanceof Error ? failure.message : String(failure)
    if (failure instanceof ActionUnavailableError) return error(res, 409, message)
    if (failure instanceof ActionTimeoutError) return error(res, 504, message)
    if (failure instanceof AnswerError) return error(res, 502, message)
    throw failure
  }
}
