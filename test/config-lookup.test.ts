import { describe, expect, it } from 'vitest'
import { lookupSetting, lookupSettings } from '../ts/config/lookup.js'

describe('setting lookup', () => {
  it('prefers SONAR_AGENT_, then BESZEL_AGENT_, then the bare name', () => {
    const env = { SONAR_AGENT_NICS: 'a', BESZEL_AGENT_NICS: 'b', NICS: 'c' }
    expect(lookupSetting('NICS', env)).toBe('a')
    expect(lookupSetting('NICS', { BESZEL_AGENT_NICS: 'b', NICS: 'c' })).toBe('b')
    expect(lookupSetting('NICS', { NICS: 'c' })).toBe('c')
    expect(lookupSetting('NICS', {})).toBeUndefined()
  })

  it('keeps an empty value, which disables some collectors (SENSORS="")', () => {
    expect(lookupSetting('SENSORS', { SONAR_AGENT_SENSORS: '', SENSORS: 'x' })).toBe('')
  })

  it('collects only the names that are set', () => {
    expect(lookupSettings(['NICS', 'SENSORS', 'HOST_PROC'], { NICS: 'eth0', BESZEL_AGENT_HOST_PROC: '/host/proc' })).toEqual({
      NICS: 'eth0',
      HOST_PROC: '/host/proc',
    })
  })
})
