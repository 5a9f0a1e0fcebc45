/** STUB (helper PROTOCOL replaces): action → handler, verification gate, error answers. */
import type { Collector } from './collector.js'
import type { HubKey } from './identity/keys.js'
import type { Logger } from './log.js'

export interface Session {
  readonly transport: 'websocket' | 'ssh'
  verified: boolean
}

export interface DispatchResult {
  reply?: Buffer
  close?: { reason: string }
}

export interface DispatcherDeps {
  collector: Pick<Collector, 'collect'>
  keys: () => readonly HubKey[]
  token: () => string | undefined
  fingerprint: () => string
  hostname: () => string
  listenPort: () => string
  systemName: () => string | undefined
  logger: Logger
  onVerified?: () => void
}

export class Dispatcher {
  constructor(readonly deps: DispatcherDeps) {}

  async handle(_frame: Uint8Array, _session: Session): Promise<DispatchResult> {
    throw new Error('not implemented')
  }
}
