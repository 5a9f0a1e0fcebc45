/** STUB (helper SSH replaces): the fallback SSH server the hub dials in to. */
import type { ListenAddress } from '../config/config.js'
import type { Dispatcher } from '../dispatch.js'
import type { HubKey } from '../identity/keys.js'
import type { Logger } from '../log.js'

export interface SshServerOptions {
  listen: ListenAddress
  keys: () => readonly HubKey[]
  /** data-dir file holding the host key; generated once. undefined: an in-memory key */
  hostKeyPath: string | undefined
  dispatcher: Pick<Dispatcher, 'handle'>
  /** CBOR CombinedData for hubs older than 0.13 that expect a pushed payload */
  legacyPayload: () => Promise<Buffer>
  logger: Logger
  /** each authenticated session (the connection manager's SSHConnect) */
  onSession?: () => void
}

export class SshServer {
  constructor(readonly options: SshServerOptions) {}

  get address(): string {
    return this.options.listen.text
  }

  async start(): Promise<void> {
    throw new Error('not implemented')
  }

  async stop(): Promise<void> {
    throw new Error('not implemented')
  }
}
