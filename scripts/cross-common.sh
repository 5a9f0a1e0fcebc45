# Shared by scripts/build-arm64.sh and scripts/build-win32.sh (sourced, not run): the steps both
# cross builds take the same way. The sourcing script sets CROSS_NAME (its log prefix) first.

log() { printf '%s: %s\n' "$CROSS_NAME" "$*" >&2; }

# Debian packages the build needs on this machine, installed when missing (as root only).
ensure_host_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  if [[ $(id -u) -ne 0 ]]; then
    log "missing Debian packages: ${missing[*]} — install them as root (apt-get install ${missing[*]})"
    exit 1
  fi
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# `apt-get …` in a folder (for `download`); its output is shown only when it fails.
download() {
  local dir=$1 out
  shift
  if ! out=$(cd "$dir" && apt-get "$@" 2>&1); then
    printf '%s\n' "$out" >&2
    log "apt-get $* failed (is the Debian mirror reachable? try apt-get update)"
    exit 1
  fi
}

# RUST_VERSION and RUST_SERIES (e.g. 1.96) of the rustc-web apt would install: the cross
# compiler is that very version, so its std and the machine's cargo agree.
rustc_web_version() {
  RUST_VERSION=$(apt-cache policy rustc-web | sed -n 's/^ *Candidate: *//p')
  if [[ -z $RUST_VERSION || $RUST_VERSION == "(none)" ]]; then
    log "Debian's rustc-web is not available from apt (it is in bookworm-security); run apt-get update"
    exit 1
  fi
  RUST_SERIES=$(sed -E 's/^([0-9]+\.[0-9]+).*/\1/' <<<"$RUST_VERSION")
}
