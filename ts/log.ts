/**
 * Structured logging to stderr: one line per event, `time LEVEL scope: message key=value …`.
 * Fields whose name looks secret (token, key, signature, password) are never printed.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }
const SECRET = /token|key|signature|secret|password/i

export type LogFields = Record<string, string | number | boolean | undefined | null>

export interface Logger {
  readonly level: LogLevel
  debug(message: string, fields?: LogFields): void
  info(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  error(message: string, fields?: LogFields): void
  /** A logger whose lines carry `scope` (e.g. "websocket", "ssh"). */
  child(scope: string): Logger
}

export interface LogSink {
  write(line: string): unknown
}

function formatValue(name: string, value: LogFields[string]): string {
  if (SECRET.test(name)) return '[redacted]'
  const text = String(value)
  return /[\s"=]/.test(text) || text === '' ? JSON.stringify(text) : text
}

export function formatLine(level: LogLevel, scope: string | undefined, message: string, fields: LogFields = {}, now = new Date()): string {
  const parts = [now.toISOString(), level.toUpperCase().padEnd(5), scope ? `${scope}: ${message}` : message]
  for (const [name, value] of Object.entries(fields)) {
    if (value !== undefined) parts.push(`${name}=${formatValue(name, value)}`)
  }
  return `${parts.join(' ')}\n`
}

export function createLogger(level: LogLevel = 'info', sink: LogSink = process.stderr, scope?: string): Logger {
  const emit = (at: LogLevel) => (message: string, fields?: LogFields) => {
    if (ORDER[at] >= ORDER[level]) sink.write(formatLine(at, scope, message, fields))
  }
  return {
    level,
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (child) => createLogger(level, sink, scope ? `${scope}.${child}` : child),
  }
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = createLogger('error', { write: () => undefined })
