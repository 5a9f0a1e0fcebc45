/**
 * The page's Server-Sent Events stream (/api/events). Every stream gets the list of systems when it
 * changes; a stream opened with ?system=<id> also gets that system's samples and counts as watching
 * it (store.watch), which makes the hub poll it every second until the stream closes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { HubStore, StoreEvent } from '../store.js'
import type { ActionPort } from '../actions/hub-actions.js'
import type { SampleEvent, SmartDeviceView, SystemView } from './api-types.js'

/** A comment line this often keeps proxies and the browser from timing the stream out. */
const KEEPALIVE_MS = 15_000
/** A page that stops reading is dropped rather than buffered without bound. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024
/** The list of systems changes on every sample (headline numbers): sent at most this often. */
const SYSTEMS_THROTTLE_MS = 1_000

/** Without a hub that signs (the stand-alone web server), no system offers actions. */
const NO_ACTIONS = { available: false, reason: 'this page runs without a hub that signs actions' } as const

export function systemViews(store: HubStore, actions?: ActionPort): SystemView[] {
  return store.list().map((system) => {
    const latest = store.latest(system.id)
    const smart = [...store.smartDevices(system.id).values()]
      .map(({ attributes, ...record }): SmartDeviceView => ({ ...record, attributeCount: attributes.length }))
      .sort((a, b) => a.name.localeCompare(b.name))
    return {
      ...system,
      watched: store.isWatched(system.id),
      latest: latest ? { at: latest.at, cpu: latest.data.stats.cpu, mp: latest.data.stats.mp, dp: latest.data.stats.dp } : null,
      details: store.details(system.id) ?? null,
      smart,
      actions: actions ? actions.availability(system) : NO_ACTIONS,
    }
  })
}

export class EventStreams {
  private readonly open = new Map<ServerResponse, () => void>()

  constructor(
    private readonly store: HubStore,
    /** the hub's host actions, once the hub gave them */
    private readonly actions: () => ActionPort | undefined = () => undefined,
  ) {}

  get size(): number {
    return this.open.size
  }

  /** Takes over the response as an event stream; `systemId` must be a known system (or undefined). */
  serve(req: IncomingMessage, res: ServerResponse, systemId: string | undefined): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    })
    res.socket?.setNoDelay(true)
    const send = (event: string, data: unknown): void => {
      if (res.writableEnded || res.destroyed) return
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        res.destroy()
        return
      }
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    }

    let systemsTimer: NodeJS.Timeout | undefined
    let systemsSentAt = 0
    const sendSystems = (): void => {
      systemsTimer = undefined
      systemsSentAt = Date.now()
      send('systems', systemViews(this.store, this.actions()))
    }
    const scheduleSystems = (): void => {
      if (systemsTimer) return
      systemsTimer = setTimeout(sendSystems, Math.max(0, systemsSentAt + SYSTEMS_THROTTLE_MS - Date.now()))
    }

    const unsubscribe = this.store.subscribe((event: StoreEvent) => {
      if (event.type === 'sample' && event.id === systemId) {
        const payload: SampleEvent = { id: event.id, sample: event.sample }
        send('sample', payload)
      }
      scheduleSystems()
    })
    // reconnecting EventSources wait this long (ms) before they retry
    res.write('retry: 2000\n\n')
    if (systemId !== undefined) this.store.watch(systemId, true)
    sendSystems()
    const keepalive = setInterval(() => {
      if (!res.writableEnded) res.write(': keepalive\n\n')
    }, KEEPALIVE_MS)

    let closed = false
    const cleanup = (): void => {
      if (closed) return
      closed = true
      clearInterval(keepalive)
      if (systemsTimer) clearTimeout(systemsTimer)
      unsubscribe()
      this.open.delete(res)
      if (systemId !== undefined) this.store.watch(systemId, false)
    }
    this.open.set(res, cleanup)
    req.on('close', cleanup)
    res.on('close', cleanup)
    res.on('error', cleanup)
  }

  /** Ends every stream (the hub is stopping); their cleanup un-watches the systems. */
  closeAll(): void {
    for (const [res, cleanup] of [...this.open]) {
      cleanup()
      res.end()
    }
  }
}
