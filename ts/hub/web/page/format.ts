/** Number formatting for axes, legends and tables (units as data-model.md §1 gives them). */

const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']

export const MIB = 1024 * 1024

function fixed(value: number): string {
  const abs = Math.abs(value)
  return value.toFixed(abs >= 100 ? 0 : abs >= 10 ? 1 : 2)
}

export function bytes(value: number): string {
  let unit = 0
  let scaled = value
  while (Math.abs(scaled) >= 1024 && unit < BINARY_UNITS.length - 1) {
    scaled /= 1024
    unit++
  }
  return `${unit === 0 ? Math.round(scaled) : fixed(scaled)} ${BINARY_UNITS[unit]}`
}

export const bytesPerSecond = (value: number): string => `${bytes(value)}/s`
export const percent = (value: number): string => `${fixed(value)} %`
export const gib = (value: number): string => bytes(value * 1024 * MIB)
export const mib = (value: number): string => bytes(value * MIB)
export const celsius = (value: number): string => `${fixed(value)} °C`
export const watts = (value: number): string => `${fixed(value)} W`
export const rpm = (value: number): string => `${Math.round(value)} RPM`
export const megabytes = (value: number): string => `${fixed(value)} MB`
export const plain = (value: number): string => fixed(value)

export function duration(seconds: number): string {
  const d = Math.floor(seconds / 86400)
  const h = Math.floor((seconds % 86400) / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  if (d > 0) return `${d} d ${h} h`
  if (h > 0) return `${h} h ${m} min`
  return `${m} min ${Math.floor(seconds % 60)} s`
}

export function ago(at: number, now: number = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - at) / 1000))
  return seconds < 90 ? `${seconds} s ago` : `${Math.round(seconds / 60)} min ago`
}
