import { describe, expect, it } from 'vitest'
import { Backoff } from '../ts/transport/backoff.js'

describe('Backoff (full jitter)', () => {
  it('backoff-cap-30s: doubles the ceiling from 1 s up to the 30 s cap (was 60 s: a hub back up waited up to 46 s)', () => {
    const backoff = new Backoff({ random: () => 0.999999 })
    const delays = Array.from({ length: 10 }, () => backoff.next())
    expect(delays.map((d) => Math.round(d / 1000))).toEqual([1, 2, 4, 8, 16, 30, 30, 30, 30, 30])
    expect(Math.max(...delays)).toBeLessThanOrEqual(30_000)
  })

  it('backoff-cap-30s: the jitter stays, draws spread over the whole 0–30 s range at the cap', () => {
    let i = 0
    // a deterministic, evenly spread sequence in [0, 1) (golden-ratio steps)
    const backoff = new Backoff({ random: () => (i++ * 0.6180339887) % 1 })
    for (let i = 0; i < 10; i++) backoff.next()
    const draws = Array.from({ length: 200 }, () => backoff.next())
    expect(Math.max(...draws)).toBeLessThanOrEqual(30_000)
    expect(Math.min(...draws)).toBeLessThan(5_000)
    expect(Math.max(...draws)).toBeGreaterThan(25_000)
    expect(new Set(draws).size).toBeGreaterThan(150)
  })

  it('draws uniformly below the ceiling', () => {
    const draws = [0, 0.5, 0.25]
    const backoff = new Backoff({ random: () => draws.shift() ?? 0 })
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([0, 1000, 1000])
  })

  it('reset starts again from the base', () => {
    const backoff = new Backoff({ random: () => 0.999999 })
    for (let i = 0; i < 8; i++) backoff.next()
    expect(backoff.ceilingMs).toBe(30_000)
    backoff.reset()
    expect(backoff.attempts).toBe(0)
    expect(backoff.next()).toBeLessThanOrEqual(1000)
  })

  it('stays finite after very many failures and tolerates a bad random source', () => {
    const backoff = new Backoff({ random: () => Number.NaN })
    for (let i = 0; i < 5000; i++) expect(backoff.next()).toBe(0)
    expect(backoff.ceilingMs).toBe(30_000)
    const real = new Backoff()
    for (let i = 0; i < 100; i++) {
      const d = real.next()
      expect(d).toBeGreaterThanOrEqual(0)
      expect(d).toBeLessThanOrEqual(30_000)
    }
  })
})
