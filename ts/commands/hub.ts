/** `sonar-agent hub` — being written in this session (placeholder so the CLI table is wired once). */
import { UsageError } from './usage.js'

export async function hubCommand(_args: string[]): Promise<number> {
  throw new UsageError('sonar-agent hub is not built yet')
}
