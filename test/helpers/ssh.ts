/** SSH test helpers: key pairs and a client that connects the way a Beszel hub does. */
import ssh2, { type ConnectConfig } from 'ssh2'

/** What a hub offers (spec §3.3): one algorithm of each kind. */
export const HUB_ALGORITHMS = {
  kex: ['curve25519-sha256'],
  cipher: ['chacha20-poly1305@openssh.com'],
  hmac: ['hmac-sha2-256-etm@openssh.com'],
} satisfies ConnectConfig['algorithms']

/**
 * Ed25519 key pairs in OpenSSH format. ssh2's generator drops a leading zero byte of about 1 in
 * 200 keys (the pair then does not parse back), which made tests fail at random: such pairs are
 * thrown away.
 */
export function generateSshKeyPair(): { private: string; public: string } {
  for (let attempt = 0; attempt < 20; attempt++) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519')
    const blob = Buffer.from(pair.public.split(' ')[1] ?? '', 'base64')
    // string "ssh-ed25519" (4 + 11) + string key (4 + 32)
    if (blob.length === 51 && !(ssh2.utils.parseKey(pair.private) instanceof Error)) return pair
  }
  throw new Error('ssh2 kept generating unreadable Ed25519 keys')
}

/** Connects like the hub: user `u`, its Ed25519 key, only the hub's algorithms, a beszel banner. */
export function connectAsHub(port: number, privateKey: string, extra: Partial<ConnectConfig> = {}): Promise<InstanceType<typeof ssh2.Client>> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client()
    client
      .once('ready', () => resolve(client))
      .once('error', reject)
      .connect({
        host: '127.0.0.1',
        port,
        username: 'u',
        privateKey,
        algorithms: HUB_ALGORITHMS,
        ident: 'beszel_0.17.0',
        readyTimeout: 10_000,
        ...extra,
      })
  })
}

export interface ShellExchange {
  stdout: Buffer
  /** the exit status; undefined when the agent sent none */
  code: number | undefined
}

/** One hub-style request (spec §3): a shell without pty, the request on stdin, EOF, read until close. */
export function shellExchange(client: InstanceType<typeof ssh2.Client>, input: Uint8Array, timeoutMs = 10_000): Promise<ShellExchange> {
  return new Promise((resolve, reject) => {
    client.shell(false, (error, stream) => {
      if (error) {
        reject(error)
        return
      }
      const timer = setTimeout(() => {
        stream.destroy()
        reject(new Error(`no answer within ${timeoutMs} ms`))
      }, timeoutMs)
      const chunks: Buffer[] = []
      let code: number | undefined
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('exit', (status: number) => (code = status))
      stream.on('close', () => {
        clearTimeout(timer)
        resolve({ stdout: Buffer.concat(chunks), code })
      })
      stream.end(Buffer.from(input))
    })
  })
}
