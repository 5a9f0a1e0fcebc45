#!/usr/bin/env bash
# Makes the container base image locally (no registry reachable): a minimal Debian tree holding this
# machine's Node (/usr/local/bin/node, where the official node images keep it), the shared libraries
# Node and the native addons need (found with ldd), busybox for `env` (bin.cjs starts with
# `#!/usr/bin/env node`) and `sh`, passwd/group with nobody (the image runs as 65534), os-release.
#
#   bash scripts/container-base.sh [IMAGE]      default IMAGE: localhost/sonar-node-base:20
#
# Imported with `podman import`; the podman in PATH is used with the caller's environment
# (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF). Elsewhere, pass BASE=node:20-bookworm-slim to the
# Containerfile instead and skip this script.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${1:-localhost/sonar-node-base:20}
NODE=$(readlink -f "$(command -v node)")
BUSYBOX=/usr/bin/busybox
log() { printf 'container-base: %s\n' "$*" >&2; }

[[ -x $BUSYBOX ]] || { log "$BUSYBOX is missing (apt-get install busybox-static)"; exit 1; }
command -v podman >/dev/null || { log "podman is missing (apt-get install podman runc)"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/sonar-base.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/rootfs

# Debian's merged-/usr layout, so library paths from ldd are valid inside as they are.
mkdir -p "$root"/usr/{bin,lib/x86_64-linux-gnu,lib64,local/bin} "$root"/{etc,tmp,var/lib,run,proc,sys,dev}
ln -s usr/bin "$root/bin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
chmod 1777 "$root/tmp"

install -m 0755 "$NODE" "$root/usr/local/bin/node"
install -m 0755 "$BUSYBOX" "$root/usr/bin/busybox"
for applet in env sh; do ln -s busybox "$root/usr/bin/$applet"; done

# Every library node or a native addon (ours, ssh2's, cbor-extract's, cpu-features') links to.
# Addons built for another machine (native/sonar-agent.linux-arm64-gnu.node) are not ldd's business.
objects=("$NODE")
while IFS= read -r -d '' addon; do objects+=("$addon"); done < <(find native node_modules -name '*.node' -not -path '*/obj.target/*' -print0 2>/dev/null)
for object in "${objects[@]}"; do
  { ldd "$object" 2>/dev/null || log "skipped $object (not for this machine)"; } | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
done | sort -u | while read -r lib; do
  # /lib and /lib64 are symlinks into usr/ in the tree too, so the ldd path works as the target.
  mkdir -p "$(dirname "$root$lib")"
  cp -L "$lib" "$root$lib"
done

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
cp /etc/os-release "$root/etc/os-release"

tar --numeric-owner -C "$root" -cf "$work/rootfs.tar" .
log "importing $(du -sh "$root" | cut -f1) as $IMAGE (node $("$NODE" --version))"
podman import -q \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --change 'CMD ["node"]' \
  "$work/rootfs.tar" "$IMAGE" >/dev/null
echo "$IMAGE"
