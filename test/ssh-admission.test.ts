/** The connection-rate key of ssh-admission.ts: one allowance per IPv4 address, per IPv6 /64. */
import { describe, expect, it } from 'vitest'
import { rateKey } from '../ts/transport/ssh-admission.js'

describe('SSH connection rate key', () => {
  it('keeps IPv4 addresses (also IPv4-mapped IPv6) as they are', () => {
    expect(rateKey('192.0.2.7')).toBe('192.0.2.7')
    expect(rateKey('::ffff:192.0.2.7')).toBe('192.0.2.7')
  })

  it('groups IPv6 addresses by their /64, however they are written', () => {
    const same = ['2001:db8:0:1::7', '2001:0db8:0000:0001:ffff:1:2:3', '2001:DB8:0:1:0:0:0:1']
    expect(new Set(same.map(rateKey))).toEqual(new Set(['2001:db8:0:1::/64']))
    expect(rateKey('2001:db8:0:2::7')).not.toBe(rateKey('2001:db8:0:1::7'))
    expect(rateKey('::1')).toBe('0:0:0:0::/64')
    expect(rateKey('fe80::1')).toBe('fe80:0:0:0::/64')
  })

  it('keeps a socket without an address apart', () => {
    expect(rateKey('unix')).toBe('unix')
  })
})
