/**
 * The hub's `smart_devices` records (spec beszel-v0.18.md §5.2) and how an answer changes them (§4):
 * record id = lower-hex FNV-1a-32 of system id + device key; the reported devices are upserted;
 * with SmartComplete (and a hub that prunes) every other record of the system is deleted first;
 * an empty answer changes nothing.
 */
import type { SmartAnswer, SmartAttributeJson, SmartDataJson } from './smart-payload.js'

export interface SmartDeviceRecord {
  /** FNV-1a-32 of systemId + key, lower hex without padding (Go's %x) */
  id: string
  /** the agent's map key (serial, /dev/mmcblkN, mdraid:mdN) */
  key: string
  /** DiskName, else the key */
  name: string
  model: string
  state: string
  /** bytes */
  capacity: number
  /** °C */
  temp: number
  firmware: string
  serial: string
  type: string
  hours: number | undefined
  cycles: number | undefined
  attributes: SmartAttributeJson[]
  /** ms since the epoch */
  updated: number
}

/** FNV-1a 32-bit over the UTF-8 bytes of the strings, as Go's hash/fnv New32a. */
export function fnv1a32(...parts: string[]): number {
  let hash = 0x811c9dc5
  const utf8 = new TextEncoder()
  for (const part of parts) {
    for (const byte of utf8.encode(part)) {
      hash ^= byte
      hash = Math.imul(hash, 0x01000193) >>> 0
    }
  }
  return hash >>> 0
}

/** Beszel's makeStableHashId(systemId, key): `fmt.Sprintf("%x", fnv32a)`. */
export function smartRecordId(systemId: string, key: string): string {
  return fnv1a32(systemId, key).toString(16)
}

/** First attribute whose lower-cased name matches, as the hub picks power-on hours and cycles. */
function attributeValue(attributes: SmartAttributeJson[], matches: (name: string) => boolean): number | undefined {
  return attributes.find((a) => matches(a.n.toLowerCase()))?.rv
}

export function smartRecord(systemId: string, key: string, data: SmartDataJson, now: number): SmartDeviceRecord {
  const attributes = data.a ?? []
  return {
    id: smartRecordId(systemId, key),
    key,
    name: data.dn || key,
    model: data.mn ?? '',
    state: data.s ?? '',
    capacity: data.c ?? 0,
    temp: data.t ?? 0,
    firmware: data.fv ?? '',
    serial: data.sn ?? '',
    type: data.dt ?? '',
    hours: attributeValue(attributes, (n) => n.includes('poweronhours') || n.includes('power_on_hours')),
    cycles: attributeValue(attributes, (n) => (n.includes('power') && n.includes('cycle')) || n.includes('startstopcycles')),
    attributes,
    updated: now,
  }
}

/**
 * The records after an answer. `prune`: this hub honours key 8 (0.18.8). Returns the same map when
 * nothing changes (an empty answer).
 */
export function applySmartAnswer(
  records: ReadonlyMap<string, SmartDeviceRecord>,
  systemId: string,
  answer: SmartAnswer,
  prune: boolean,
  now: number = Date.now(),
): ReadonlyMap<string, SmartDeviceRecord> {
  if (answer.devices.size === 0) return records
  const next = new Map(records)
  if (prune && answer.complete) {
    const reported = new Set([...answer.devices.keys()].map((key) => smartRecordId(systemId, key)))
    for (const id of next.keys()) if (!reported.has(id)) next.delete(id)
  }
  for (const [key, data] of answer.devices) {
    const record = smartRecord(systemId, key, data, now)
    next.set(record.id, record)
  }
  return next
}
