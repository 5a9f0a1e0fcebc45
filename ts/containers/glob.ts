/**
 * EXCLUDE_CONTAINERS: comma-separated Go `path.Match` globs against the container name, matched by
 * the native core's implementation (the one NICS and SENSORS use), so a Beszel agent's patterns
 * behave the same here. A malformed pattern matches nothing and is reported.
 */
import { loadNative, type NativeBinding } from '../native.js'

export class ContainerExcluder {
  private readonly patterns: string[] = []
  readonly invalid: string[] = []

  constructor(
    list: string | undefined,
    private readonly native: Pick<NativeBinding, 'globMatch'> = loadNative(),
  ) {
    for (const raw of (list ?? '').split(',')) {
      const pattern = raw.trim()
      if (!pattern) continue
      if (native.globMatch(pattern, '') === null) this.invalid.push(pattern)
      else this.patterns.push(pattern)
    }
  }

  get empty(): boolean {
    return this.patterns.length === 0
  }

  excludes(name: string): boolean {
    return this.patterns.some((pattern) => this.native.globMatch(pattern, name) === true)
  }
}
