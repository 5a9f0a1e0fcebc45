/** `sonar-agent fingerprint` — placeholder until the hub connection lands. */
import { UsageError } from './usage.js'

export async function fingerprintCommand(_args: string[]): Promise<number> {
  throw new UsageError('fingerprint is not implemented yet')
}
