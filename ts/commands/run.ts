/** `sonar-agent run` — placeholder until the hub connection lands. */
import { UsageError } from './usage.js'

export async function runCommand(_args: string[]): Promise<number> {
  throw new UsageError('run is not implemented yet')
}
