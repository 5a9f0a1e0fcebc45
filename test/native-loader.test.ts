import { describe, expect, it } from 'vitest'
import { candidates, loadFrom, loadNative, NativeLoadError, platformTriple } from '../ts/native.js'

describe('native loader', () => {
  it('names platform triples as napi-rs does', () => {
    expect(platformTriple('linux', 'x64', false)).toBe('linux-x64-gnu')
    expect(platformTriple('linux', 'arm64', true)).toBe('linux-arm64-musl')
    expect(platformTriple('darwin', 'arm64', false)).toBe('darwin-arm64')
    expect(platformTriple('win32', 'x64', false)).toBe('win32-x64-gnu')
  })

  it('tries the local build first, then the platform package', () => {
    const places = candidates({}).map((c) => c.place)
    expect(places[0]).toMatch(/native\/sonar-agent\.linux-x64-gnu\.node$/)
    expect(places.at(-1)).toBe('npm package sonar-agent-linux-x64-gnu')
  })

  it('an override that does not load gives one error naming the place and the reason', () => {
    let error: unknown
    try {
      loadFrom(candidates({ SONAR_AGENT_NATIVE_PATH: '/nonexistent/sonar.node' }))
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(NativeLoadError)
    const message = (error as Error).message
    expect(message).toContain('SONAR_AGENT_NATIVE_PATH=/nonexistent/sonar.node')
    expect(message).toMatch(/Cannot find module|cannot open/i)
  })

  it('a file that is not a SONAR addon is rejected with the reason', () => {
    expect(() => loadFrom([{ place: 'fake', load: () => ({}) }])).toThrow(/fake: loaded, but it is not the SONAR core/)
  })

  it('loads the real addon from the local build', () => {
    const binding = loadNative()
    expect(binding.agentVersion).toBe('0.18.8')
  })
})
