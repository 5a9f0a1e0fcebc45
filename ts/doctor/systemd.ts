/**
 * systemd services come over the D-Bus system bus. The core's probe connects as the collector
 * does (the bus address from DBUS_SYSTEM_BUS_ADDRESS or the default, connect + authentication
 * within a deadline) and makes the collector's first call, so the doctor says whether the bus
 * admits this user and whether systemd answers on it; /run/systemd/system says whether systemd
 * runs on THIS host (a container may use the host's bus).
 */
import { stat } from 'node:fs/promises'
import type { SystemdProbe } from '../../index.js'
import { formatMs, result, type CheckResult } from './check.js'
import type { DoctorContext } from './core.js'
import { probe } from './probe.js'

const GROUP = 'systemd'
const CONTAINER_FIX = 'in a container, mount the host\'s bus: -v /var/run/dbus/system_bus_socket:/var/run/dbus/system_bus_socket:ro'

function systemdResult(bus: SystemdProbe, shown: string): CheckResult | undefined {
  const answer = bus.systemd
  if (answer === null) return undefined
  if (answer.answered) {
    const units = answer.units ?? 0
    return result(GROUP, 'systemd', 'ok', `systemd answers on ${shown}${answer.version !== null ? ` (version ${answer.version})` : ''}: ${units} loaded unit${units === 1 ? '' : 's'} match ${bus.patterns.join(', ')}`)
  }
  return result(GROUP, 'systemd', 'warn', `the bus at ${shown} works but systemd does not answer on it: ${answer.error ?? 'no answer'}`, 'point DBUS_SYSTEM_BUS_ADDRESS at the bus systemd uses, or set SKIP_SYSTEMD=true')
}

/** Why the connection failed, as one result: a skip where no systemd is to be expected. */
async function failureResult(bus: SystemdProbe, shown: string, source: string, systemdHere: boolean, uid: number): Promise<CheckResult> {
  const error = bus.error
  const code = error?.code ?? null
  const offHost = systemdHere ? 'warn' : 'skip'
  if (error?.stage === 'handshake') {
    return result(GROUP, 'system bus', 'warn', `${shown} did not admit this user (uid ${uid}): ${error.message}`, 'run the agent as root or as a user the bus policy admits (uid 0 in the container must be root on the host: no user namespace)')
  }
  if (error?.stage !== 'connect') {
    return result(GROUP, 'system bus', 'warn', `cannot use ${shown}: ${error?.message ?? 'no connection'}`, 'run again; if it repeats, report it with this output')
  }
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return systemdHere
      ? result(GROUP, 'system bus', 'warn', `systemd runs here but ${shown} (${source}) is missing (${code}): services are not reported`, 'start the bus: systemctl start dbus (apt-get install dbus), or set DBUS_SYSTEM_BUS_ADDRESS')
      : result(GROUP, 'system bus', 'skip', `no systemd here: no /run/systemd/system and no bus at ${shown}; services are not reported`, `if the host runs systemd: ${CONTAINER_FIX}; or set SKIP_SYSTEMD=true`)
  }
  if (code === 'ECONNREFUSED' && !shown.startsWith('@')) {
    const isSocket = await stat(shown).then((s) => s.isSocket(), () => true)
    if (!isSocket) return result(GROUP, 'system bus', offHost, `${shown} (${source}) is not a socket`, `set DBUS_SYSTEM_BUS_ADDRESS=unix:path=<the system bus socket>; ${CONTAINER_FIX}`)
  }
  if (code === 'ETIMEDOUT') {
    return result(GROUP, 'system bus', 'warn', `${shown} accepted no connection within ${formatMs(bus.deadlineMs)} (a hung bus daemon?)`, 'check the bus daemon: systemctl status dbus')
  }
  const denied = code === 'EACCES' || code === 'EPERM'
  const fix = denied
    ? `give the agent's user access to ${shown} (its directory and the socket), or run the agent as root`
    : code === 'ECONNREFUSED'
      ? 'the bus daemon is not running: systemctl start dbus'
      : `check the bus at ${shown}, or set DBUS_SYSTEM_BUS_ADDRESS`
  // a bus that is there but refuses this user is worth a warning even off systemd hosts
  return result(GROUP, 'system bus', denied ? 'warn' : offHost, `cannot use ${shown} (${code ?? error.message})`, fix)
}

export async function checkSystemd(context: DoctorContext): Promise<CheckResult[]> {
  if (context.flag('SKIP_SYSTEMD')) return [result(GROUP, 'services', 'skip', 'disabled: SKIP_SYSTEMD=true')]
  const probed = await probe(context, 'systemd')
  if (!probed.ok) return [result(GROUP, 'system bus', 'skip', probed.message, probed.fix)]
  const bus = probed.report
  if (!bus.enabled) return [result(GROUP, 'services', 'skip', `disabled: ${bus.disabledBy ?? 'by a setting'}`)]
  const source = bus.fromSetting ? 'DBUS_SYSTEM_BUS_ADDRESS' : 'the default address'
  const shown = bus.socket ?? bus.sockets[0]
  if (shown === undefined) {
    return [result(GROUP, 'system bus', 'warn', `DBUS_SYSTEM_BUS_ADDRESS=${bus.address} has no unix:path= or unix:abstract= entry; the agent connects over unix sockets only`, 'set DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/dbus/system_bus_socket')]
  }
  const systemdHere = await stat('/run/systemd/system').then((s) => s.isDirectory(), () => false)
  if (!bus.connected) return [await failureResult(bus, shown, source, systemdHere, context.uid)]
  const systemdLine = systemdHere ? 'systemd runs on this host (/run/systemd/system)' : 'no /run/systemd/system here (fine when the bus is the host\'s, mounted into a container)'
  const answer = systemdResult(bus, shown)
  return [result(GROUP, 'system bus', 'ok', `${shown} accepts uid ${context.uid} (${source}); units matching ${bus.patterns.join(', ')}; ${systemdLine}`), ...(answer ? [answer] : [])]
}
