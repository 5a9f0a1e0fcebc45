/**
 * The dev hub's web side: the page, its bundled assets and a small JSON + Server-Sent Events API
 * over the HubStore. createWebHandler mounts on any http.Server (the hub serves it next to the
 * agents' WebSocket routes); startWebServer is the stand-alone form.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { isIP, type AddressInfo } from 'node:net'
import * as z from 'zod/mini'
import type { HubStore } from '../store.js'
import type { ActionPort } from '../actions/hub-actions.js'
import { ACTIONS_PATH, serveAction } from './actions-endpoint.js'
import type { ApiError, HistoryResponse } from './api-types.js'
import { loadAssets, type Asset } from './assets.js'
import { EventStreams, systemViews } from './events.js'
import { PAGE_HTML } from './html.js'
import { send, sendJson } from './respond.js'

/** Handles the request and returns true when the path is the web side's; false leaves it to the caller. */
export type WebHandler = ((req: IncomingMessage, res: ServerResponse) => boolean) & {
  /** ends every open event stream (before the server closes, which would otherwise wait for them) */
  closeStreams(): void
  /** the hub's host actions (POST /api/systems/:id/actions); without them the Actions panel says so */
  useActions(actions: ActionPort): void
}

const SystemIdSchema = z.string().check(z.minLength(1), z.maxLength(256))
const HistoryQuerySchema = z.object({ since: z.optional(z.pipe(z.coerce.number(), z.int().check(z.nonnegative(), z.lte(Number.MAX_SAFE_INTEGER)))) })
const EventsQuerySchema = z.object({ system: z.optional(SystemIdSchema) })

const HISTORY_PATH = /^\/api\/systems\/([^/]+)\/history$/

/**
 * The Host header a page may be reached by: IP literals, localhost and the names the hub was told
 * (`--host`). Any other name is a DNS-rebinding attempt — a site pointing its own name at
 * 127.0.0.1 to read this page — and gets 403.
 */
export function hostAllowed(hostHeader: string | undefined, extraNames: readonly string[] = []): boolean {
  if (!hostHeader) return true // HTTP/1.0 clients; browsers always send Host
  const name = hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : hostHeader.replace(/:\d*$/, '')
  const lower = name.toLowerCase()
  if (lower === 'localhost' || lower.endsWith('.localhost') || isIP(lower.replace(/^\[|\]$/g, '')) !== 0) return true
  return extraNames.some((n) => n.toLowerCase() === lower)
}

export function createWebHandler(store: HubStore, options: { hostNames?: readonly string[]; actions?: ActionPort } = {}): WebHandler {
  let actions = options.actions
  const streams = new EventStreams(store, () => actions)
  let assets: Promise<Map<string, Asset>> | undefined

  const route = (req: IncomingMessage, res: ServerResponse, url: URL): boolean => {
    const path = url.pathname
    const actionsPath = ACTIONS_PATH.exec(path)
    const mine =
      path === '/' || path === '/index.html' || path.startsWith('/assets/') || path === '/api/systems' || path === '/api/events' || HISTORY_PATH.test(path) || actionsPath !== null
    if (!mine) return false
    const host = req.headers?.host
    if (!hostAllowed(host, options.hostNames)) {
      sendJson(res, 403, { error: `Host ${JSON.stringify(host)} is not allowed (DNS rebinding protection): open the page by IP or localhost, or start the hub with --host ${host?.replace(/:\d*$/, '') ?? ''}` })
      return true
    }
    if (actionsPath) {
      const id = decodeId(res, actionsPath[1] ?? '')
      if (id === undefined) return true
      serveAction(req, res, id, store, actions).catch((error: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: error instanceof Error ? error.message : String(error) })
        else res.destroy()
      })
      return true
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: `${req.method ?? '?'} is not allowed here; use GET` }, { allow: 'GET, HEAD' })
      return true
    }
    if (path === '/' || path === '/index.html') {
      send(res, 200, 'text/html; charset=utf-8', PAGE_HTML)
    } else if (path.startsWith('/assets/')) {
      // a failed load is retried on the next request (the bundle may be built meanwhile)
      assets ??= loadAssets().catch((error: unknown) => {
        assets = undefined
        throw error
      })
      void serveAsset(req, res, assets, path.slice('/assets/'.length))
    } else if (path === '/api/systems') {
      sendJson(res, 200, systemViews(store, actions))
    } else if (path === '/api/events') {
      const query = EventsQuerySchema.safeParse(Object.fromEntries(url.searchParams))
      if (!query.success) return badRequest(res, query.error)
      const id = query.data.system
      if (id !== undefined && !store.get(id)) return unknownSystem(res, id)
      if (req.method === 'HEAD') res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' }).end()
      else streams.serve(req, res, id)
    } else {
      const id = decodeId(res, HISTORY_PATH.exec(path)?.[1] ?? '')
      if (id === undefined) return true
      const query = HistoryQuerySchema.safeParse(Object.fromEntries(url.searchParams))
      if (!query.success) return badRequest(res, query.error)
      if (!store.get(id)) return unknownSystem(res, id)
      const body: HistoryResponse = { id, samples: store.history(id, query.data.since ?? 0) }
      sendJson(res, 200, body)
    }
    return true
  }

  const handler = (req: IncomingMessage, res: ServerResponse): boolean => {
    let url: URL
    try {
      url = new URL(req.url ?? '/', 'http://hub.invalid')
    } catch {
      return false
    }
    try {
      return route(req, res, url)
    } catch (error) {
      // never let a bad request take the hub down
      if (!res.headersSent) sendJson(res, 500, { error: error instanceof Error ? error.message : String(error) })
      else res.destroy()
      return true
    }
  }
  return Object.assign(handler, {
    closeStreams: () => streams.closeAll(),
    useActions: (port: ActionPort) => {
      actions = port
    },
  })
}

export interface WebServer {
  url: string
  close(): Promise<void>
}

/** The web side on its own http.Server (127.0.0.1 by default: the page has no authentication). */
export async function startWebServer(options: { store: HubStore; host?: string; port?: number }): Promise<WebServer> {
  const host = options.host ?? '127.0.0.1'
  const handler = createWebHandler(options.store)
  const server = createServer((req, res) => {
    if (!handler(req, res)) sendJson(res, 404, { error: `no such page: ${req.url ?? ''}` })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    close: async () => {
      handler.closeStreams()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeIdleConnections()
      })
    },
  }
}

async function serveAsset(req: IncomingMessage, res: ServerResponse, pending: Promise<Map<string, Asset>>, name: string): Promise<void> {
  let assets: Map<string, Asset>
  try {
    assets = await pending
  } catch (error) {
    sendJson(res, 500, { error: error instanceof Error ? error.message : String(error) })
    return
  }
  const asset = assets.get(name)
  if (!asset) {
    sendJson(res, 404, { error: `no such asset: ${name}` })
    return
  }
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, { etag: asset.etag }).end()
    return
  }
  send(res, 200, asset.contentType, asset.body, { etag: asset.etag })
}

/** A system id from the path, or undefined after answering 400. */
function decodeId(res: ServerResponse, rawId: string): string | undefined {
  try {
    return decodeURIComponent(rawId)
  } catch {
    sendJson(res, 400, { error: `malformed system id ${JSON.stringify(rawId)}` })
    return undefined
  }
}

function badRequest(res: ServerResponse, error: z.core.$ZodError): true {
  const body: ApiError = { error: `bad query: ${error.issues.map((issue) => `${issue.path.join('.') || 'query'}: ${issue.message}`).join('; ')}` }
  sendJson(res, 400, body)
  return true
}

function unknownSystem(res: ServerResponse, id: string): true {
  const body: ApiError = { error: `unknown system ${JSON.stringify(id)}` }
  sendJson(res, 404, body)
  return true
}
