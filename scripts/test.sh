#!/usr/bin/env bash
# Every check the project has: Rust formatting, clippy, the core's and binding's tests, the
# TypeScript type check and the vitest suite (which loads the real native addon).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

# One REAL systemd 252 (PID 1 of a Podman container, its bus a socket here) for the systemd
# tests of both cargo and vitest; without Podman those tests say they were skipped.
echo "== real systemd for the systemd tests"
# named per run: two test runs on one machine must not replace each other's systemd
SYSTEMD_NAME=sonar-systemd-test-$$
if SYSTEMD_BUS=$(NAME=$SYSTEMD_NAME bash test/systemd/systemd-host.sh ensure 2>/tmp/$SYSTEMD_NAME.log); then
  export SONAR_TEST_SYSTEM_BUS=$SYSTEMD_BUS SONAR_TEST_SYSTEM_CONTAINER=$SYSTEMD_NAME
  trap 'NAME=$SYSTEMD_NAME bash test/systemd/systemd-host.sh down; rm -f /tmp/$SYSTEMD_NAME.log' EXIT
  echo "systemd bus: $SYSTEMD_BUS"
else
  echo "real systemd unavailable (tests will skip): $(tail -n 3 /tmp/$SYSTEMD_NAME.log)"
fi

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
