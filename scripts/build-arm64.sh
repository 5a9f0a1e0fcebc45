#!/usr/bin/env bash
# `npm run build:arm64`: builds native/sonar-agent.linux-arm64-gnu.node on this x86-64 machine and
# prepares an arm64 Node runtime to exercise it under qemu-user (test/package-arm64.test.ts).
#
# rustup cannot add targets here (no network beyond the package registries), so the compiler is
# Debian's own rustc-web with its aarch64 standard library, unpacked with `dpkg-deb -x` into a
# private prefix (rustup stays the default toolchain); rustup's cargo drives it through RUSTC.
# Linking uses Debian's gcc-aarch64-linux-gnu. The arm64 .debs (std, nodejs and its libraries)
# come from a private apt state for arm64, so the machine's dpkg never gains a foreign
# architecture. Everything lives under target/cross-arm64 (git-ignored). Idempotent: each step
# is skipped when its stamp exists.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CROSS=${SONAR_CROSS_DIR:-$ROOT/target/cross-arm64}
TOOLCHAIN=$CROSS/toolchain # rustc-web + std for x86_64 and aarch64
SYSROOT=$CROSS/sysroot     # arm64 userland for qemu: nodejs and the libraries it needs
APTDIR=$CROSS/apt
TRIPLE=aarch64-unknown-linux-gnu
OUT=native/sonar-agent.linux-arm64-gnu.node
export PATH="$HOME/.cargo/bin:$PATH"

CROSS_NAME=build-arm64
# shellcheck source=scripts/cross-common.sh
source scripts/cross-common.sh

# 1. Host packages: the cross linker + arm64 C library, and qemu-user to run the result.
HOST_PACKAGES=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static)
ensure_host_packages "${HOST_PACKAGES[@]}"

# 2. A private apt state that sees only arm64 packages (same Debian sources as the machine).
mkdir -p "$APTDIR"/{lists/partial,cache/archives/partial}
touch "$APTDIR/status"
ARM_APT=(
  -o "APT::Architecture=arm64" -o "APT::Architectures::=arm64"
  -o "Dir::State::Lists=$APTDIR/lists" -o "Dir::State::status=$APTDIR/status"
  -o "Dir::Cache=$APTDIR/cache" -o "Debug::NoLocking=1"
)
if [[ ! -f $APTDIR/.updated ]]; then
  log "fetching the arm64 package lists (private apt state in $APTDIR)"
  apt-get "${ARM_APT[@]}" update -qq
  touch "$APTDIR/.updated"
fi

# 3. The compiler: rustc-web (x86_64) + its std, and the aarch64 std of the very same version.
rustc_web_version
if [[ ! -f $TOOLCHAIN/.stamp-$RUST_VERSION ]]; then
  log "unpacking rustc-web $RUST_VERSION with the aarch64 standard library into $TOOLCHAIN"
  rm -rf "$TOOLCHAIN" "$APTDIR/debs" && mkdir -p "$TOOLCHAIN" "$APTDIR/debs"
  # librustc_driver links the LLVM it was built with (libllvmNN); that and whichever of LLVM's own
  # libraries this machine lacks are unpacked into the prefix too.
  llvm=$(apt-cache depends "libstd-rust-web-$RUST_SERIES" | sed -n 's/^ *Depends: \(libllvm[0-9.]*\)$/\1/p')
  extra=("$llvm")
  for dep in $(apt-cache depends "$llvm" | sed -n 's/^ *Depends: \([^<]*\)$/\1/p'); do
    dpkg-query -W -f='${Status}' "$dep" 2>/dev/null | grep -q 'install ok installed' || extra+=("$dep")
  done
  download "$APTDIR/debs" download "rustc-web=$RUST_VERSION" "libstd-rust-web-dev=$RUST_VERSION" \
    "libstd-rust-web-$RUST_SERIES=$RUST_VERSION" "${extra[@]}"
  download "$APTDIR/debs" "${ARM_APT[@]}" download "libstd-rust-web-dev:arm64=$RUST_VERSION"
  for deb in "$APTDIR"/debs/*.deb; do dpkg-deb -x "$deb" "$TOOLCHAIN"; done
  rm -rf "$APTDIR/debs" # unpacked; the stamp below keeps them from being fetched again
  ls "$TOOLCHAIN/usr/lib/rustlib/$TRIPLE/lib/"libcore-*.rlib >/dev/null
  touch "$TOOLCHAIN/.stamp-$RUST_VERSION"
fi
RUSTC=$TOOLCHAIN/usr/bin/rustc
# rustc finds its libraries (librustc_driver) next to the prefix it was unpacked into.
export LD_LIBRARY_PATH="$TOOLCHAIN/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
"$RUSTC" --version >/dev/null

# 4. The arm64 userland for qemu: Debian's nodejs and everything it depends on.
if [[ ! -f $SYSROOT/.stamp ]]; then
  log "unpacking Debian's arm64 nodejs and its libraries into $SYSROOT"
  rm -rf "$SYSROOT" "$APTDIR/node-debs" && mkdir -p "$SYSROOT" "$APTDIR/node-debs"
  mapfile -t closure < <(apt-cache "${ARM_APT[@]}" depends --recurse --no-recommends --no-suggests \
    --no-conflicts --no-breaks --no-replaces --no-enhances nodejs |
    grep -E '^[a-z0-9]' | grep -vE '^(debconf|dpkg|perl-base|install-info)' | sort -u)
  download "$APTDIR/node-debs" "${ARM_APT[@]}" download "${closure[@]}"
  for deb in "$APTDIR"/node-debs/*.deb; do dpkg-deb -x "$deb" "$SYSROOT"; done
  rm -rf "$APTDIR/node-debs"
  test -x "$SYSROOT/usr/bin/node"
  touch "$SYSROOT/.stamp"
fi

# 5. The addon. Its own target dir: rustc-web and rustup's rustc must not share build artefacts.
log "building $OUT with $("$RUSTC" --version)"
RUSTC=$RUSTC CARGO_TARGET_DIR=$CROSS/target \
  CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
  cargo build --release --quiet --target "$TRIPLE" -p sonar-node
mkdir -p native
cp "$CROSS/target/$TRIPLE/release/libsonar_node.so" "$OUT"
log "built $OUT ($(stat -c %s "$OUT") bytes): $(file -b "$OUT" | cut -d, -f1-2)"
log "node for qemu: qemu-aarch64-static -L $SYSROOT $SYSROOT/usr/bin/node"
