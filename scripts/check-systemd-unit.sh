#!/usr/bin/env bash
# Checks packaging/systemd/sonar-agent.service under a REAL systemd (PID 1 in a Podman container,
# see shared/notes/systemd.md): `systemd-analyze verify`, the agent starts and serves with every
# hardening setting applied, runs as sonar-agent with no capabilities, NoNewPrivs and a seccomp
# filter, writes only its state directory, collects (a `snapshot --json` in the same sandbox), and
# can read the system bus; prints `systemd-analyze security`'s exposure score.
#
#   bash scripts/check-systemd-unit.sh      IMAGE: an image whose CMD boots systemd (default: the one
#                                           test/systemd/systemd-host.sh builds)
# APP: the staged app (default: target/container-app/sonar-agent, staged when missing by
# STAGE_ONLY=1 bash scripts/container-build.sh). CONTAINERS_CONF: runc + lowered ulimits on this
# host (environment.md).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-$(sed -n 's/^IMAGE=\${IMAGE:-\(.*\)}$/\1/p' test/systemd/systemd-host.sh)}
NAME=sonar-unit-check-$$
app=${APP:-$PWD/target/container-app/sonar-agent}
[[ -d $app ]] || STAGE_ONLY=1 bash scripts/container-build.sh
podman image exists "$IMAGE" || { echo "no image $IMAGE: build one with test/systemd/systemd-host.sh build" >&2; exit 1; }

podman rm -f -t 0 "$NAME" >/dev/null 2>&1 || true
trap 'podman rm -f -t 0 "$NAME" >/dev/null 2>&1 || true' EXIT
podman run -d --name "$NAME" --systemd=always --cgroupns=private --cap-add SYS_ADMIN --network=none \
  -v "$(readlink -f "$(command -v node)"):/usr/local/bin/node:ro" -v "$app:/opt/sonar-agent:ro" \
  -v "$PWD/packaging/systemd/sonar-agent.service:/etc/systemd/system/sonar-agent.service:ro" "$IMAGE" >/dev/null
for _ in $(seq 100); do
  case $(podman exec "$NAME" systemctl is-system-running 2>/dev/null || true) in running | degraded) break ;; esac
  sleep 0.2
done

keys=$(mktemp -d)
ssh-keygen -q -t ed25519 -N '' -C hub -f "$keys/hub"
key=$(cat "$keys/hub.pub")
rm -rf "$keys"
podman exec -i "$NAME" sh -eu <<EOF
ln -sf /opt/sonar-agent/bin/sonar-agent /usr/local/bin/sonar-agent
id sonar-agent >/dev/null 2>&1 || useradd --system --home-dir /var/lib/sonar-agent --shell /usr/sbin/nologin sonar-agent
install -d -m 755 /etc/sonar-agent
printf 'KEY=%s\nLISTEN=127.0.0.1:45876\n' '$key' > /etc/sonar-agent/env && chmod 600 /etc/sonar-agent/env
systemd-analyze verify /etc/systemd/system/sonar-agent.service && echo "verify: ok"
systemctl daemon-reload
systemctl start sonar-agent
sleep 3
echo "state: \$(systemctl is-active sonar-agent)"
grep -E '^(Uid|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/\$(systemctl show -p MainPID --value sonar-agent)/status
echo "state dir: \$(ls /var/lib/sonar-agent/ | tr '\n' ' ')"
journalctl -u sonar-agent -o cat --no-pager | grep -c 'SSH server listening' | sed 's/^/ssh listening lines: /'
# the same sandbox, one snapshot
sed 's|^ExecStart=.*|ExecStart=sonar-agent snapshot --json|; s|^Restart=.*|Restart=no|' /etc/systemd/system/sonar-agent.service > /etc/systemd/system/sonar-agent-snapshot.service
systemctl daemon-reload
systemctl start sonar-agent-snapshot
sleep 3
echo "snapshot: \$(systemctl show -p Result --value sonar-agent-snapshot), \$(journalctl -u sonar-agent-snapshot -o cat --no-pager | grep -cE '"(cpu|m|d)":') cpu/memory/disk fields"
systemd-run --quiet --wait --pipe -p User=sonar-agent -p RestrictAddressFamilies=AF_UNIX -p SystemCallFilter=@system-service \
  busctl --system call org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager ListUnitsByPatterns asas 0 1 '*.service' | cut -d' ' -f1,2 | sed 's/^/bus as sonar-agent: /'
systemd-analyze security --no-pager sonar-agent | tail -n 1
EOF
