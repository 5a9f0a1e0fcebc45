/** GetContainerInfo's payload: the engine's inspect JSON without Config.Env (secrets live there). */
import { InspectSchema } from './schemas.js'

export function redactInspect(raw: unknown): string {
  const parsed = InspectSchema.parse(raw)
  if (parsed.Config) delete parsed.Config.Env
  return JSON.stringify(parsed)
}
