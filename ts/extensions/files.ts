/**
 * Host actions 10–13 (ListFiles, ReadFile, WriteFile, DeleteFile): the policy side. This module
 * decides which root a request may use (by name, never by path), whether that root is writable,
 * and how many bytes it may read or write; the native core's jail opens the files (off the JS
 * thread, beneath the root, no symbolic link followed, the built-in deny list applied:
 * docs/extensions-files.md). Nothing in params is trusted: the root is looked up by name, the
 * path is checked by the jail.
 */
import { dirname, resolve } from 'node:path'
import { DEFAULT_CONFIG_FILE } from '../config/file.js'
import { beszelDataDirs, dataDirCandidates } from '../identity/data-dir.js'
import { loadNative, type NativeBinding } from '../native.js'
import { refused, type DeleteFileParams, type FileRoot, type ListFilesParams, type Outcome, type ReadFileParams, type WriteFileParams } from './types.js'
import { DEFAULT_EXTENSIONS_FILE } from './policy.js'

type FilesBinding = Pick<NativeBinding, 'filesList' | 'filesRead' | 'filesWrite' | 'filesDelete'>

export interface FilesContext {
  /** the policy file the roots came from: refusals name it */
  source: string
  /**
   * paths never served, each with everything beneath it, on top of the built-in deny list and
   * the standard locations (defaultProtectedPaths): the DATA_DIR in use, EXTENSIONS_FILE,
   * AUDIT_LOG, a --config file elsewhere
   */
  protect: readonly string[]
  native?: FilesBinding
}

/** The policy file's default place (EXTENSIONS_FILE), for messages when the caller names none. */
const DEFAULT_SOURCE = DEFAULT_EXTENSIONS_FILE

/**
 * Where the agent keeps what a hub must never read or replace, wherever DATA_DIR points: the
 * default data directories (its own and a Beszel agent's, whose key it may migrate) and the
 * configuration directory. Always protected, so a caller that forgets its own still has these.
 */
export function defaultProtectedPaths(env: NodeJS.ProcessEnv = process.env): string[] {
  return [...dataDirCandidates(undefined, env), ...beszelDataDirs(env), dirname(DEFAULT_CONFIG_FILE)]
}

function settle(context: Partial<FilesContext> | undefined): { source: string; protect: string[]; native: FilesBinding } {
  return {
    source: context?.source ?? DEFAULT_SOURCE,
    // a relative DATA_DIR means relative to where the agent runs, as it does everywhere else
    protect: [...defaultProtectedPaths(), ...(context?.protect ?? [])].map((path) => resolve(path)),
    native: context?.native ?? loadNative(),
  }
}

function findRoot(roots: readonly FileRoot[], name: string, source: string): FileRoot | Outcome {
  const root = roots.find((r) => r.name === name)
  if (root) return root
  const names = roots.map((r) => r.name)
  const configured = names.length ? `configured roots: ${names.join(', ')}` : 'no roots are configured'
  return refused(`root ${JSON.stringify(name)} is not in ${source} (files; ${configured})`)
}

function isRoot(value: FileRoot | Outcome): value is FileRoot {
  return 'path' in value
}

function readOnly(root: FileRoot, source: string): Outcome {
  return refused(`root ${JSON.stringify(root.name)} is read-only in ${source} (files)`)
}

/** The jail's rejection → a refusal that names the root (and the policy entry, for the root's own faults). */
function refusal(error: unknown, root: FileRoot, source: string): Outcome {
  const code = (error as { code?: unknown } | null)?.code
  const message = error instanceof Error ? error.message : String(error)
  if (code === 'ERR_SONAR_FILES_ROOT') return refused(`root ${JSON.stringify(root.name)} in ${source} (files): ${message}`)
  if (typeof code === 'string' && code.startsWith('ERR_SONAR_FILES_')) return refused(`root ${JSON.stringify(root.name)}: ${message}`)
  return refused(`root ${JSON.stringify(root.name)}: the file action failed: ${message}`)
}

/** 10 ListFiles → {0: [{0: name, 1: kind, 2: size, 3: mode, 4: mtime ms}], 1: truncated} */
export async function listFiles(roots: readonly FileRoot[], params: ListFilesParams, context?: Partial<FilesContext>): Promise<Outcome> {
  const { source, protect, native } = settle(context)
  const root = findRoot(roots, params.root, source)
  if (!isRoot(root)) return root
  try {
    const listing = await native.filesList({ root: root.path, path: params.path, protect })
    const entries = listing.entries.map(
      (e) =>
        new Map<number, unknown>([
          [0, e.name],
          [1, e.kind],
          [2, e.size],
          [3, e.mode],
          [4, e.mtimeMs],
        ]),
    )
    return { ok: true, result: new Map<number, unknown>([[0, entries], [1, listing.truncated]]) }
  } catch (error) {
    return refusal(error, root, source)
  }
}

/** 11 ReadFile → {0: data, 1: size, 2: eof, 3: SHA-256 (only when data is the whole file)} */
export async function readFile(roots: readonly FileRoot[], params: ReadFileParams, context?: Partial<FilesContext>): Promise<Outcome> {
  const { source, protect, native } = settle(context)
  const root = findRoot(roots, params.root, source)
  if (!isRoot(root)) return root
  // more than the root allows is cut, not refused: `eof` false tells the hub to ask again
  const length = Math.min(params.length ?? root.maxReadBytes, root.maxReadBytes)
  try {
    const read = await native.filesRead({ root: root.path, path: params.path, offset: params.offset, length, protect })
    const result = new Map<number, unknown>([
      [0, read.data],
      [1, read.size],
      [2, read.eof],
    ])
    if (read.sha256) result.set(3, read.sha256)
    return { ok: true, result, audit: { bytes: read.data.length } }
  } catch (error) {
    return refusal(error, root, source)
  }
}

/** 12 WriteFile → {0: bytes written, 1: SHA-256 of the new content} */
export async function writeFile(roots: readonly FileRoot[], params: WriteFileParams, context?: Partial<FilesContext>): Promise<Outcome> {
  const { source, protect, native } = settle(context)
  const root = findRoot(roots, params.root, source)
  if (!isRoot(root)) return root
  if (!root.writable) return readOnly(root, source)
  if (params.content.length > root.maxWriteBytes) {
    return refused(`root ${JSON.stringify(root.name)} accepts writes of at most ${root.maxWriteBytes} bytes in ${source} (files: max_write); this one is ${params.content.length}`)
  }
  try {
    const written = await native.filesWrite({
      root: root.path,
      path: params.path,
      content: params.content,
      protect,
      ...(params.expectedSha256 ? { expectedSha256: params.expectedSha256 } : {}),
    })
    return {
      ok: true,
      result: new Map<number, unknown>([
        [0, written.written],
        [1, written.sha256],
      ]),
      audit: { bytes: written.written },
    }
  } catch (error) {
    return refusal(error, root, source)
  }
}

/** 13 DeleteFile → {0: true} */
export async function deleteFile(roots: readonly FileRoot[], params: DeleteFileParams, context?: Partial<FilesContext>): Promise<Outcome> {
  const { source, protect, native } = settle(context)
  const root = findRoot(roots, params.root, source)
  if (!isRoot(root)) return root
  if (!root.writable) return readOnly(root, source)
  try {
    await native.filesDelete({
      root: root.path,
      path: params.path,
      protect,
      ...(params.expectedSha256 ? { expectedSha256: params.expectedSha256 } : {}),
    })
    return { ok: true, result: new Map<number, unknown>([[0, true]]) }
  } catch (error) {
    return refusal(error, root, source)
  }
}
