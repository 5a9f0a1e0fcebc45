/** STUB (helper CONFIG replaces): hub public keys from authorized_keys lines. */
export interface HubKey {
  type: 'ssh-ed25519'
  /** 32 raw bytes */
  publicKey: Buffer
  /** SSH wire blob: string "ssh-ed25519" + string key */
  blob: Buffer
  comment: string
}

export function parseAuthorizedKeys(_text: string): HubKey[] {
  throw new Error('not implemented')
}

export function verifyTokenSignature(_keys: readonly HubKey[], _token: string, _signature: Uint8Array): HubKey | undefined {
  throw new Error('not implemented')
}
