/** Whether a cross-built addon is older than the Rust it is built from (a stale build is not tested). */
import { readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '../..')

/** The newest Rust source or manifest the addons are built from. */
export function newestSource(): { path: string; mtimeMs: number } {
  let newest = { path: join(root, 'Cargo.lock'), mtimeMs: statSync(join(root, 'Cargo.lock')).mtimeMs }
  for (const entry of readdirSync(join(root, 'crates'), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !/\.rs$|^Cargo\.toml$/.test(entry.name)) continue
    const path = join(entry.parentPath, entry.name)
    const { mtimeMs } = statSync(path)
    if (mtimeMs > newest.mtimeMs) newest = { path, mtimeMs }
  }
  return newest
}
