import { describe, expect, it } from 'vitest'
import { Backoff } from '../ts/transport/backoff.js'

describe('Backoff (full jitter)', () => {
  it('doubles the ceiling from 1 s up to the 60 s cap', () => {
    const backoff = new Backoff({ random: () => 0.999999 })
    const delays = Array.from({ length: 10 }, () => backoff.next())
    expect(delays.map((d) => Math.round(d / 1000))).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60, 60])
  })

  it('draws uniformly below the ceiling', () => {
    const draws = [0, 0.5, 0.25]
    const backoff = new Backoff({ random: () => draws.shift() ?? 0 })
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([0, 1000, 1000])
  })

  it('reset starts again from the base', () => {
    const backoff = new Backoff({ random: () => 0.999999 })
    for (let i = 0; i < 8; i++) backoff.next()
    expect(backoff.ceilingMs).toBe(60_000)
    backoff.reset()
    expect(backoff.attempts).toBe(0)
    expect(backoff.next()).toBeLessThanOrEqual(1000)
  })

  it('stays finite after very many failures and tolerates a bad random source', () => {
    const backoff = new Backoff({ random: () => Number.NaN })
    for (let i = 0; i < 5000; i++) expect(backoff.next()).toBe(0)
    expect(backoff.ceilingMs).toBe(60_000)
    const real = new Backoff()
    for (let i = 0; i < 100; i++) {
      const d = real.next()
      expect(d).toBeGreaterThanOrEqual(0)
      expect(d).toBeLessThanOrEqual(60_000)
    }
  })
})
