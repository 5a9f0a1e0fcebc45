/**
 * SSH authentication of the hub: public keys only, and only those in KEY, with the signature
 * verified against the key KEY holds (not the one the peer sent).
 */
import type { AuthContext } from 'ssh2'
import type { HubKey } from '../identity/keys.js'
import type { Logger } from '../log.js'

/** ssh2's key utilities (from the lazily imported module). */
export type Ssh2Utils = (typeof import('ssh2'))['utils']

/** true when accepted (or a signature-less probe for a known key was answered); rejects otherwise. */
export function authenticate(ctx: AuthContext, keys: () => readonly HubKey[], utils: Ssh2Utils, logger: Logger): boolean {
  if (ctx.method !== 'publickey') {
    // 'none' is how clients ask which methods exist; only publickey is offered.
    if (ctx.method !== 'none') logger.warn('SSH authentication method refused', { method: ctx.method })
    ctx.reject(['publickey'])
    return false
  }
  let known: HubKey | undefined
  try {
    known = keys().find((key) => key.type === ctx.key.algo && key.blob.equals(ctx.key.data))
  } catch (error) {
    logger.error('cannot read the hub keys', { error: error instanceof Error ? error.message : String(error) })
  }
  if (!known) {
    logger.warn('SSH public key not in KEY; refused', { algorithm: ctx.key.algo })
    ctx.reject(['publickey'])
    return false
  }
  if (!ctx.signature || !ctx.blob) {
    // The client asks whether this key would do before signing with it.
    ctx.accept()
    return true
  }
  const parsed = utils.parseKey(known.blob)
  const verified = !(parsed instanceof Error) && !Array.isArray(parsed) && parsed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true
  if (!verified) {
    logger.warn('SSH public key signature did not verify; refused')
    ctx.reject(['publickey'])
    return false
  }
  ctx.accept()
  return true
}
