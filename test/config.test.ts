import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ConfigError, knownSettings, listenPort, formatListen, loadConfig, type CliFlags } from '../ts/config/config.js'
import { ed25519Blob } from '../ts/identity/keys.js'

const tmp = mkdtempSync(join(tmpdir(), 'sonar-config-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
let counter = 0

function file(content: string, name = `f-${counter++}`): string {
  const path = join(tmp, name)
  writeFileSync(path, content)
  return path
}

function keyLine(comment: string): string {
  const { publicKey } = generateKeyPairSync('ed25519')
  const x = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url')
  return `ssh-ed25519 ${ed25519Blob(x).toString('base64')} ${comment}`
}

const KEY_A = keyLine('hub-a')
const KEY_B = keyLine('hub-b')
const KEY_C = keyLine('hub-c')
const TOKEN = 'S3CRET-t0ken-value'
const NO_FILE = join(tmp, 'no-such-config.yml')

/** loadConfig with the default config file pointed at `yaml` (or at nothing). */
function load(flags: CliFlags, env: NodeJS.ProcessEnv, yaml?: string, hubSettings = true) {
  return loadConfig(flags, env, { defaultConfigFile: yaml === undefined ? NO_FILE : file(yaml), hubSettings })
}

/** The ConfigError message a load throws. */
function failure(flags: CliFlags, env: NodeJS.ProcessEnv, yaml?: string, hubSettings = true): string {
  try {
    load(flags, env, yaml, hubSettings)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    const message = (error as Error).message
    expect(message).not.toContain('\n')
    return message
  }
  throw new Error('expected a ConfigError')
}

describe('loadConfig basics', () => {
  it('KEY alone: SSH-only agent with the defaults', () => {
    const config = load({}, { KEY: KEY_A })
    expect(config.hubUrl).toBeUndefined()
    expect(config.token).toBeUndefined()
    expect(config.keys.map((k) => k.comment)).toEqual(['hub-a'])
    expect(config.listen).toEqual({ network: 'tcp', port: 45876, text: ':45876' })
    expect(listenPort(config.listen)).toBe('45876')
    expect(config.disableSsh).toBe(false)
    expect(config.tlsInsecureSkipVerify).toBe(false)
    expect(config.logLevel).toBe('info')
    expect(config.roots).toEqual({ proc: '/proc', sys: '/sys', etc: '/etc' })
    expect(config.dataDir).toBeUndefined()
    expect(config.systemName).toBeUndefined()
    expect(config.hubFlavor).toBeUndefined()
    expect(config.configFile).toBeUndefined()
  })

  it('a full WebSocket setup', () => {
    const ca = file('-----BEGIN CERTIFICATE-----\n')
    const config = load(
      {},
      {
        KEY: `${KEY_A}\n${KEY_B}`,
        HUB_URL: 'https://hub.example.com/base/',
        TOKEN,
        DATA_DIR: '/srv/sonar',
        SYSTEM_NAME: ' Web 01 ',
        LOG_LEVEL: 'DEBUG',
        HUB_FLAVOR: 'Beszel',
        CA_CERT_FILE: ca,
        TLS_INSECURE_SKIP_VERIFY: 'false',
        DISABLE_SSH: 'true',
        HOST_PROC: '/host/proc',
        HOST_SYS: '/host/sys',
        HOST_ETC: '/host/etc',
      },
    )
    expect(config.hubUrl?.href).toBe('https://hub.example.com/base/')
    expect(config.token).toBe(TOKEN)
    expect(config.keys).toHaveLength(2)
    expect(config.dataDir).toBe('/srv/sonar')
    expect(config.systemName).toBe('Web 01')
    expect(config.logLevel).toBe('debug')
    expect(config.hubFlavor).toBe('beszel')
    expect(config.caCertFile).toBe(ca)
    expect(config.disableSsh).toBe(true)
    expect(config.roots).toEqual({ proc: '/host/proc', sys: '/host/sys', etc: '/host/etc' })
  })

  it('hub URL schemes http, https, ws, wss are all accepted as given', () => {
    for (const url of ['http://10.0.0.5:8090', 'https://hub.example.com', 'ws://hub:8090', 'wss://hub.example.com/x']) {
      expect(load({}, { KEY: KEY_A, HUB_URL: url, TOKEN }).hubUrl?.protocol).toBe(`${url.split(':')[0]}:`)
    }
  })

  it('booleans: true/false in any case, the core\'s one grammar', () => {
    expect(load({}, { KEY: KEY_A, DISABLE_SSH: 'TRUE', HUB_URL: 'https://h', TOKEN }).disableSsh).toBe(true)
    expect(load({}, { KEY: KEY_A, DISABLE_SSH: 'False' }).disableSsh).toBe(false)
    expect(load({}, { KEY: KEY_A, TLS_INSECURE_SKIP_VERIFY: 'true' }).tlsInsecureSkipVerify).toBe(true)
    expect(load({}, { KEY: KEY_A, TLS_INSECURE_SKIP_VERIFY: '' }).tlsInsecureSkipVerify).toBe(false)
  })

  // SKIP_GPU=1 was "true" to the doctor (its own isTrue) and "false" to the core: one grammar now,
  // and every other spelling is an error naming the setting, on every boolean, whichever side reads it.
  it.each([
    ['SKIP_GPU', '1'],
    ['SKIP_SYSTEMD', 'yes'],
    ['DISABLE_SSH', '0'],
    ['TLS_INSECURE_SKIP_VERIFY', 'on'],
    ['EXIT_ON_DNS_ERROR', 'no'],
    ['NVML', 'off'],
  ])('skip_gpu_1_means_one_thing_everywhere: %s=%s is refused', (name, value) => {
    expect(failure({}, { KEY: KEY_A, [name]: value })).toBe(`${name}: ${JSON.stringify(value)} is not true or false (e.g. ${name}=${name === 'NVML' ? 'false' : 'true'})`)
  })

  it('refused Beszel settings stop the agent with the reason, from the file as from the environment', () => {
    expect(failure({}, { KEY: KEY_A, HOST_ROOT: '/host' })).toMatch(/^HOST_ROOT: "\/host" is set, but SONAR does not support it: .*; remove it$/)
    expect(failure({}, { KEY: KEY_A }, 'SENSORS_TIMEOUT: 2s\n')).toMatch(/^SENSORS_TIMEOUT: "2s" is set, but SONAR does not support it: /)
    expect(() => load({}, { KEY: KEY_A, SMART_INTERVAL: '' }), 'blank is unset').not.toThrow()
  })

  it('dbus_system_bus_address_in_the_config_file_is_accepted', () => {
    expect(load({}, { KEY: KEY_A }, 'DBUS_SYSTEM_BUS_ADDRESS: unix:path=/tmp/bus\n').collectorSettings(['DBUS_SYSTEM_BUS_ADDRESS'])).toEqual({
      DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/tmp/bus',
    })
  })

  it('core settings are checked with the core\'s grammar at load time', () => {
    expect(failure({}, { KEY: KEY_A, DISK_USAGE_CACHE: 'soon' })).toMatch(/^DISK_USAGE_CACHE: "soon" is not a duration .*\(e\.g\. DISK_USAGE_CACHE=15m\)$/)
    expect(failure({}, { KEY: KEY_A, GPU_COLLECTOR: 'rocm-smi' })).toMatch(/^GPU_COLLECTOR: "rocm-smi" lists rocm-smi, but rocm-smi is not implemented in SONAR/)
    expect(load({}, { KEY: KEY_A, DOCKER_TIMEOUT: '5s' }).value('DOCKER_TIMEOUT')).toBe(5000)
    expect(load({}, { KEY: KEY_A, SERVICE_PATTERNS: 'nginx*, docker' }).value('SERVICE_PATTERNS')).toEqual(['nginx*', 'docker'])
  })
})

describe('precedence: flags > env (SONAR_AGENT_ > BESZEL_AGENT_ > bare) > file', () => {
  it('env prefixes', () => {
    expect(load({}, { SONAR_AGENT_KEY: KEY_A, BESZEL_AGENT_KEY: KEY_B, KEY: KEY_C }).keys[0]?.comment).toBe('hub-a')
    expect(load({}, { BESZEL_AGENT_KEY: KEY_B, KEY: KEY_C }).keys[0]?.comment).toBe('hub-b')
    expect(load({}, { BESZEL_AGENT_LISTEN: '1234', LISTEN: '5678', KEY: KEY_A }).listen.port).toBe(1234)
  })

  it('flags beat env beat file', () => {
    const yaml = `HUB_URL: https://file.example.com\nTOKEN: file-token\nKEY: ${KEY_C}\nLISTEN: 3333\nSYSTEM_NAME: from-file\n`
    const fromFile = load({}, {}, yaml)
    expect(fromFile.hubUrl?.hostname).toBe('file.example.com')
    expect(fromFile.token).toBe('file-token')
    expect(fromFile.keys[0]?.comment).toBe('hub-c')
    expect(fromFile.listen.port).toBe(3333)
    expect(fromFile.systemName).toBe('from-file')
    expect(fromFile.configFile).toMatch(/^\/.+/)

    const env = { HUB_URL: 'https://env.example.com', TOKEN: 'env-token', KEY: KEY_B, LISTEN: '4444' }
    const fromEnv = load({}, env, yaml)
    expect([fromEnv.hubUrl?.hostname, fromEnv.token, fromEnv.keys[0]?.comment, fromEnv.listen.port]).toEqual(['env.example.com', 'env-token', 'hub-b', 4444])
    expect(fromEnv.systemName).toBe('from-file')

    const fromFlags = load({ url: 'https://flag.example.com', token: 'flag-token', key: KEY_A, listen: '5555' }, env, yaml)
    expect([fromFlags.hubUrl?.hostname, fromFlags.token, fromFlags.keys[0]?.comment, fromFlags.listen.port]).toEqual([
      'flag.example.com',
      'flag-token',
      'hub-a',
      5555,
    ])
    expect(fromFlags.setting('hub_url')).toBe('https://flag.example.com')
    expect(fromFlags.setting('SYSTEM_NAME')).toBe('from-file')
  })

  it('an empty env value masks the file (set-but-empty), but is "unset" for agent settings', () => {
    const config = load({}, { KEY: KEY_A, SYSTEM_NAME: '', NICS: '' }, 'SYSTEM_NAME: from-file\nNICS: eth0\n')
    expect(config.systemName).toBeUndefined()
    expect(config.collectorSettings(['NICS'])).toEqual({ NICS: '' })
  })

  it('collectorSettings: env beats file, file-only values visible, unset names omitted', () => {
    const config = load({}, { KEY: KEY_A, BESZEL_AGENT_SENSORS: 'coretemp*', DOCKER_HOST: 'unix:///env.sock' }, 'NICS: eth0,eth1\nsensors: acpitz\nDocker_Host: tcp://x:2375\n')
    expect(config.collectorSettings(['NICS', 'SENSORS', 'DOCKER_HOST', 'FILESYSTEM'])).toEqual({
      NICS: 'eth0,eth1',
      SENSORS: 'coretemp*',
      DOCKER_HOST: 'unix:///env.sock',
    })
    expect(config.setting('nics')).toBe('eth0,eth1')
    expect(config.setting('FILESYSTEM')).toBeUndefined()
  })
})

describe('KEY, KEY_FILE, TOKEN, TOKEN_FILE', () => {
  it('KEY holds several lines with comments and blank lines', () => {
    const config = load({}, { KEY: `# hub keys\n\n${KEY_A}\n  \n${KEY_B}\n` })
    expect(config.keys.map((k) => k.comment)).toEqual(['hub-a', 'hub-b'])
  })

  it('key_file_used_when_key_empty; KEY beats KEY_FILE; --key beats both', () => {
    const keyFile = file(`${KEY_B}\n`)
    expect(load({}, { KEY_FILE: keyFile }).keys[0]?.comment).toBe('hub-b')
    expect(load({}, { KEY: '', KEY_FILE: keyFile }).keys[0]?.comment).toBe('hub-b')
    expect(load({}, { KEY: KEY_A, KEY_FILE: keyFile }).keys[0]?.comment).toBe('hub-a')
    expect(load({ key: KEY_C }, { KEY: KEY_A, KEY_FILE: keyFile }).keys[0]?.comment).toBe('hub-c')
  })

  it('env_key_file_beats_file_key (the environment wins as a whole)', () => {
    const keyFile = file(`${KEY_B}\n`)
    expect(load({}, { KEY_FILE: keyFile }, `KEY: ${KEY_A}\n`).keys[0]?.comment).toBe('hub-b')
    expect(load({}, {}, `KEY_FILE: ${keyFile}\n`).keys[0]?.comment).toBe('hub-b')
  })

  it('several KEY lines in a YAML block scalar', () => {
    expect(load({}, {}, `KEY: |\n  ${KEY_A}\n  # second hub\n  ${KEY_B}\n`).keys).toHaveLength(2)
  })

  it('token_file_trimmed; TOKEN beats TOKEN_FILE; --token beats both', () => {
    const tokenFile = file(`  ${TOKEN}\n\n`)
    const base = { KEY: KEY_A, HUB_URL: 'https://hub' }
    expect(load({}, { ...base, TOKEN_FILE: tokenFile }).token).toBe(TOKEN)
    expect(load({}, { ...base, TOKEN: 'direct', TOKEN_FILE: tokenFile }).token).toBe('direct')
    expect(load({ token: 'flag' }, { ...base, TOKEN: 'direct', TOKEN_FILE: tokenFile }).token).toBe('flag')
  })

  it('token values stay literal in the YAML file (0123 is not a number)', () => {
    expect(load({}, { KEY: KEY_A }, 'HUB_URL: https://hub\nTOKEN: 0123\n').token).toBe('0123')
  })

  it('missing KEY_FILE / TOKEN_FILE name the path', () => {
    expect(failure({}, { KEY_FILE: join(tmp, 'nope.pub') })).toMatch(/^KEY_FILE: cannot read .*nope\.pub \(ENOENT\)/)
    expect(failure({}, { KEY: KEY_A, HUB_URL: 'https://hub', TOKEN_FILE: join(tmp, 'nope') })).toMatch(/^TOKEN_FILE: cannot read .*nope \(ENOENT\)/)
  })

  it('a bad key line names the source and the line', () => {
    expect(failure({}, { KEY: `${KEY_A}\nssh-rsa AAAAB3NzaC1yc2E= x` })).toMatch(/^KEY: line 2: key type ssh-rsa is not supported/)
    expect(failure({ key: 'garbage' }, {})).toMatch(/^--key: line 1: not an authorized_keys line/)
    expect(failure({}, { KEY_FILE: file(`\n\n${KEY_A.slice(0, 40)}`) })).toMatch(/^KEY_FILE: line 3: /)
  })
})

describe('required settings', () => {
  it('nothing_configured_says_what_to_set', () => {
    const message = failure({}, {})
    expect(message).toMatch(/^KEY: not set/)
    for (const name of ['KEY_FILE', '--key', 'HUB_URL', 'TOKEN']) expect(message).toContain(name)
    expect(message).toContain('(e.g. KEY="ssh-ed25519 ')
  })

  it('HUB_URL without KEY: KEY is needed to verify the hub', () => {
    expect(failure({}, { HUB_URL: 'https://hub', TOKEN })).toMatch(/^KEY: not set; the hub's public key is needed to verify the hub at HUB_URL/)
  })

  it('KEY with only comments is not usable', () => {
    expect(failure({}, { KEY: '# nothing here\n' })).toMatch(/^KEY: has no key lines/)
  })

  it('hub_url_without_token_rejected', () => {
    expect(failure({}, { KEY: KEY_A, HUB_URL: 'https://hub' })).toMatch(/^TOKEN: not set; it is required when HUB_URL is set/)
    expect(failure({}, { KEY: KEY_A, HUB_URL: 'https://hub', TOKEN: '   ' })).toMatch(/^TOKEN: not set/)
  })

  it('disable_ssh_without_hub_url_rejected (nothing could reach the agent)', () => {
    expect(failure({}, { KEY: KEY_A, DISABLE_SSH: 'true' })).toMatch(/^HUB_URL: not set and DISABLE_SSH=true/)
  })

  it('hubSettings false (fingerprint command): KEY/TOKEN not read, other values still checked', () => {
    const config = load({}, { HUB_URL: 'https://hub', DATA_DIR: '/srv/x' }, undefined, false)
    expect(config.keys).toEqual([])
    expect(config.dataDir).toBe('/srv/x')
    const broken = load({}, { KEY: 'garbage', KEY_FILE: '/nonexistent', TOKEN_FILE: '/nonexistent', HUB_URL: 'https://hub' }, undefined, false)
    expect([broken.keys, broken.token]).toEqual([[], undefined])
    expect(failure({}, { LOG_LEVEL: 'loud' }, undefined, false)).toMatch(/^LOG_LEVEL:/)
  })
})

describe('value validation: one line, setting, problem, example', () => {
  const ok = { KEY: KEY_A }
  it.each([
    [{ HUB_URL: 'hub.example.com', TOKEN }, /^HUB_URL: needs a scheme.*\(e\.g\. HUB_URL=https:\/\/hub\.example\.com\)$/],
    [{ HUB_URL: 'ftp://hub.example.com', TOKEN }, /^HUB_URL: scheme "ftp" is not supported; use http, https, ws or wss \(e\.g\. HUB_URL=/],
    [{ HUB_URL: 'http://', TOKEN }, /^HUB_URL: is not a valid URL/],
    [{ HUB_URL: 'file:///etc/passwd', TOKEN }, /^HUB_URL: scheme "file"/],
    [{ LOG_LEVEL: 'verbose' }, /^LOG_LEVEL: "verbose" is not one of debug, info, warn, error \(e\.g\. LOG_LEVEL=info\)$/],
    [{ HUB_FLAVOR: 'pocketbase' }, /^HUB_FLAVOR: "pocketbase" is not sonar or beszel \(e\.g\. HUB_FLAVOR=beszel\)$/],
    [{ DISABLE_SSH: 'maybe' }, /^DISABLE_SSH: "maybe" is not true or false \(e\.g\. DISABLE_SSH=true\)$/],
    [{ TLS_INSECURE_SKIP_VERIFY: 'sure' }, /^TLS_INSECURE_SKIP_VERIFY: "sure" is not true or false/],
    [{ NETWORK: 'udp' }, /^NETWORK: "udp" is not one of tcp, tcp4, tcp6, unix \(e\.g\. NETWORK=tcp\)$/],
    [{ CA_CERT_FILE: '/nonexistent/ca.pem' }, /^CA_CERT_FILE: cannot read \/nonexistent\/ca\.pem \(ENOENT\) \(e\.g\. CA_CERT_FILE=/],
    [{ CA_CERT_FILE: '/tmp' }, /^CA_CERT_FILE: \/tmp is not a file/],
  ])('%j', (env, expected) => {
    expect(failure({}, { ...ok, ...env })).toMatch(expected)
  })

  it('a bad --url names the flag', () => {
    expect(failure({ url: 'nope' }, { ...ok, TOKEN })).toMatch(/^--url: needs a scheme.*\(e\.g\. --url https:\/\/hub\.example\.com\)$/)
  })
})

describe('LISTEN (spec §3.1)', () => {
  const listen = (env: NodeJS.ProcessEnv, flags: CliFlags = {}) => load(flags, { KEY: KEY_A, ...env }).listen
  it.each([
    ['8080', { network: 'tcp', port: 8080 }],
    [':8080', { network: 'tcp', port: 8080 }],
    ['0.0.0.0:8080', { network: 'tcp', host: '0.0.0.0', port: 8080 }],
    ['127.0.0.1:45876', { network: 'tcp', host: '127.0.0.1', port: 45876 }],
    ['[::1]:8080', { network: 'tcp', host: '::1', port: 8080 }],
    ['[::]:45876', { network: 'tcp', host: '::', port: 45876 }],
    ['localhost:9000', { network: 'tcp', host: 'localhost', port: 9000 }],
    ['/run/sonar-agent.sock', { network: 'unix', path: '/run/sonar-agent.sock' }],
  ])('%s', (value, expected) => {
    expect(listen({ LISTEN: value })).toEqual({ ...expected, text: value })
  })

  it('formatListen gives a canonical form for logs', () => {
    expect(formatListen(listen({ LISTEN: '8080' }))).toBe(':8080')
    expect(formatListen(listen({ LISTEN: '[::1]:8080' }))).toBe('[::1]:8080')
    expect(formatListen(listen({ LISTEN: '/run/a.sock' }))).toBe('/run/a.sock')
    expect(listenPort(listen({ LISTEN: '/run/a.sock' }))).toBe('')
  })

  it('legacy PORT, LISTEN beats PORT, --listen beats both, default :45876', () => {
    expect(listen({ PORT: '2222' }).port).toBe(2222)
    expect(listen({ PORT: '2222', LISTEN: '3333' }).port).toBe(3333)
    expect(listen({ PORT: '2222', LISTEN: '3333' }, { listen: '4444' }).port).toBe(4444)
    expect(listen({}).port).toBe(45876)
  })

  it('NETWORK overrides the inferred network', () => {
    expect(listen({ LISTEN: '0.0.0.0:45876', NETWORK: 'tcp4' }).network).toBe('tcp4')
    expect(listen({ LISTEN: '[::]:45876', NETWORK: 'TCP6' }).network).toBe('tcp6')
    expect(listen({ LISTEN: 'agent.sock', NETWORK: 'unix' })).toEqual({ network: 'unix', path: 'agent.sock', text: 'agent.sock' })
  })

  it.each([
    [{ LISTEN: '::1:8080' }, /^LISTEN: IPv6 addresses must be in brackets \(e\.g\. LISTEN=\[::1\]:45876\)$/],
    [{ LISTEN: '70000' }, /^LISTEN: port 70000 is out of range 1-65535 \(e\.g\. LISTEN=45876\)$/],
    [{ LISTEN: '0' }, /^LISTEN: port 0 is out of range/],
    [{ LISTEN: 'ssh' }, /^LISTEN: port "ssh" is not a number/],
    [{ LISTEN: 'host:' }, /^LISTEN: port "" is not a number/],
    [{ LISTEN: '[fe80::1:45876' }, /^LISTEN: IPv6 address needs the form \[address\]:port/],
    [{ LISTEN: '[1.2.3.4]:45876' }, /^LISTEN: "1\.2\.3\.4" in brackets is not an IPv6 address/],
    [{ LISTEN: 'bad_host!:45876' }, /^LISTEN: "bad_host!" is not an IP address or host name/],
    [{ LISTEN: '/run/a.sock', NETWORK: 'tcp' }, /^LISTEN: a unix socket path needs NETWORK=unix/],
    [{ LISTEN: '[::1]:45876', NETWORK: 'tcp4' }, /^LISTEN: NETWORK=tcp4 but the host is an IPv6 address/],
    [{ LISTEN: '10.0.0.1:45876', NETWORK: 'tcp6' }, /^LISTEN: NETWORK=tcp6 but the host is an IPv4 address/],
    [{ PORT: '99999' }, /^PORT: port 99999 is out of range/],
  ])('%j is rejected', (env, expected) => {
    expect(failure({}, { KEY: KEY_A, ...env })).toMatch(expected)
  })

  it('a bad --listen names the flag', () => {
    expect(failure({ listen: '65536' }, { KEY: KEY_A })).toMatch(/^--listen: port 65536 is out of range 1-65535 \(e\.g\. --listen 45876\)$/)
  })
})

describe('config file', () => {
  it('keys are case-insensitive setting names', () => {
    const config = load({}, {}, `key: ${KEY_A}\nHub_Url: https://hub\ntoken: t\nlisten: "[::1]:2222"\n`)
    expect(config.hubUrl?.hostname).toBe('hub')
    expect(config.listen.host).toBe('::1')
  })

  it('unknown_setting_suggests_closest', () => {
    expect(failure({}, {}, `KEY: ${KEY_A}\nHUB_ULR: https://hub\n`)).toMatch(/line 2: unknown setting "HUB_ULR" \(did you mean HUB_URL\?\)$/)
    expect(failure({}, {}, `BESZEL_AGENT_KEY: ${KEY_A}\n`)).toMatch(/unknown setting "BESZEL_AGENT_KEY" \(did you mean KEY\?\)$/)
    expect(failure({}, {}, 'completely_unrelated_thing: 1\n')).toMatch(/unknown setting "completely_unrelated_thing"$/)
  })

  it('same_setting_twice_in_different_case_rejected', () => {
    expect(failure({}, {}, `KEY: ${KEY_A}\nkey: ${KEY_B}\n`)).toMatch(/line 2: KEY is given twice/)
    expect(failure({}, {}, `KEY: ${KEY_A}\nKEY: ${KEY_B}\n`)).toMatch(/line 2: a setting is given twice/)
  })

  it('lists and maps are rejected with a hint', () => {
    expect(failure({}, { KEY: KEY_A }, 'NICS: [eth0, eth1]\n')).toMatch(/NICS must be a single value/)
    expect(failure({}, { KEY: KEY_A }, 'NICS:\n  a: b\n')).toMatch(/NICS must be a single value/)
    expect(failure({}, { KEY: KEY_A }, '- KEY\n- NICS\n')).toMatch(/expected "NAME: value" lines/)
  })

  it('an empty value is "set but empty"; an empty file is no settings', () => {
    expect(load({}, { KEY: KEY_A }, 'SENSORS:\n').collectorSettings(['SENSORS'])).toEqual({ SENSORS: '' })
    expect(load({}, { KEY: KEY_A }, '').keys).toHaveLength(1)
    expect(load({}, { KEY: KEY_A }, '# just a comment\n').keys).toHaveLength(1)
  })

  it('yaml_syntax_error_does_not_quote_the_file (it may hold the token)', () => {
    const message = failure({}, { KEY: KEY_A }, `HUB_URL: https://hub\nTOKEN: "${TOKEN}\n`)
    expect(message).toMatch(/^config file .*: invalid YAML \(MISSING_CHAR\)/)
    expect(message).not.toContain(TOKEN)
    const nested = failure({}, { KEY: KEY_A }, `TOKEN: ${TOKEN}: x\n`)
    expect(nested).not.toContain(TOKEN)
  })

  it('--config must exist; the default file is optional', () => {
    expect(failure({ config: join(tmp, 'missing.yml') }, { KEY: KEY_A })).toMatch(/^config file .*missing\.yml: cannot read it \(ENOENT\)/)
    expect(load({}, { KEY: KEY_A }).configFile).toBeUndefined()
    const explicit = file('SYSTEM_NAME: explicit\n')
    const config = loadConfig({ config: explicit }, { KEY: KEY_A }, { defaultConfigFile: file('SYSTEM_NAME: default\n') })
    expect(config.systemName).toBe('explicit')
    expect(config.configFile).toBe(explicit)
  })

  it('every setting of the spec table is accepted in the file', () => {
    const spec = [
      'HUB_URL', 'TOKEN', 'TOKEN_FILE', 'KEY', 'KEY_FILE', 'LISTEN', 'PORT', 'NETWORK', 'DATA_DIR', 'SYSTEM_NAME', 'LOG_LEVEL',
      'MEM_CALC', 'DISK_USAGE_CACHE', 'FILESYSTEM', 'EXTRA_FILESYSTEMS', 'NICS', 'SENSORS', 'PRIMARY_SENSOR', 'SYS_SENSORS',
      'DOCKER_HOST', 'DOCKER_TIMEOUT', 'EXCLUDE_CONTAINERS', 'SKIP_GPU', 'INTEL_GPU_DEVICE', 'SKIP_SYSTEMD', 'SERVICE_PATTERNS',
      'SMART_DEVICES', 'EXCLUDE_SMART', 'LHM', 'DISABLE_SSH', 'SMART_INTERVAL', 'SMART_DEVICES_SEPARATOR', 'SENSORS_TIMEOUT',
      'GPU_COLLECTOR', 'NVML', 'AMD_SYSFS', 'EXIT_ON_DNS_ERROR', 'ALL_PROXY', 'NO_PROXY', 'HOST_PROC', 'HOST_SYS', 'HOST_ETC',
      'HUB_FLAVOR', 'CA_CERT_FILE', 'TLS_INSECURE_SKIP_VERIFY',
    ]
    for (const name of spec) expect(knownSettings()).toContain(name)
  })
})

describe('secrets never appear in error messages', () => {
  const keyMaterial = KEY_A.split(' ')[1] ?? ''
  it.each([
    ['TOKEN with a line break', { KEY: KEY_A, HUB_URL: 'https://hub', TOKEN: `${TOKEN}\nX-Evil: 1` }],
    ['TOKEN with non-latin1', { KEY: KEY_A, HUB_URL: 'https://hub', TOKEN: `${TOKEN}✓` }],
    ['HUB_URL with credentials and a bad scheme', { KEY: KEY_A, HUB_URL: `ftp://user:${TOKEN}@hub`, TOKEN }],
    ['truncated key', { KEY: `ssh-ed25519 ${keyMaterial.slice(0, -4)}` }],
    ['key with junk', { KEY: `ssh-ed25519 ${keyMaterial}!!` }],
    ['rsa-typed key', { KEY: `ssh-rsa ${keyMaterial}` }],
    ['key with options', { KEY: `command="x" ${KEY_A}` }],
  ])('%s', (_name, env) => {
    const message = failure({}, env)
    expect(message).not.toContain(TOKEN)
    expect(message).not.toContain(keyMaterial.slice(12, 40))
  })

  it('TOKEN problems are reported without the value', () => {
    expect(failure({}, { KEY: KEY_A, HUB_URL: 'https://hub', TOKEN: `${TOKEN}\r\n2` })).toBe('TOKEN: contains a line break or control character')
    expect(failure({}, { KEY: KEY_A, HUB_URL: 'https://hub', TOKEN_FILE: file(`${TOKEN}\nsecond line`) })).toBe(
      'TOKEN_FILE: contains a line break or control character',
    )
  })
})
