/** The remote-write queue's bounds and the settings' checks (pure: no receiver). */
import { describe, expect, it } from 'vitest'
import { parseByteSize, WriteQueue, type Batch } from '../ts/metrics/write-queue.js'
import { parseLabels, remoteWriteSettings } from '../ts/metrics/remote-write-settings.js'
import { loadConfig } from '../ts/config/config.js'
import { retryAfter } from '../ts/metrics/remote-write.js'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const batch = (timestamp: number, bytes = 100, samples = 10): Batch => ({ body: Buffer.alloc(bytes), samples, timestamp })

describe('WriteQueue', () => {
  it('keeps batches in order and counts pending samples, bytes and the oldest age', () => {
    const q = new WriteQueue({ maxAgeMs: 60_000, maxBytes: 10_000 })
    for (let t = 0; t < 5; t++) q.push(batch(t * 1000), t * 1000)
    expect(q.pending().map((b) => b.timestamp)).toEqual([0, 1000, 2000, 3000, 4000])
    expect(q.pendingSamples).toBe(50)
    expect(q.pendingBytes).toBe(500)
    expect(q.oldestAgeSeconds(4500)).toBe(4.5)
    const first = q.peek() as Batch
    expect(q.remove(first)).toBe(true)
    expect(q.remove(first)).toBe(false)
    expect(q.peek()?.timestamp).toBe(1000)
    expect(q.pendingSamples).toBe(40)
  })

  it('the byte bound drops the oldest first and says how much', () => {
    const q = new WriteQueue({ maxAgeMs: 3_600_000, maxBytes: 1000 })
    let dropped = { batches: 0, samples: 0, bytes: 0 }
    for (let t = 0; t < 25; t++) {
      const d = q.push(batch(t, 100, 7), t)
      dropped = { batches: dropped.batches + d.batches, samples: dropped.samples + d.samples, bytes: dropped.bytes + d.bytes }
    }
    expect(q.pendingBytes).toBe(1000)
    expect(q.pending().map((b) => b.timestamp)).toEqual([15, 16, 17, 18, 19, 20, 21, 22, 23, 24])
    expect(dropped).toEqual({ batches: 15, samples: 105, bytes: 1500 })
  })

  it('the age bound drops what is older than REMOTE_WRITE_QUEUE_MAX_AGE', () => {
    const q = new WriteQueue({ maxAgeMs: 10_000, maxBytes: 1 << 20 })
    for (let t = 0; t <= 20_000; t += 1000) q.push(batch(t), t)
    expect(q.pending()[0]?.timestamp).toBe(10_000)
    const d = q.prune(25_000)
    expect(d.batches).toBe(5)
    expect(q.pending()[0]?.timestamp).toBe(15_000)
  })

  it('a batch in flight is neither dropped nor counted twice; the bound takes the next-oldest instead', () => {
    const q = new WriteQueue({ maxAgeMs: 3_600_000, maxBytes: 300 })
    q.push(batch(1), 1)
    q.push(batch(2), 2)
    q.push(batch(3), 3)
    const head = q.peek() as Batch
    q.setInFlight(head)
    const d = q.push(batch(4), 4)
    expect(d.batches).toBe(1)
    expect(q.pending().map((b) => b.timestamp)).toEqual([1, 3, 4])
    expect(q.remove(head)).toBe(true)
    expect(q.pending().map((b) => b.timestamp)).toEqual([3, 4])
  })

  it('a reading larger than the whole byte bound is still kept (and sent), alone', () => {
    const q = new WriteQueue({ maxAgeMs: 3_600_000, maxBytes: 1000 })
    q.push(batch(1, 400), 1)
    const d = q.push(batch(2, 5000), 2)
    expect(d).toEqual({ batches: 1, samples: 10, bytes: 400 })
    expect(q.pending().map((b) => b.timestamp)).toEqual([2])
    // behind one in flight, too
    q.setInFlight(q.peek())
    q.push(batch(3, 5000), 3)
    expect(q.pending().map((b) => b.timestamp)).toEqual([2, 3])
    q.push(batch(4, 10), 4)
    expect(q.pending().map((b) => b.timestamp)).toEqual([2, 4])
    // but the age bound still applies to it
    expect(q.prune(3_600_010).batches).toBe(1)
  })

  it('compacts without losing order over many pushes and removals', () => {
    const q = new WriteQueue({ maxAgeMs: 3_600_000, maxBytes: 1 << 30 })
    const seen: number[] = []
    for (let t = 0; t < 1000; t++) {
      q.push(batch(t), t)
      if (t % 3 !== 0) {
        const b = q.peek() as Batch
        seen.push(b.timestamp)
        q.remove(b)
      }
    }
    while (q.peek()) {
      const b = q.peek() as Batch
      seen.push(b.timestamp)
      q.remove(b)
    }
    expect(seen).toEqual([...Array(1000).keys()])
    expect(q.pendingBytes).toBe(0)
    expect(q.oldestAgeSeconds(5000)).toBe(0)
  })
})

describe('parseByteSize', () => {
  it('reads decimal and binary units, case-insensitive', () => {
    expect(parseByteSize('8MiB', 'X')).toBe(8 * 1024 * 1024)
    expect(parseByteSize('512KiB', 'X')).toBe(512 * 1024)
    expect(parseByteSize('1GB', 'X')).toBe(1e9)
    expect(parseByteSize('1.5mb', 'X')).toBe(1_500_000)
    expect(parseByteSize(' 65536 ', 'X')).toBe(65536)
    expect(parseByteSize('2 gib', 'X')).toBe(2 * 1024 ** 3)
  })

  it('refuses what is not a size, naming the setting', () => {
    expect(() => parseByteSize('8 lots', 'REMOTE_WRITE_QUEUE_MAX_BYTES')).toThrow(/^REMOTE_WRITE_QUEUE_MAX_BYTES: "8 lots" is not a size .*e\.g\. REMOTE_WRITE_QUEUE_MAX_BYTES=32MiB/)
    expect(() => parseByteSize('-1MiB', 'REMOTE_WRITE_QUEUE_MAX_BYTES')).toThrow(/REMOTE_WRITE_QUEUE_MAX_BYTES: "-1MiB" is not a size/)
    expect(() => parseByteSize('100', 'REMOTE_WRITE_QUEUE_MAX_BYTES')).toThrow(/REMOTE_WRITE_QUEUE_MAX_BYTES: "100" is less than 1KiB/)
  })
})

describe('remote-write settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rw-settings-'))
  const NO_FILE = join(dir, 'none.yml')
  const settings = async (env: Record<string, string>) =>
    remoteWriteSettings(loadConfig({}, { REMOTE_WRITE_URL: 'http://127.0.0.1:8428/api/v1/write', ...env }, { hubSettings: false, defaultConfigFile: NO_FILE }), 'host-a')

  it('defaults: 15s, job and instance labels, 30m and 8MiB bounds, no auth', async () => {
    const s = await settings({})
    expect(s.url.href).toBe('http://127.0.0.1:8428/api/v1/write')
    expect(s.intervalMs).toBe(15_000)
    expect(s.labels).toEqual([
      ['job', 'sonar-agent'],
      ['instance', 'host-a'],
    ])
    expect(s.maxAgeMs).toBe(30 * 60_000)
    expect(s.maxBytes).toBe(8 * 1024 * 1024)
    expect(s.auth).toEqual({ kind: 'none' })
  })

  it('REMOTE_WRITE_LABELS replaces defaults by name and adds the rest; an empty value removes one', async () => {
    const s = await settings({ REMOTE_WRITE_LABELS: 'instance=web-01,env=prod,job=', REMOTE_WRITE_INTERVAL: '1s', REMOTE_WRITE_QUEUE_MAX_AGE: '1h', REMOTE_WRITE_QUEUE_MAX_BYTES: '32MiB' })
    expect(s.labels).toEqual([
      ['job', ''],
      ['instance', 'web-01'],
      ['env', 'prod'],
    ])
    expect(s.intervalMs).toBe(1000)
    expect(s.maxAgeMs).toBe(3_600_000)
    expect(s.maxBytes).toBe(32 * 1024 * 1024)
  })

  it('malformed labels are refused naming REMOTE_WRITE_LABELS', () => {
    expect(() => parseLabels(['env'])).toThrow(/^REMOTE_WRITE_LABELS: "env" is not name=value/)
    expect(() => parseLabels(['1x=a'])).toThrow(/^REMOTE_WRITE_LABELS: "1x" is not a label name/)
    expect(() => parseLabels(['__name__=up'])).toThrow(/^REMOTE_WRITE_LABELS: "__name__" is not a label name/)
    expect(() => parseLabels(['a-b=c'])).toThrow(/REMOTE_WRITE_LABELS/)
    expect(() => parseLabels(['env=a', 'env=b'])).toThrow(/^REMOTE_WRITE_LABELS: "env" is given twice/)
  })

  it('a bad URL, interval or auth combination is refused naming the setting', async () => {
    await expect(settings({ REMOTE_WRITE_URL: 'vm.example.com/api/v1/write' })).rejects.toThrow(/^REMOTE_WRITE_URL: "vm.example.com\/api\/v1\/write" is not a valid URL/)
    await expect(settings({ REMOTE_WRITE_URL: 'ftp://vm.example.com/' })).rejects.toThrow(/^REMOTE_WRITE_URL: "ftp:\/\/vm.example.com\/" scheme "ftp" is not supported/)
    await expect(settings({ REMOTE_WRITE_URL: 'https://u:p@vm.example.com/' })).rejects.toThrow(/^REMOTE_WRITE_URL: must not hold credentials/)
    await expect(settings({ REMOTE_WRITE_USERNAME: 'sonar' })).rejects.toThrow(/^REMOTE_WRITE_PASSWORD_FILE: not set/)
    await expect(settings({ REMOTE_WRITE_PASSWORD_FILE: '/nope' })).rejects.toThrow(/^REMOTE_WRITE_USERNAME: not set/)
    await expect(settings({ REMOTE_WRITE_USERNAME: 'sonar', REMOTE_WRITE_PASSWORD_FILE: join(dir, 'missing') })).rejects.toThrow(/^REMOTE_WRITE_PASSWORD_FILE: cannot read .*missing \(ENOENT\)/)
    const empty = join(dir, 'empty')
    writeFileSync(empty, '\n')
    await expect(settings({ REMOTE_WRITE_BEARER_TOKEN_FILE: empty })).rejects.toThrow(/^REMOTE_WRITE_BEARER_TOKEN_FILE: .* is empty/)
    const token = join(dir, 'token')
    writeFileSync(token, 'abc\n')
    await expect(settings({ REMOTE_WRITE_BEARER_TOKEN_FILE: token, REMOTE_WRITE_USERNAME: 'u' })).rejects.toThrow(/^REMOTE_WRITE_BEARER_TOKEN_FILE: is set together with basic auth/)
    expect((await settings({ REMOTE_WRITE_BEARER_TOKEN_FILE: token })).auth).toEqual({ kind: 'bearer', tokenFile: token })
    await expect(settings({ REMOTE_WRITE_QUEUE_MAX_BYTES: 'lots' })).rejects.toThrow(/^REMOTE_WRITE_QUEUE_MAX_BYTES: "lots" is not a size/)
    // durations go through the core's grammar at load time, naming the setting too
    await expect(settings({ REMOTE_WRITE_INTERVAL: 'soon' })).rejects.toThrow(/REMOTE_WRITE_INTERVAL: "soon" is not a duration/)
    await expect(settings({ REMOTE_WRITE_QUEUE_MAX_AGE: '0s' })).rejects.toThrow(/REMOTE_WRITE_QUEUE_MAX_AGE: "0s" is not longer than zero/)
  })
})

describe('retryAfter (a 429 or 503 answer\'s Retry-After)', () => {
  const now = Date.parse('2026-12-02T12:00:00Z')
  it('reads seconds and HTTP dates; anything else is no hint', () => {
    expect(retryAfter('5', now)).toBe(5000)
    expect(retryAfter(' 0 ', now)).toBe(0)
    expect(retryAfter('Wed, 02 Dec 2026 12:00:10 GMT', now)).toBe(10_000)
    expect(retryAfter('Wed, 02 Dec 2026 11:00:00 GMT', now)).toBe(0)
    expect(retryAfter(undefined, now)).toBeUndefined()
    expect(retryAfter('soon', now)).toBeUndefined()
    expect(retryAfter('-3', now)).toBeUndefined()
  })
})
