/**
 * Reads a remote-write request body back (snappy block format, then prometheus.WriteRequest) so
 * a test receiver can check what the agent sent, independently of the Rust encoder. Strict: an
 * unexpected field or a truncated message throws.
 */

export interface DecodedSeries {
  /** labels in wire order */
  labels: [string, string][]
  samples: { value: number; timestamp: number }[]
}

/** The snappy block format: a varint length, then literals and back-references. */
export function snappyDecode(input: Uint8Array): Buffer {
  let at = 0
  const varint = (): number => {
    let n = 0
    for (let shift = 0; shift < 35; shift += 7) {
      const b = input[at++]
      if (b === undefined) throw new Error('snappy: truncated length')
      n += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) return n
    }
    throw new Error('snappy: length too long')
  }
  const le = (bytes: number): number => {
    let n = 0
    for (let i = 0; i < bytes; i++) n += (input[at + i] ?? 0) * 2 ** (8 * i)
    at += bytes
    return n
  }
  const out = Buffer.alloc(varint())
  let o = 0
  while (at < input.length) {
    const tag = input[at++] as number
    const kind = tag & 3
    if (kind === 0) {
      let len = tag >> 2
      if (len >= 60) len = le(len - 59)
      len += 1
      if (at + len > input.length || o + len > out.length) throw new Error('snappy: literal out of bounds')
      out.set(input.subarray(at, at + len), o)
      at += len
      o += len
      continue
    }
    let len: number
    let offset: number
    if (kind === 1) {
      len = ((tag >> 2) & 7) + 4
      offset = ((tag >> 5) << 8) | (input[at++] as number)
    } else {
      len = (tag >> 2) + 1
      offset = le(kind === 2 ? 2 : 4)
    }
    if (offset === 0 || offset > o || o + len > out.length) throw new Error('snappy: copy out of bounds')
    for (let i = 0; i < len; i++, o++) out[o] = out[o - offset] as number
  }
  if (o !== out.length) throw new Error(`snappy: ${o} bytes decoded, ${out.length} announced`)
  return out
}

class Reader {
  at = 0
  constructor(private readonly buf: Buffer) {}
  get done(): boolean {
    return this.at >= this.buf.length
  }
  varint(): bigint {
    let n = 0n
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const b = this.buf[this.at++]
      if (b === undefined) throw new Error('protobuf: truncated varint')
      n |= BigInt(b & 0x7f) << shift
      if ((b & 0x80) === 0) return n
    }
    throw new Error('protobuf: varint too long')
  }
  key(): [number, number] {
    const key = Number(this.varint())
    return [key >> 3, key & 7]
  }
  expect(field: number, wire: number, what: string): void {
    const [f, w] = this.key()
    if (f !== field || w !== wire) throw new Error(`protobuf: ${what}: got field ${f} wire type ${w}`)
  }
  bytes(): Buffer {
    const len = Number(this.varint())
    if (this.at + len > this.buf.length) throw new Error('protobuf: truncated field')
    const slice = this.buf.subarray(this.at, this.at + len)
    this.at += len
    return slice
  }
  double(): number {
    const value = this.buf.readDoubleLE(this.at)
    this.at += 8
    return value
  }
}

/** prometheus.WriteRequest → its time series. */
export function decodeWriteRequest(body: Uint8Array): DecodedSeries[] {
  const request = new Reader(snappyDecode(body))
  const out: DecodedSeries[] = []
  while (!request.done) {
    request.expect(1, 2, 'WriteRequest.timeseries')
    const ts = new Reader(request.bytes())
    const series: DecodedSeries = { labels: [], samples: [] }
    while (!ts.done) {
      const [field, wire] = ts.key()
      if (field === 1 && wire === 2) {
        const label = new Reader(ts.bytes())
        label.expect(1, 2, 'Label.name')
        const name = label.bytes().toString('utf8')
        label.expect(2, 2, 'Label.value')
        series.labels.push([name, label.bytes().toString('utf8')])
      } else if (field === 2 && wire === 2) {
        const sample = new Reader(ts.bytes())
        sample.expect(1, 1, 'Sample.value')
        const value = sample.double()
        sample.expect(2, 0, 'Sample.timestamp')
        series.samples.push({ value, timestamp: Number(BigInt.asIntN(64, sample.varint())) })
      } else {
        throw new Error(`protobuf: unexpected TimeSeries field ${field} wire type ${wire}`)
      }
    }
    out.push(series)
  }
  return out
}

/** A series' metric name. */
export function seriesName(series: DecodedSeries): string | undefined {
  return series.labels.find(([name]) => name === '__name__')?.[1]
}
