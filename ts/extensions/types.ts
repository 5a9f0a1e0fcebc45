/**
 * SONAR's host actions (6–13): what the host's policy file allows, what a verified hub request asks
 * for, and what a capability answers. The policy comes only from the host (EXTENSIONS_FILE, loaded
 * by policy.ts); a request reaches a capability only after wire.ts decoded it, verify.ts checked its
 * signature, freshness and nonce, and gate.ts its route, transport and READ_ONLY (docs/extensions.md).
 */

/** One command the host allows, by id: the hub names the id and fills the slots, nothing else. */
export interface CommandPolicy {
  id: string
  /**
   * The program and its arguments, run without a shell. An argument that is exactly `{name}` is
   * replaced by that slot's value (always a whole argument, never part of one).
   */
  argv: readonly string[]
  /** slot name → the pattern its whole value must match (anchored when compiled) */
  slots: ReadonlyMap<string, RegExp>
  /** working directory (absolute) */
  cwd: string
  /** names of the agent's own environment variables the command gets; nothing else is passed */
  env: readonly string[]
  /** the whole process group is killed (SIGKILL) when it runs longer */
  timeoutMs: number
  /** stdout and stderr are each cut at this many bytes (the answer says so) */
  outputLimitBytes: number
  /** runs of this id at once; one more is refused, not queued */
  concurrency: number
  /** run as this user (the agent must be able to switch to it); absent: the agent's own */
  user?: { name: string; uid: number; gid: number }
}

export const SERVICE_ACTIONS = ['start', 'stop', 'restart', 'reload', 'enable', 'disable'] as const
export type ServiceAction = (typeof SERVICE_ACTIONS)[number]

export interface ServicePolicy {
  /** unit-name globs ListServices and GetServiceStatus may show */
  list: readonly string[]
  /** unit-name globs PerformServiceAction may act on (exact names are globs too) */
  manage: readonly string[]
  /** the actions allowed on `manage` units */
  actions: readonly ServiceAction[]
}

export interface FileRoot {
  /** what the hub names (`logs`), never a path */
  name: string
  /** absolute, resolved at load (no symlink in it) */
  path: string
  writable: boolean
  /** ReadFile returns at most this many bytes per request */
  maxReadBytes: number
  /** WriteFile accepts at most this many bytes */
  maxWriteBytes: number
}

export interface ExtensionsPolicy {
  /** the file it came from, for messages */
  source: string
  commands: readonly CommandPolicy[]
  services: ServicePolicy
  files: readonly FileRoot[]
}

// ---- request parameters (request key 1 → the signed envelope's key 0, decoded) ----

/** 6 ExecuteCommand */
export interface CommandParams {
  id: string
  /** slot name → value */
  args: ReadonlyMap<string, string>
}

/** 8 GetServiceStatus */
export interface ServiceParams {
  unit: string
}

/** 9 PerformServiceAction */
export interface ServiceActionParams {
  unit: string
  action: ServiceAction
}

/** 10 ListFiles */
export interface ListFilesParams {
  root: string
  /** relative to the root; "" is the root itself */
  path: string
}

/** 11 ReadFile */
export interface ReadFileParams {
  root: string
  path: string
  offset: number
  /** absent: up to the root's maxReadBytes */
  length?: number
}

/** 12 WriteFile */
export interface WriteFileParams {
  root: string
  path: string
  content: Uint8Array
  /**
   * absent: no check; 0 bytes: the file must not exist yet; 32 bytes: the SHA-256 the file must have
   * now (two writers cannot silently overwrite each other)
   */
  expectedSha256?: Uint8Array
}

/** 13 DeleteFile */
export interface DeleteFileParams {
  root: string
  path: string
  /** absent: no check; 32 bytes: the SHA-256 the file must have now */
  expectedSha256?: Uint8Array
}

// ---- answers ----

/** What the audit record says beyond the decision (docs/extensions.md, audit log). */
export interface AuditDetail {
  /** a command's exit status (−1 when a signal ended it) */
  exit?: number
  /** bytes read or written */
  bytes?: number
}

/**
 * A capability's answer: the result map (integer keys, sent under response key 7) or a refusal or
 * failure (sent under key 3). A message names the local setting or policy entry that would allow
 * the request, never anything the hub could change.
 */
export type Outcome =
  | { ok: true; result: Map<number, unknown>; audit?: AuditDetail }
  | { ok: false; message: string; audit?: AuditDetail }

export function refused(message: string, audit?: AuditDetail): Outcome {
  return audit ? { ok: false, message, audit } : { ok: false, message }
}
