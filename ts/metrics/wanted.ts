/** Whether the daemon needs ts/metrics at all: checked before importing any of it. */
import type { AgentConfig } from '../config/config.js'

export function metricsWanted(config: Pick<AgentConfig, 'setting'>): boolean {
  const set = (name: string) => (config.setting(name) ?? '').trim() !== ''
  return set('METRICS_LISTEN') || set('REMOTE_WRITE_URL')
}
