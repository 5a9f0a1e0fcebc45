#!/usr/bin/env bash
# Builds the agent's container image from what `bash scripts/setup.sh` already built (nothing is
# compiled here): stages dist/bin.cjs, the native addon and the production node_modules under
# target/container-app/ (the only part of the repository the build context lets in, see
# .containerignore), makes the local base image when it is missing, and runs `podman build`.
#
#   bash scripts/container-build.sh [IMAGE]          default IMAGE: localhost/sonar-agent:<version>
#   BASE=node:20-bookworm-slim bash scripts/container-build.sh   (where a registry is reachable)
#   STAGE_ONLY=1 bash scripts/container-build.sh     (stage only; then docker/podman build yourself)
#   CONTEXT=/tmp/ctx bash scripts/container-build.sh (stage and build there: parallel builds, e.g.
#                                                     tests, do not share one staging folder)
#
# The podman in PATH is used with the caller's environment (CONTAINERS_CONF, …).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'container-build: %s\n' "$*" >&2; }
version=$(node -p 'require("./package.json").version')
IMAGE=${1:-localhost/sonar-agent:$version}
BASE=${BASE:-localhost/sonar-node-base:20}
triple=linux-x64-gnu
addon=native/sonar-agent.$triple.node

for built in dist/bin.cjs "$addon"; do
  [[ -f $built ]] || { log "$built is missing: run bash scripts/setup.sh first"; exit 1; }
done

context=${CONTEXT:-$PWD}
stage=$context/target/container-app
rm -rf "$stage"
mkdir -p "$stage/sonar-agent/dist" "$stage/sonar-agent/native" "$stage/sonar-agent/bin" "$stage/data"
cp dist/bin.cjs "$stage/sonar-agent/dist/bin.cjs"
cp "$addon" "$stage/sonar-agent/native/"
cp package.json "$stage/sonar-agent/package.json"
ln -s ../dist/bin.cjs "$stage/sonar-agent/bin/sonar-agent"

# Production dependencies only, as npm resolved them here (their native parts already built);
# dist/bin.cjs bundles the rest. Build leftovers (object files, sources of the addons) stay out.
# Sorted, so a package is copied before the packages nested in it (which it then already holds).
# npm ls exits 1 over an extraneous or unmet optional package; its list is still complete.
deps=$(npm ls --omit=dev --all --parseable 2>/dev/null || true)
[[ $deps == *node_modules* ]] || { log "npm ls listed no production dependencies: run bash scripts/setup.sh"; exit 1; }
tail -n +2 <<<"$deps" | sort | while read -r dir; do
  rel=${dir#"$PWD"/}
  [[ $rel == node_modules/* ]] || continue
  mkdir -p "$stage/sonar-agent/$(dirname "$rel")"
  [[ -e $stage/sonar-agent/$rel ]] || cp -a "$rel" "$stage/sonar-agent/$rel"
done
find "$stage/sonar-agent/node_modules" \( -name obj.target -o -name .deps -o -name '*.o' -o -name '*.mk' -o -name Makefile \) -prune -exec rm -rf {} +
log "staged $(du -sh "$stage" | cut -f1) in $stage"
[[ -n ${STAGE_ONLY:-} ]] && exit 0

command -v podman >/dev/null || { log "podman is missing (apt-get install podman runc)"; exit 1; }
if [[ $BASE == localhost/sonar-node-base:* ]] && ! podman image exists "$BASE"; then
  bash scripts/container-base.sh "$BASE" >/dev/null
fi
[[ $context == "$PWD" ]] || cp .containerignore "$context/"
# docker format: OCI images have no HEALTHCHECK. No intermediate layers: every step is a copy.
start=$(date +%s%N)
podman build -q --layers=false --format docker --build-arg "BASE=$BASE" -f "$PWD/Containerfile" -t "$IMAGE" "$context" >/dev/null
log "built $IMAGE from $BASE in $(( ($(date +%s%N) - start) / 1000000 )) ms"
echo "$IMAGE"
