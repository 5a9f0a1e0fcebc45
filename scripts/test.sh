#!/usr/bin/env bash
# Every check the project has: Rust formatting, clippy, the core's and binding's tests, the
# TypeScript type check and the vitest suite (which loads the real native addon).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== cargo test"
cargo test --workspace --quiet
echo "== native binding smoke test (panic hooks print their messages on purpose)"
node crates/sonar-node/tests/smoke.mjs native/sonar-agent.linux-x64-gnu.node 2>/dev/null
echo "== tsc --noEmit"
npx tsc --noEmit -p tsconfig.json
echo "== tsc --noEmit (dev hub page: browser code, DOM types)"
npx tsc --noEmit -p ts/hub/web/page
echo "== vitest"
npx vitest run
