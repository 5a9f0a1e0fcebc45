/** `sonar-agent health`: exit 0 and print `ok` while a running agent keeps its health file fresh. */
import { parseArgs } from 'node:util'
import { checkHealth } from '../health.js'

export async function healthCommand(args: string[]): Promise<number> {
  parseArgs({ args, options: {}, strict: true })
  const status = checkHealth()
  if (status.ok) {
    process.stdout.write('ok\n')
    return 0
  }
  process.stderr.write(`sonar-agent: unhealthy: ${status.message}\n`)
  return 1
}
