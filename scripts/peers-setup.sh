#!/usr/bin/env bash
# Installs and prepares strata's peers (podman, buildah, skopeo, crun, runc,
# Docker's dockerd/BuildKit from Debian's docker.io, docker-registry) on a
# Debian 12 host, for the side-by-side benchmarks and interop tests.
# Idempotent; run as root.
#
#   scripts/peers-setup.sh           packages + cgroup fix + /etc/containers
#   scripts/peers-setup.sh cgroups   only the cgroup fix (what the benchmarks
#                                    that run containers call; they give the
#                                    peers private config files of their own)
#
# Why each fix is needed on hosts without systemd (cgroup v1/v2 hybrid, no
# CAP_SYS_RESOURCE, a low hard open-files limit):
#  - crun refuses hybrid cgroups while any controller is still on the v2
#    hierarchy ("cgroups in hybrid mode not supported"): such controllers are
#    mounted as v1 hierarchies. (Test for content: cgroupfs files report
#    size 0, so `[ -s ]` is always false.)
#  - podman/buildah need the cgroupfs manager and file events (no systemd),
#    and default container rlimits this process tree is allowed to set.
#    Written to /etc/containers/containers.conf only when that file is
#    missing; the benchmarks never rely on it (see bench/lib.sh).
#  - a plain-HTTP registry on loopback must be marked insecure for them: the
#    file below covers port 5000; for other ports pass --tls-verify=false.
#  - dockerd is not started here (Debian's package cannot start it without
#    systemd); bench/build.sh starts a private one (own config, data-root,
#    socket) and stops it by PID.
set -eu
[ "$(id -u)" = 0 ] || {
  echo "peers-setup: run as root" >&2
  exit 1
}

cgroups() {
  local c
  if grep -q . /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null; then
    for c in $(cat /sys/fs/cgroup/unified/cgroup.controllers); do
      mountpoint -q "/sys/fs/cgroup/$c" && continue
      mkdir -p "/sys/fs/cgroup/$c" && mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c"
    done
  fi
}

case "${1:-all}" in
cgroups)
  cgroups
  exit 0
  ;;
all) ;;
*)
  echo "usage: $0 [cgroups]" >&2
  exit 2
  ;;
esac

pkgs="podman buildah skopeo crun runc docker-registry docker.io busybox-static hyperfine time debootstrap"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  apt-get update -qq
  # shellcheck disable=SC2086 # a list of package names
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq $missing >/dev/null
fi

cgroups

mkdir -p /etc/containers/registries.conf.d
if [ ! -e /etc/containers/containers.conf ]; then
  hn=$(ulimit -Hn)
  [ "$hn" = unlimited ] && hn=1048576
  cat >/etc/containers/containers.conf <<CONF
[containers]
default_ulimits = ["nofile=$hn:$hn", "nproc=32768:32768"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
fi
cat >/etc/containers/registries.conf.d/50-loopback-insecure.conf <<'CONF'
[[registry]]
location = "127.0.0.1:5000"
insecure = true
[[registry]]
location = "localhost:5000"
insecure = true
CONF
echo "peers ready: $(podman --version), $(buildah --version | cut -d' ' -f1-3)," \
  "$(crun --version | head -1), $(/usr/sbin/dockerd --version 2>/dev/null || echo 'no dockerd')"
