/** `sonar-agent doctor` — being written in this session (placeholder so the CLI table is wired once). */
import { UsageError } from './usage.js'

export async function doctorCommand(_args: string[]): Promise<number> {
  throw new UsageError('sonar-agent doctor is not built yet')
}
