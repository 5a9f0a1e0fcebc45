/**
 * The SSH server's listening socket: a TCP address (LISTEN's host and family) or a unix socket
 * file, whose stale leftover from a crashed agent is removed first and whose mode lets a hub in the
 * same group connect.
 */
import { chmod, lstat, unlink } from 'node:fs/promises'
import { connect, type AddressInfo, type Server as NetServer } from 'node:net'
import type { ListenAddress } from '../config/config.js'
import type { Logger } from '../log.js'

/** The Go agent's default SSH port. */
const DEFAULT_PORT = 45876

export interface Bound {
  /** `127.0.0.1:45876`, `[::]:45876`, `/run/x.sock` */
  address: string
  /** the socket file we created (remove it on stop) */
  unixPath: string | undefined
}

/** Binds `net` to `listen`; rejects on bind errors (in use, not allowed, a non-socket file in the way). */
export async function bindListener(net: NetServer, listen: ListenAddress, logger: Logger): Promise<Bound> {
  let unixPath: string | undefined
  if (listen.network === 'unix') {
    unixPath = listen.path ?? listen.text
    await removeStaleSocket(unixPath)
    await listenOn(net, { path: unixPath })
    // The hub connects as the same user or via a shared group (e.g. a mounted volume).
    await chmod(unixPath, 0o660).catch((error: unknown) =>
      logger.warn('cannot set the socket mode', { path: unixPath, error: error instanceof Error ? error.message : String(error) }),
    )
  } else {
    const host = listen.host || (listen.network === 'tcp4' ? '0.0.0.0' : listen.network === 'tcp6' ? '::' : undefined)
    await listenOn(net, { host, port: listen.port ?? DEFAULT_PORT, ipv6Only: listen.network === 'tcp6' })
  }
  return { address: describeAddress(net, unixPath), unixPath }
}

/** Removes the socket file of a stopped listener (gone already is fine). */
export async function removeSocketFile(path: string): Promise<void> {
  await unlink(path).catch(() => undefined)
}

type ListenOptions = { path: string } | { host: string | undefined; port: number; ipv6Only: boolean }

function listenOn(net: NetServer, options: ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error)
    net.once('error', onError)
    net.listen({ ...options, exclusive: true }, () => {
      net.removeListener('error', onError)
      resolve()
    })
  })
}

function describeAddress(net: NetServer, unixPath: string | undefined): string {
  if (unixPath) return unixPath
  const bound = net.address() as AddressInfo | null
  if (!bound) return ''
  return bound.family === 'IPv6' ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`
}

/**
 * Removes a socket file left by a crashed agent. A live listener is not stolen (the Go agent
 * removes the file unconditionally), and a path that is not a socket is not deleted.
 */
async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean
  try {
    isSocket = (await lstat(path)).isSocket()
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return
    throw error
  }
  if (!isSocket) throw new Error(`${path} exists and is not a socket; refusing to replace it`)
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect({ path })
    probe.once('connect', () => {
      probe.destroy()
      resolve(true)
    })
    probe.once('error', () => resolve(false))
  })
  if (live) throw new Error(`${path} is in use by another process`)
  await unlink(path)
}
