/**
 * Container engines: the socket (DOCKER_HOST, else the Docker and Podman sockets the monitor
 * probes) exists, this user may open it, and the engine answers `/_ping` within DOCKER_TIMEOUT.
 * An engine named in DOCKER_HOST that does not work is a failure; an auto-detected one a warning.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { readFile, stat } from 'node:fs/promises'
import { userInfo } from 'node:os'
import { candidateSockets } from '../containers/discovery.js'
import { ContainerExcluder } from '../containers/glob.js'
import { parseOne } from '../config/catalog.js'
import { DEFAULT_DOCKER_TIMEOUT_MS, parseDockerHost, type EngineAddress } from '../containers/settings.js'
import { errorCode, formatMs, result, type CheckResult, type CheckStatus } from './check.js'
import type { DoctorContext } from './core.js'

const GROUP = 'containers'

interface Ping {
  status: number
  body: string
  headers: IncomingMessage['headers']
}

function ping(address: EngineAddress, timeoutMs: number): Promise<Ping> {
  return new Promise((resolve, reject) => {
    const options =
      address.kind === 'socket'
        ? { socketPath: address.socketPath, path: '/_ping', timeout: timeoutMs }
        : { host: address.host, port: address.port, path: '/_ping', timeout: timeoutMs }
    const send = address.kind === 'tcp' && address.protocol === 'https' ? httpsRequest : httpRequest
    const req = send({ ...options, method: 'GET', headers: { Host: 'docker' } }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        if (body.length < 256) body += chunk
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim(), headers: res.headers }))
      res.on('error', reject)
    })
    // one timer for the whole exchange: the socket's idle timeout restarts on every byte
    const timer = setTimeout(() => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })), timeoutMs)
    req.on('close', () => clearTimeout(timer))
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })))
    req.on('error', reject)
    req.end()
  })
}

async function groupName(gid: number): Promise<string | undefined> {
  try {
    const text = await readFile('/etc/group', 'utf8')
    return text.split('\n').map((line) => line.split(':')).find((f) => f[2] === String(gid))?.[0]
  } catch {
    return undefined
  }
}

function user(): string {
  try {
    return userInfo().username
  } catch {
    return '<agent user>'
  }
}

async function permissionFix(path: string): Promise<string> {
  let group: string | undefined
  try {
    group = await groupName((await stat(path)).gid)
  } catch {
    group = undefined
  }
  if (path.includes('/podman/') && !path.startsWith('/run/user/')) {
    return `run the agent as root for the rootful Podman socket, or set DOCKER_HOST=unix:///run/user/<uid>/podman/podman.sock (systemctl --user enable --now podman.socket as the agent's user)`
  }
  const name = group && group !== 'root' ? group : path.includes('docker') ? 'docker' : undefined
  return name
    ? `add the agent's user to the ${name} group: usermod -aG ${name} ${user()} (then restart the agent)`
    : `give the agent's user read/write access to ${path} (chgrp/chmod), or run the agent as its owner`
}

function describeAddress(address: EngineAddress): string {
  return address.kind === 'socket' ? address.socketPath : `${address.protocol}://${address.host}:${address.port}`
}

async function checkEngine(address: EngineAddress, timeoutMs: number, explicit: boolean): Promise<CheckResult> {
  const bad: CheckStatus = explicit ? 'fail' : 'warn'
  const where = describeAddress(address)
  const name = `engine ${where}`
  if (address.kind === 'socket') {
    try {
      const info = await stat(address.socketPath)
      if (!info.isSocket()) {
        return result(GROUP, name, bad, `${where} exists but is not a socket`, `set DOCKER_HOST to the engine's socket, e.g. DOCKER_HOST=unix:///var/run/docker.sock (docker context inspect shows it)`)
      }
    } catch (error) {
      return result(GROUP, name, bad, `${where} does not exist (${errorCode(error)})`, `start the engine's socket (systemctl enable --now docker.socket or podman.socket), or correct DOCKER_HOST`)
    }
  }
  try {
    const reply = await ping(address, timeoutMs)
    if (reply.status !== 200) {
      return result(GROUP, name, bad, `/_ping answered HTTP ${reply.status} ${reply.body.slice(0, 80)}`, 'point DOCKER_HOST at a Docker API endpoint (Docker, or podman system service)')
    }
    const api = reply.headers['api-version']
    const server = reply.headers.server
    return result(GROUP, name, 'ok', `answers /_ping${api ? ` (API ${String(api)}${server ? `, ${String(server)}` : ''})` : ''}`)
  } catch (error) {
    const code = errorCode(error)
    if (code === 'EACCES' || code === 'EPERM') {
      return result(GROUP, name, bad, `permission denied opening ${where}: containers are not monitored`, await permissionFix(where))
    }
    if (code === 'ECONNREFUSED') {
      return result(GROUP, name, bad, `nothing accepts connections at ${where} (engine stopped, or a stale socket)`, address.kind === 'socket' ? 'start the engine: systemctl start docker (or systemctl start podman.socket), or correct DOCKER_HOST' : 'check the engine listens there, or correct DOCKER_HOST')
    }
    if (code === 'ETIMEDOUT') {
      return result(GROUP, name, bad, `the engine did not answer /_ping within ${formatMs(timeoutMs)}`, 'check the engine (docker info / podman info), or raise DOCKER_TIMEOUT (e.g. DOCKER_TIMEOUT=5s)')
    }
    return result(GROUP, name, bad, `cannot reach the engine at ${where} (${code})`, 'check the engine, or correct DOCKER_HOST')
  }
}

function timeout(context: DoctorContext, results: CheckResult[]): number {
  const text = context.setting('DOCKER_TIMEOUT')
  if (text === undefined || text.trim() === '' || !context.native) return DEFAULT_DOCKER_TIMEOUT_MS
  // the core's grammar for the setting's kind (a timeout: a Go duration above zero)
  const parsed = parseOne('DOCKER_TIMEOUT', text, context.native)
  if (typeof parsed === 'number') return parsed
  results.push(result(GROUP, 'DOCKER_TIMEOUT', 'warn', `${JSON.stringify(text)} is not a positive Go duration; the agent uses ${DEFAULT_DOCKER_TIMEOUT_MS}ms`, 'set DOCKER_TIMEOUT to a Go duration, e.g. DOCKER_TIMEOUT=5s'))
  return DEFAULT_DOCKER_TIMEOUT_MS
}

function checkExclude(context: DoctorContext): CheckResult | undefined {
  const text = context.setting('EXCLUDE_CONTAINERS')
  if (text === undefined || text.trim() === '' || !context.native) return undefined
  // the agent's own reading of the list (one splitter, the core's glob matcher)
  const bad = new ContainerExcluder(text, context.native).invalid
  return bad.length === 0
    ? undefined
    : result(GROUP, 'EXCLUDE_CONTAINERS', 'warn', `malformed pattern${bad.length > 1 ? 's' : ''} ${bad.map((p) => JSON.stringify(p)).join(', ')} never match`, 'correct EXCLUDE_CONTAINERS, e.g. EXCLUDE_CONTAINERS=web-*,test')
}

/** At most this long per engine, whatever DOCKER_TIMEOUT says: the doctor stays within its budget. */
const MAX_PING_MS = 5_000

export async function checkContainers(context: DoctorContext): Promise<CheckResult[]> {
  const results: CheckResult[] = []
  const host = context.setting('DOCKER_HOST')
  if (host !== undefined && host.trim() === '') {
    return [result(GROUP, 'engines', 'skip', 'disabled: DOCKER_HOST is set but empty')]
  }
  const timeoutMs = Math.min(timeout(context, results), MAX_PING_MS)
  const exclude = checkExclude(context)
  if (exclude) results.push(exclude)
  if (host !== undefined) {
    let address: EngineAddress
    try {
      address = parseDockerHost(host)
    } catch (error) {
      return [...results, result(GROUP, 'DOCKER_HOST', 'fail', error instanceof Error ? error.message : String(error), 'set DOCKER_HOST like Docker reads it, e.g. DOCKER_HOST=unix:///var/run/docker.sock or tcp://127.0.0.1:2375')]
    }
    return [...results, await checkEngine(address, timeoutMs, true)]
  }
  const paths = candidateSockets(context.env, context.uid)
  const present: string[] = []
  for (const path of paths) {
    try {
      await stat(path)
      present.push(path)
    } catch {
      // absent: no engine there
    }
  }
  if (present.length === 0) {
    return [
      ...results,
      result(GROUP, 'engines', 'skip', `no engine socket at ${paths.join(', ')}: containers are not monitored`, 'if Docker or Podman runs here, set DOCKER_HOST (e.g. DOCKER_HOST=unix:///run/podman/podman.sock) or start its socket (systemctl enable --now podman.socket); in a container, mount it: -v /var/run/docker.sock:/var/run/docker.sock:ro'),
    ]
  }
  const engines = await Promise.all(present.map((path) => checkEngine({ kind: 'socket', socketPath: path }, timeoutMs, false)))
  return [...results, ...engines]
}
