/**
 * systemd unit names as the services capability and the polkit rule read them: what a hub names
 * and what services.list/services.manage hold, completed the way systemctl completes them.
 */
import { UNIT_NAME } from '../protocol/actions.js'

/** Go `path.Match` metacharacters (`\` escapes): an entry with one is a glob. */
export const GLOB_CHARS = /[*?[\\]/

/**
 * A unit name as systemctl takes it: "nginx" means "nginx.service" (a name without a dot gets
 * the suffix); null when it is not a unit name at all. The core checks the type suffix.
 */
export function unitName(requested: string): string | null {
  if (!UNIT_NAME.test(requested)) return null
  return requested.includes('.') ? requested : `${requested}.service`
}

/** A policy entry: an exact name completed like unitName, a glob as written (as systemctl does). */
export function unitPattern(entry: string): string {
  return GLOB_CHARS.test(entry) || entry.includes('.') ? entry : `${entry}.service`
}
