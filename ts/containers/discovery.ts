/**
 * Which engine sockets to watch when DOCKER_HOST is not set: Docker's, then rootful and rootless
 * Podman's. Probed on every sample (a few stat calls), so an engine that starts, stops or comes
 * back later is picked up without a restart. Two paths to one socket (podman-docker links
 * /var/run/docker.sock to Podman's) count once.
 */
import { realpathSync, statSync } from 'node:fs'

export function candidateSockets(env: NodeJS.ProcessEnv = process.env, uid: number = process.getuid?.() ?? 0): string[] {
  const paths = ['/var/run/docker.sock', '/run/podman/podman.sock']
  if (env.XDG_RUNTIME_DIR) paths.push(`${env.XDG_RUNTIME_DIR}/podman/podman.sock`)
  paths.push(`/run/user/${uid}/podman/podman.sock`)
  return [...new Set(paths)]
}

export interface FoundSocket {
  /** the path as configured (shown in logs) */
  path: string
  /** the socket it resolves to: the identity used to deduplicate */
  real: string
}

/** The candidates that exist now and are sockets, first path of each distinct socket kept. */
export function existingSockets(paths: readonly string[]): FoundSocket[] {
  const seen = new Set<string>()
  const found: FoundSocket[] = []
  for (const path of paths) {
    let real: string
    try {
      real = realpathSync(path)
      if (!statSync(real).isSocket()) continue
    } catch {
      continue
    }
    if (seen.has(real)) continue
    seen.add(real)
    found.push({ path, real })
  }
  return found
}
