/**
 * Go's `path.Match` for EXCLUDE_CONTAINERS, so a Beszel agent's patterns behave the same here (and
 * as the core's NameFilter): `*` and `?` never cross `/`, `[...]` classes with `^` negation and
 * ranges, `\` escapes. A malformed pattern (Go's ErrBadPattern) matches nothing.
 */

function escapeForClass(ch: string): string {
  return `\\u{${(ch.codePointAt(0) ?? 0).toString(16)}}`
}

/** The pattern as an anchored RegExp, or undefined when Go would answer ErrBadPattern. */
export function compileGlob(pattern: string): RegExp | undefined {
  const chars = Array.from(pattern)
  let out = ''
  let i = 0
  const next = (): string | undefined => chars[i++]
  while (i < chars.length) {
    const ch = next() as string
    if (ch === '*') out += '[^/]*'
    else if (ch === '?') out += '[^/]'
    else if (ch === '\\') {
      const escaped = next()
      if (escaped === undefined) return undefined
      out += escapeForClass(escaped)
    } else if (ch === '[') {
      let negate = false
      if (chars[i] === '^') {
        negate = true
        i++
      }
      const ranges: string[] = []
      for (;;) {
        if (chars[i] === ']' && ranges.length > 0) {
          i++
          break
        }
        const lo = classChar()
        if (lo === undefined) return undefined
        let range = escapeForClass(lo)
        if (chars[i] === '-') {
          i++
          const hi = classChar()
          if (hi === undefined || (hi.codePointAt(0) ?? 0) < (lo.codePointAt(0) ?? 0)) return undefined
          range += `-${escapeForClass(hi)}`
        }
        ranges.push(range)
      }
      // Go's class never matches '/' either way.
      out += negate ? `[^/${ranges.join('')}]` : `(?!/)[${ranges.join('')}]`
    } else out += escapeForClass(ch)
  }
  return new RegExp(`^${out}$`, 'u')

  /** One class character (escapes resolved); undefined for the cases Go rejects. */
  function classChar(): string | undefined {
    const ch = chars[i]
    if (ch === undefined || ch === '-' || ch === ']') return undefined
    i++
    if (ch !== '\\') return ch
    const escaped = chars[i]
    if (escaped === undefined) return undefined
    i++
    return escaped
  }
}

/** EXCLUDE_CONTAINERS: comma-separated globs against the container name. */
export class ContainerExcluder {
  private readonly patterns: RegExp[]
  readonly invalid: string[] = []

  constructor(list: string | undefined) {
    this.patterns = []
    for (const raw of (list ?? '').split(',')) {
      const pattern = raw.trim()
      if (!pattern) continue
      const compiled = compileGlob(pattern)
      if (compiled) this.patterns.push(compiled)
      else this.invalid.push(pattern)
    }
  }

  get empty(): boolean {
    return this.patterns.length === 0
  }

  excludes(name: string): boolean {
    return this.patterns.some((pattern) => pattern.test(name))
  }
}
