/** The doctor's report: counts, exit status, and the two renderings (aligned text, JSON). */
import type { CheckResult, CheckStatus } from './check.js'

export interface DoctorReport {
  version: string
  host: string
  checks: CheckResult[]
  summary: Record<CheckStatus, number>
  /** 1 when a required check failed */
  exitCode: 0 | 1
}

export function buildReport(version: string, host: string, checks: CheckResult[]): DoctorReport {
  const summary: Record<CheckStatus, number> = { ok: 0, warn: 0, fail: 0, skip: 0 }
  for (const check of checks) summary[check.status]++
  return { version, host, checks, summary, exitCode: summary.fail > 0 ? 1 : 0 }
}

const LABEL: Record<CheckStatus, string> = { ok: 'ok', warn: 'WARN', fail: 'FAIL', skip: 'skip' }

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

export function renderText(report: DoctorReport): string {
  const width = Math.min(24, Math.max(...report.checks.map((c) => c.name.length), 4))
  const indent = ' '.repeat(2 + 6 + width + 1)
  const lines = [`sonar-agent doctor ${report.version} on ${report.host}`]
  let group = ''
  for (const check of report.checks) {
    if (check.group !== group) {
      group = check.group
      lines.push('', group)
    }
    lines.push(`  ${LABEL[check.status].padEnd(5)} ${check.name.padEnd(width)} ${check.message}`)
    if (check.fix !== undefined && check.status !== 'ok') lines.push(`${indent}fix: ${check.fix}`)
  }
  const { ok, warn, fail, skip } = report.summary
  lines.push(
    '',
    `${ok} ok, ${plural(warn, 'warning')}, ${plural(fail, 'failure')}, ${skip} skipped: ${
      fail > 0 ? 'something REQUIRED is missing (exit status 1)' : warn > 0 ? 'the agent can run; the warnings are optional collectors' : 'everything checked works'
    }`,
  )
  return `${lines.join('\n')}\n`
}

export function renderJson(report: DoctorReport): string {
  return `${JSON.stringify(report, null, 2)}\n`
}
