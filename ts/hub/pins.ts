/**
 * Fingerprint pinning (spec §2.7): the first fingerprint an agent presents with a token is stored;
 * later a different one with the same token is refused ("fingerprint mismatch"), as a real hub
 * does. Kept in `<data>/fingerprints.json` so a restarted dev hub still recognises its agent.
 */
import { readFile, rename, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import * as z from 'zod/mini'

export const PINS_FILE = 'fingerprints.json'

const PinsSchema = z.record(z.string(), z.string())

export type PinResult = { accepted: true; firstContact: boolean } | { accepted: false; reason: string }

export class FingerprintPins {
  private pins: Record<string, string> = {}
  /** writes one after another, so a crash leaves either the old or the new file */
  private saving: Promise<void> = Promise.resolve()

  private constructor(readonly path: string) {}

  static async load(dataDir: string): Promise<FingerprintPins> {
    const pins = new FingerprintPins(join(dataDir, PINS_FILE))
    let text: string
    try {
      text = await readFile(pins.path, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return pins
      throw error
    }
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    const parsed = PinsSchema.safeParse(json)
    if (!parsed.success) throw new Error(`${pins.path} is not a {token: fingerprint} JSON object; delete it to forget the pinned agents`)
    pins.pins = parsed.data
    return pins
  }

  get(token: string): string | undefined {
    return this.pins[token]
  }

  /** Pins on first contact, else compares. */
  async check(token: string, fingerprint: string): Promise<PinResult> {
    const pinned = this.pins[token]
    if (pinned === undefined || pinned === '') {
      // set before the await: a second first-contact agent with this token meets the pin
      this.pins[token] = fingerprint
      try {
        await this.save()
      } catch (error) {
        delete this.pins[token]
        return { accepted: false, reason: `database error: cannot write ${this.path}: ${(error as Error).message}` }
      }
      return { accepted: true, firstContact: true }
    }
    return pinned === fingerprint ? { accepted: true, firstContact: false } : { accepted: false, reason: 'fingerprint mismatch' }
  }

  private save(): Promise<void> {
    const text = `${JSON.stringify(this.pins, null, 2)}\n`
    // a failed write fails only its own caller: the next write still runs
    const write = this.saving.catch(() => undefined).then(async () => {
      const temp = `${this.path}.${process.pid}.tmp`
      await writeFile(temp, text, { mode: 0o600 })
      await rename(temp, this.path)
    })
    this.saving = write
    return write
  }

  /** Reads the file again (a user deleted it to accept a reset agent). */
  async reload(): Promise<void> {
    const fresh = await FingerprintPins.load(dirname(this.path))
    this.pins = fresh.pins
  }
}
