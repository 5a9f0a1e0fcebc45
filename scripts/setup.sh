#!/usr/bin/env bash
# Idempotent set-up: installs what a fresh machine lacks (Debian's Rust crate sources, the test
# peers, npm dependencies), then builds the native core and the TypeScript. Safe to run every time;
# a machine that has everything only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'setup: %s\n' "$*" >&2; }

# Rust crates come from Debian's librust-*-dev packages (the crates registry is unreachable;
# .cargo/config.toml points cargo at /usr/share/cargo/registry). python3-psutil is the benchmark
# peer; openssh-client and openssl serve the SSH and TLS tests (a real `ssh`, real certificates);
# podman, runc and busybox-static give the container tests a real engine (no registry needed);
# chromium is the real browser of the dev hub page test (driven by playwright-core); debootstrap
# builds the real systemd 252 image of the systemd tests (test/systemd/systemd-host.sh);
# prometheus (with promtool), prometheus-node-exporter and python3-prometheus-client (an OpenMetrics
# parser) check /metrics against the real peers; victoria-metrics and prometheus are the real
# remote-write receivers of test/remote-write*.test.ts. The cross targets the tests run:
# gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and qemu-user-static for linux-arm64
# (scripts/build-arm64.sh), gcc-mingw-w64-x86-64 and Wine for win32-x64 (scripts/build-win32.sh);
# their compilers come from Debian's rustc-web, unpacked under target/.
APT_PACKAGES=(
  librust-libc-dev
  librust-sysinfo-dev
  librust-nvml-wrapper-dev
  librust-zbus-dev
  librust-tempfile-dev
  librust-snap-dev
  librust-flate2-dev
  librust-flate2+miniz-oxide-dev
  python3-psutil
  openssh-client
  openssl
  podman
  runc
  busybox-static
  chromium
  debootstrap
  prometheus
  prometheus-node-exporter
  python3-prometheus-client
  victoria-metrics
  gcc-aarch64-linux-gnu
  libc6-dev-arm64-cross
  qemu-user-static
  gcc-mingw-w64-x86-64
  wine
  wine64
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]] && ! command -v sudo >/dev/null; then
    log "missing Debian packages: ${missing[*]} — install them as root (apt-get install ${missing[*]})"
    exit 1
  fi
  SUDO=$([[ $(id -u) -eq 0 ]] && echo "" || echo sudo)
  log "installing ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# rustup's stable toolchain (with clippy and rustfmt) is on every build machine.
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v cargo >/dev/null; then
  log "cargo not found: install a Rust toolchain (rustup stable with clippy and rustfmt)"
  exit 1
fi

# npm dependencies: reinstall only when the lock file changed since the last install. `npm install`
# rather than `npm ci`: the registry reachable here lacks cbor-x's optional prebuilt
# @cbor-extract/* packages (cbor-x then uses its JS decoder), which `npm ci` treats as an error.
stamp=node_modules/.sonar-lock-stamp
if [[ ! -f $stamp ]] || ! cmp -s package-lock.json "$stamp"; then
  log "installing npm dependencies"
  npm install --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi

log "building the native core"
npx napi build --platform --release --cargo-cwd crates/sonar-node native >/dev/null
# The platform claims are tested, not assumed: the arm64 addon (run under qemu-user) and the
# win32 addon (run by Windows' node.exe under Wine). Toolchains, std and runtimes are cached under
# target/cross-*: the first run takes ~10 minutes on 2 cores, later ones only rebuild what changed.
log "building the linux-arm64 core (scripts/build-arm64.sh)"
bash scripts/build-arm64.sh
log "building the win32-x64 core and its Wine test host (scripts/build-win32.sh)"
bash scripts/build-win32.sh
log "building the TypeScript (dist/, plus dist/bin.cjs bundled in one file: less to load and keep in memory)"
npm run --silent build:ts
chmod +x dist/bin.cjs
log "ready"
