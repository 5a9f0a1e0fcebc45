/** `sonar-agent health` — placeholder until the hub connection lands. */
import { UsageError } from './usage.js'

export async function healthCommand(_args: string[]): Promise<number> {
  throw new UsageError('health is not implemented yet')
}
