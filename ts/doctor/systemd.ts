/**
 * systemd services come over the D-Bus system bus. From TypeScript the doctor checks what a socket
 * can tell: the bus address (DBUS_SYSTEM_BUS_ADDRESS, else /run/dbus/system_bus_socket), that this
 * user may connect, and that the bus accepts it (the SASL `AUTH EXTERNAL` step every D-Bus client
 * starts with). Whether systemd itself answers on that bus needs a D-Bus method call, which is the
 * collector's job; /run/systemd/system says whether systemd runs on THIS host.
 */
import { connect } from 'node:net'
import { stat } from 'node:fs/promises'
import { errorCode, result, withTimeout, type CheckResult } from './check.js'
import type { DoctorContext } from './core.js'
import type { NativeBinding } from '../native.js'

const GROUP = 'systemd'
export const DEFAULT_SYSTEM_BUS = '/run/dbus/system_bus_socket'
const AUTH_TIMEOUT_MS = 2_000

export type BusAddress = { kind: 'path'; path: string } | { kind: 'abstract'; name: string } | { kind: 'other'; text: string }

/** The first entry of a D-Bus address list (`unix:path=/x,guid=…;tcp:…`) as a socket to connect to. */
export function parseBusAddress(text: string): BusAddress {
  const entries = text.split(';').map((e) => e.trim()).filter((e) => e !== '')
  for (const entry of entries) {
    const colon = entry.indexOf(':')
    if (entry.slice(0, colon) !== 'unix') continue
    const params = new Map(
      entry
        .slice(colon + 1)
        .split(',')
        .map((kv) => {
          const eq = kv.indexOf('=')
          return [kv.slice(0, eq), decodeURIComponent(kv.slice(eq + 1))] as const
        }),
    )
    const path = params.get('path')
    if (path) return { kind: 'path', path }
    const name = params.get('abstract')
    if (name) return { kind: 'abstract', name }
  }
  return { kind: 'other', text }
}

type AuthOutcome = { accepted: true } | { accepted: false; reply: string }

/** Connects and performs `AUTH EXTERNAL <uid>`; closes before BEGIN (no message is sent). */
function authenticate(socketPath: string, uid: number): Promise<AuthOutcome> {
  const socket = connect({ path: socketPath })
  const work = new Promise<AuthOutcome>((resolve, reject) => {
    let reply = ''
    socket.setEncoding('utf8')
    socket.on('connect', () => {
      socket.write(`\0AUTH EXTERNAL ${Buffer.from(String(uid)).toString('hex')}\r\n`)
    })
    socket.on('data', (chunk: string) => {
      reply += chunk
      if (!reply.includes('\r\n')) return
      const line = reply.split('\r\n')[0] ?? ''
      resolve(line.startsWith('OK ') ? { accepted: true } : { accepted: false, reply: line.slice(0, 120) })
    })
    socket.on('error', reject)
    socket.on('close', () => reject(Object.assign(new Error('the bus closed the connection'), { code: 'ECONNRESET' })))
  })
  return withTimeout(work, AUTH_TIMEOUT_MS, () => socket.destroy()).finally(() => socket.destroy())
}

/**
 * Asks systemd for one unit through the core's own D-Bus client (the collector's path). A "not
 * loaded" answer is systemd answering too; "unsupported operation"-class errors are not.
 */
async function checkSystemdAnswers(native: NativeBinding, shown: string): Promise<CheckResult> {
  try {
    await withTimeout(native.systemdInfo('systemd-journald'), 5_000)
    return result(GROUP, 'systemd', 'ok', `systemd answers on ${shown} (systemd-journald.service read)`)
  } catch (error) {
    const code = (error as { code?: unknown }).code
    const message = error instanceof Error ? error.message : String(error)
    if (code === 'ERR_SONAR_SYSTEMD' && message.includes('not loaded')) {
      return result(GROUP, 'systemd', 'ok', `systemd answers on ${shown}`)
    }
    return result(GROUP, 'systemd', 'warn', `the bus at ${shown} works but systemd does not answer on it: ${message}`, 'point DBUS_SYSTEM_BUS_ADDRESS at the bus systemd uses, or set SKIP_SYSTEMD=true')
  }
}

const CONTAINER_FIX = 'in a container, mount the host\'s bus: -v /var/run/dbus/system_bus_socket:/var/run/dbus/system_bus_socket:ro'

export async function checkSystemd(context: DoctorContext): Promise<CheckResult[]> {
  if (context.flag('SKIP_SYSTEMD')) return [result(GROUP, 'services', 'skip', 'disabled: SKIP_SYSTEMD=true')]
  const patterns = context.setting('SERVICE_PATTERNS')?.trim() || '*.service'
  const systemdHere = await stat('/run/systemd/system').then((s) => s.isDirectory(), () => false)
  const configured = context.env.DBUS_SYSTEM_BUS_ADDRESS
  const address = configured !== undefined && configured.trim() !== '' ? parseBusAddress(configured) : ({ kind: 'path', path: DEFAULT_SYSTEM_BUS } as const)
  const source = configured !== undefined && configured.trim() !== '' ? 'DBUS_SYSTEM_BUS_ADDRESS' : 'the default address'
  if (address.kind === 'other') {
    return [result(GROUP, 'system bus', 'warn', `DBUS_SYSTEM_BUS_ADDRESS has no unix:path= or unix:abstract= entry; only unix sockets are checked`, 'set DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/dbus/system_bus_socket')]
  }
  const socketPath = address.kind === 'path' ? address.path : `\0${address.name}`
  const shown = address.kind === 'path' ? address.path : `@${address.name}`
  const systemdLine = systemdHere ? 'systemd runs on this host (/run/systemd/system)' : 'no /run/systemd/system here (fine when the bus is the host\'s, mounted into a container)'
  if (address.kind === 'path') {
    try {
      if (!(await stat(address.path)).isSocket()) {
        return [result(GROUP, 'system bus', systemdHere ? 'warn' : 'skip', `${shown} (${source}) is not a socket`, `set DBUS_SYSTEM_BUS_ADDRESS=unix:path=<the system bus socket>; ${CONTAINER_FIX}`)]
      }
    } catch (error) {
      return systemdHere
        ? [result(GROUP, 'system bus', 'warn', `systemd runs here but ${shown} (${source}) is missing (${errorCode(error)}): services are not reported`, 'start the bus: systemctl start dbus (apt-get install dbus), or set DBUS_SYSTEM_BUS_ADDRESS')]
        : [result(GROUP, 'system bus', 'skip', `no systemd here: no /run/systemd/system and no bus at ${shown}; services are not reported`, `if the host runs systemd: ${CONTAINER_FIX}; or set SKIP_SYSTEMD=true`)]
    }
  }
  try {
    const outcome = await authenticate(socketPath, context.uid)
    if (!outcome.accepted) {
      return [result(GROUP, 'system bus', 'warn', `${shown} refused this user (uid ${context.uid}): ${outcome.reply || 'no OK'}`, 'run the agent as root or as a user the bus policy admits (uid 0 in the container must be root on the host: no user namespace)')]
    }
    return [
      result(GROUP, 'system bus', 'ok', `${shown} accepts uid ${context.uid} (${source}); units matching ${patterns}; ${systemdLine}`),
      ...(context.native ? [await checkSystemdAnswers(context.native, shown)] : []),
    ]
  } catch (error) {
    const code = errorCode(error)
    const fix =
      code === 'EACCES' || code === 'EPERM'
        ? `give the agent's user access to ${shown} (its directory and the socket), or run the agent as root`
        : code === 'ECONNREFUSED'
          ? 'the bus daemon is not running: systemctl start dbus'
          : `check the bus at ${shown}, or set DBUS_SYSTEM_BUS_ADDRESS`
    // a bus that is there but refuses this user is worth a warning even off systemd hosts
    const status = systemdHere || code === 'EACCES' || code === 'EPERM' ? 'warn' : 'skip'
    return [result(GROUP, 'system bus', status, `cannot use ${shown} (${code})`, fix)]
  }
}
