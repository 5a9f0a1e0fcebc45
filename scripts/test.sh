#!/usr/bin/env bash
# Every check the project has: Rust formatting, clippy, the core's and binding's tests, the
# TypeScript type check and the vitest suite (which loads the real native addon).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

# One REAL systemd 252 (PID 1 of a Podman container, its bus a socket here) for the systemd
# tests of both cargo and vitest; without Podman the cargo one stays "ignored" (see below).
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

# Tests marked #[ignore = "needs …"] (cargo lists them as ignored above) run here, each only where
# what it needs exists; elsewhere this says which did not run and why.
run_ignored() { # cargo test selection (-p, --lib/--test), then the test's exact name
  local test=${*: -1} log
  log=$(mktemp)
  echo "-- $test"
  cargo test --quiet "${@:1:$#-1}" -- --ignored --exact "$test" 2>&1 | tee "$log"
  # a renamed test would match nothing and "pass": exactly one must have run
  if ! grep -q '^test result: ok\. 1 passed' "$log"; then
    echo "ignored test $test did not run"
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
}
echo "== cargo test: ignored tests whose prerequisite is here"
if [ -n "${SONAR_TEST_SYSTEM_BUS:-}" ]; then
  run_ignored -p sonar-core --test systemd_live real_systemd_units
  for t in real_systemd_unit_actions alias_of_an_unlisted_unit_is_refused units_without_a_file_and_bad_names; do
    run_ignored -p sonar-core --test service_control_live "$t"
  done
else
  echo "not run: real_systemd_units, service_control_live (no real systemd bus)"
fi
if [ -e /dev/nvidia0 ] || [ -n "$(ls -A /sys/class/drm 2>/dev/null)" ]; then
  echo "not run: no_gpu_here_means_no_key_22 (this machine has a GPU)"
else
  run_ignored -p sonar-core --test gpu no_gpu_here_means_no_key_22
fi
if [ -e /dev/nvidia0 ] && ldconfig -p 2>/dev/null | grep 'libnvidia-ml\.so\.1' >/dev/null; then
  run_ignored -p sonar-core --lib collect::gpu::nvidia::tests::nvml_on_real_gpu
  if command -v nvidia-smi >/dev/null; then
    run_ignored -p sonar-core --lib collect::gpu::nvidia::tests::nvml_and_nvidia_smi_agree_on_memory_used
  else
    echo "not run: nvml_and_nvidia_smi_agree_on_memory_used (no nvidia-smi)"
  fi
else
  echo "not run: nvml_on_real_gpu, nvml_and_nvidia_smi_agree_on_memory_used (no NVIDIA GPU with libnvidia-ml)"
fi
echo "== native binding smoke test (panic hooks print their messages on purpose)"
node crates/sonar-node/tests/smoke.mjs native/sonar-agent.linux-x64-gnu.node 2>/dev/null
echo "== tsc --noEmit"
npx tsc --noEmit -p tsconfig.json
echo "== tsc --noEmit (dev hub page: browser code, DOM types)"
npx tsc --noEmit -p ts/hub/web/page
echo "== vitest"
# the arm64 (qemu) and win32 (Wine) tests fail instead of skipping when their build is missing:
# scripts/setup.sh makes both, so a skip here would hide a broken platform
SONAR_REQUIRE_CROSS=1 npx vitest run
