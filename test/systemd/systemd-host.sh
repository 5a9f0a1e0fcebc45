#!/usr/bin/env bash
# A REAL systemd 252 (Debian bookworm) as PID 1 in a Podman container, its system bus exposed as a
# unix socket on this host, with per-unit CPU/memory accounting — for the systemd collector's tests.
# Recipe and pitfalls: shared/notes/systemd.md (this host: PID 1 is not systemd, hybrid cgroups with
# cpu and cpuacct mounted apart, root without CAP_SYS_RESOURCE).
#
#   systemd-host.sh build   debootstrap a minimal rootfs (systemd, dbus, polkitd), add the test units and
#                           the sonar-agent user, podman import (~65 s, once)
#   systemd-host.sh up      start the container, wait until systemd is running/degraded (~1 s)
#   systemd-host.sh down    stop and remove the container and the socket
#   systemd-host.sh ensure  build if the image is missing, then up
# After up: DBUS_SYSTEM_BUS_ADDRESS=unix:path=$BUS_DIR/system_bus_socket
# Env: WORK (default /var/tmp/sonar-systemd), IMAGE, NAME, BUS_DIR, MIRROR.
set -euo pipefail

WORK=${WORK:-/var/tmp/sonar-systemd}
IMAGE=${IMAGE:-localhost/sonar-systemd-test:bookworm-3}
NAME=${NAME:-sonar-systemd-test}
BUS_DIR=${BUS_DIR:-$WORK/bus-$NAME}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$WORK/containers.conf}

log() { printf '[systemd-host %s] %s\n' "$(date +%T)" "$*" >&2; }

containers_conf() {
  mkdir -p "$WORK"
  # No CAP_SYS_RESOURCE here: podman's default ulimits cannot be set; crun refuses hybrid cgroups.
  printf '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n[engine]\nruntime = "runc"\n' > "$CONTAINERS_CONF"
}

mirror() {
  if [ -n "${MIRROR:-}" ]; then echo "$MIRROR"; return; fi
  { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
    grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      | sed -E 's/^deb +(\[[^]]*\] +)?//' | awk '{print $1}'
    true; } | grep -i debian | grep -vi security | head -n1 || true
}

unit() { # name, [Service] body, [Unit] extra
  printf '[Unit]\nDescription=SONAR test unit %s\n%s\n[Service]\n%s\n[Install]\nWantedBy=multi-user.target\n' "$1" "${3:-}" "$2" \
    > "$ROOTFS/etc/systemd/system/$1.service"
}

customize() {
  rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/usr/share/doc/* \
    "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/locale/* "$ROOTFS"/usr/share/info/*
  mkdir -p "$ROOTFS/etc/systemd/system.conf.d"
  printf '[Manager]\nDefaultCPUAccounting=yes\nDefaultMemoryAccounting=yes\nDefaultTasksAccounting=yes\nDefaultIOAccounting=yes\n' \
    > "$ROOTFS/etc/systemd/system.conf.d/10-accounting.conf"
  ln -sf /dev/null "$ROOTFS/etc/systemd/system/systemd-sysctl.service"
  # PID 1 wrapper: make the v1 controller hierarchies writable (podman mounts them read-only) and
  # show cpuacct where systemd looks for it (it expects cpu,cpuacct co-mounted); then exec systemd.
  cat > "$ROOTFS/usr/local/sbin/test-init" <<'INIT'
#!/bin/sh
c=/sys/fs/cgroup
for d in $c/*/; do
  case "$(stat -f -c %T "$d" 2>/dev/null)" in
    cgroupfs|cgroup2fs) mount -o remount,bind,rw "$d" 2>/dev/null || echo "test-init: cannot remount $d rw" >&2 ;;
  esac
done
if [ -d $c/cpuacct ] && [ ! -L $c/cpuacct ] && [ -e $c/cpuacct/cpuacct.usage ] && [ ! -e $c/cpuacct/cpu.shares ]; then
  mount --bind $c/cpuacct $c/cpu || echo "test-init: cannot bind cpuacct over cpu" >&2
fi
exec /lib/systemd/systemd "$@"
INIT
  chmod 755 "$ROOTFS/usr/local/sbin/test-init"
  unit sonar-running 'ExecStart=/bin/sleep infinity'
  # about 10-20 % of one core: a counting burst, then a pause, forever
  unit sonar-busy "ExecStart=/bin/sh -c 'while :; do i=0; while [ \$i -lt 15000 ]; do i=\$((i+1)); done; sleep 0.3; done'"
  unit sonar-failing "ExecStart=/bin/sh -c 'echo failing; exit 3'"
  unit sonar-oneshot "$(printf 'Type=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true')"
  unit sonar-flapping "$(printf "ExecStart=/bin/sh -c 'sleep 1; exit 1'\nRestart=always\nRestartSec=1")" 'StartLimitIntervalSec=0'
  # a unit name with a character systemd escapes in object paths and a dash
  unit 'sonar-web@blue' 'ExecStart=/bin/sleep infinity'
  # Host actions (test/extensions-services.test.ts, crates/sonar-core/tests/service_control_live.rs):
  # small units nothing enables, acted on by the tests; an alias of one (a symlink, as Alias= makes);
  # and the agent's own unprivileged user, whose calls systemd hands to polkit (rules come per test).
  unit ext-managed "$(printf 'Type=simple\nExecStart=/bin/sleep infinity\nExecReload=/bin/true')"
  unit ext-other "$(printf 'Type=simple\nExecStart=/bin/sleep infinity\nExecReload=/bin/true')"
  unit ext-core "$(printf 'Type=simple\nExecStart=/bin/sleep infinity\nExecReload=/bin/true')"
  ln -s ext-other.service "$ROOTFS/etc/systemd/system/ext-alias.service"
  useradd --root "$ROOTFS" --system --uid 990 --home-dir /var/lib/sonar-agent --shell /usr/sbin/nologin sonar-agent
  systemctl --root="$ROOTFS" enable sonar-running.service sonar-busy.service sonar-failing.service \
    sonar-oneshot.service sonar-flapping.service >/dev/null 2>&1
}

build() {
  local t0 m
  t0=$(date +%s)
  containers_conf
  command -v debootstrap >/dev/null || apt-get install -y --no-install-recommends debootstrap >/dev/null
  m=$(mirror)
  [ -n "$m" ] || { log "no Debian mirror in the apt sources; set MIRROR="; exit 1; }
  ROOTFS=$WORK/rootfs
  rm -rf "$ROOTFS"
  log "debootstrap bookworm from $m (about a minute, once)"
  # polkitd: systemd asks it about every unprivileged unit action (the agent runs as sonar-agent);
  # libpam-systemd provides the logind polkitd depends on (debootstrap does not pick one itself).
  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,polkitd,libpam-systemd bookworm "$ROOTFS" "$m" > "$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
  customize
  tar --numeric-owner -C "$ROOTFS" -cf "$WORK/rootfs.tar" .
  podman rmi -f "$IMAGE" >/dev/null 2>&1 || true
  podman import -q --change 'CMD ["/usr/local/sbin/test-init"]' --change 'STOPSIGNAL=SIGRTMIN+3' \
    "$WORK/rootfs.tar" "$IMAGE" >/dev/null
  rm -rf "$ROOTFS" "$WORK/rootfs.tar"
  log "built $IMAGE in $(( $(date +%s) - t0 )) s"
}

up() {
  containers_conf
  podman rm -f -t 0 "$NAME" >/dev/null 2>&1 || true
  mkdir -p "$BUS_DIR"; rm -f "$BUS_DIR/system_bus_socket"
  local s=""
  # --cgroupns=private: unit cgroup paths match the mounted hierarchies; SYS_ADMIN: test-init's
  # remounts; no network: nothing changes on the host.
  podman run -d --name "$NAME" --systemd=always --cgroupns=private --cap-add SYS_ADMIN \
    --network=none -v "$BUS_DIR:/run/dbus" "$IMAGE" >/dev/null
  for _ in $(seq 1 300); do
    s=$(podman exec "$NAME" systemctl is-system-running 2>/dev/null || true)
    case $s in running|degraded) [ -S "$BUS_DIR/system_bus_socket" ] && break ;; esac
    sleep 0.1
  done
  case $s in running|degraded) ;; *) log "systemd did not come up (state '$s')"; podman logs "$NAME" >&2 || true; exit 1 ;; esac
  echo "unix:path=$BUS_DIR/system_bus_socket"
}

down() {
  containers_conf
  podman rm -f -t 5 "$NAME" >/dev/null 2>&1 || true
  rm -rf "$BUS_DIR"
}

case ${1:-ensure} in
  build) build ;;
  up) up ;;
  down) down ;;
  ensure) podman image exists "$IMAGE" 2>/dev/null || build; up ;;
  *) echo "usage: $0 build|up|down|ensure" >&2; exit 2 ;;
esac
