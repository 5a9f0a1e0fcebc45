/**
 * A throwaway CA, a server certificate for 127.0.0.1/localhost and a client certificate, made by
 * the real openssl CLI in a temporary folder (the metrics TLS tests).
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface TestCerts {
  dir: string
  caCert: string
  serverCert: string
  serverKey: string
  clientCert: string
  clientKey: string
  remove(): void
}

export const OPENSSL = '/usr/bin/openssl'
export const haveOpenssl = () => existsSync(OPENSSL)

async function openssl(dir: string, ...args: string[]): Promise<void> {
  await run(OPENSSL, args, { cwd: dir })
}

/** Issues `name`.crt/.key signed by the CA, with these extensions. */
async function issue(dir: string, name: string, subject: string, extensions: string): Promise<void> {
  writeFileSync(join(dir, `${name}.ext`), extensions)
  await openssl(dir, 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject)
  await openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', `${name}.crt`, '-extfile', `${name}.ext`)
}

export async function makeTestCerts(): Promise<TestCerts> {
  const dir = mkdtempSync(join(tmpdir(), 'sonar-tls-'))
  await openssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=sonar test CA')
  await issue(dir, 'server', '/CN=localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n')
  await issue(dir, 'client', '/CN=scraper', 'extendedKeyUsage=clientAuth\n')
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}
