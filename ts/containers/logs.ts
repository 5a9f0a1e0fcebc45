/**
 * Container log payloads: Docker's multiplexed stream (8-byte frame headers: stream byte, three
 * zero bytes, big-endian length) or a TTY container's raw stream, ANSI escapes stripped, capped.
 */

export const LOG_TAIL_LINES = 200
export const MAX_LOG_BYTES = 5 * 1024 * 1024

/** CSI and OSC sequences (OSC ended by BEL or ST), then any other escape (charset selections too). */
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[ -/]*[0-~]/g

export function stripAnsi(text: string): string {
  return text.replace(ANSI, '')
}

/** True when `data` parses from start to end as multiplexed frames. */
export function isMultiplexed(data: Uint8Array): boolean {
  if (data.length < 8) return false
  let offset = 0
  while (offset + 8 <= data.length) {
    const stream = data[offset]
    if (stream === undefined || stream > 2 || data[offset + 1] !== 0 || data[offset + 2] !== 0 || data[offset + 3] !== 0) return false
    const length = readLength(data, offset + 4)
    offset += 8 + length
  }
  // A stream cut at the byte cap may end inside a frame; anything else must end on a boundary.
  return offset >= data.length
}

function readLength(data: Uint8Array, at: number): number {
  return ((data[at] ?? 0) * 0x1000000 + ((data[at + 1] ?? 0) << 16) + ((data[at + 2] ?? 0) << 8) + (data[at + 3] ?? 0)) >>> 0
}

/** The frames' payloads concatenated (stdout and stderr interleaved in arrival order). */
export function demultiplex(data: Uint8Array): Buffer {
  const parts: Uint8Array[] = []
  let offset = 0
  while (offset + 8 <= data.length) {
    const length = readLength(data, offset + 4)
    const start = offset + 8
    parts.push(data.subarray(start, Math.min(start + length, data.length)))
    offset = start + length
  }
  return Buffer.concat(parts)
}

/** The text the hub shows: decoded, raw TTY line ends normalised, escapes stripped, ≤ MAX_LOG_BYTES. */
export function decodeLogs(data: Uint8Array, maxBytes: number = MAX_LOG_BYTES): string {
  const multiplexed = isMultiplexed(data)
  let payload = multiplexed ? demultiplex(data) : Buffer.from(data.buffer, data.byteOffset, data.length)
  if (payload.length > maxBytes) payload = payload.subarray(0, maxBytes)
  let text = payload.toString('utf8')
  if (!multiplexed) text = text.replace(/\r\n/g, '\n')
  return stripAnsi(text)
}
