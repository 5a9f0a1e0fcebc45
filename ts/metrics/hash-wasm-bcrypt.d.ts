/**
 * hash-wasm's bcrypt alone (28 KiB; the package's entry bundles every algorithm, ~200 KiB, into
 * dist/bin.cjs). A UMD file: Node and esbuild give its exports as the default export.
 */
declare module 'hash-wasm/dist/bcrypt.umd.min.js' {
  import type { bcryptVerify } from 'hash-wasm'
  const bcrypt: { bcryptVerify: typeof bcryptVerify }
  export default bcrypt
}
