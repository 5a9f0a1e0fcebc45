/** A capability's Outcome (ts/extensions/types.ts) read as the test expects it, failing otherwise. */
import type { Outcome } from '../../ts/extensions/types.js'

/** The result map of an answer that must have succeeded. */
export function result(outcome: Outcome): Map<number, unknown> {
  if (!outcome.ok) throw new Error(`refused: ${outcome.message}`)
  return outcome.result
}

/** The message of an answer that must have been a refusal. */
export function message(outcome: Outcome): string {
  if (outcome.ok) throw new Error(`expected a refusal, got ${JSON.stringify([...outcome.result])}`)
  return outcome.message
}
