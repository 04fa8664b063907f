# shellcheck shell=bash
# Shared by the bench/*.sh scripts (sourced, not run).
#
#   bench_init STRATA       absolute $STRATA, repo root in $BENCH_REPO, a work
#                           dir $BENCH_WORK removed on exit (BENCH_KEEP=1 keeps it)
#   bench_deps              installs hyperfine + podman when missing
#   podman_private DIR      a podman that never touches the user's store or
#                           config: sets CONTAINERS_CONF / CONTAINERS_STORAGE_CONF
#                           to files under DIR and the array PODMAN=(podman
#                           --root DIR/root --runroot DIR/run --storage-driver vfs)
#   busybox_rootfs_tar OUT  a small deterministic busybox rootfs tarball
#   hyperfine_ms JSON I     mean/stddev/median (ms) of command I of a
#                           hyperfine --export-json file, as "mean sd median"

BENCH_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

bench_log() {
  printf '%s\n' "$*" >&2
}

bench_die() {
  printf 'bench: %s\n' "$*" >&2
  exit 1
}

bench_init() {
  local s=${1:-$BENCH_REPO/build/strata}
  case $s in
  /*) ;;
  *) s=$PWD/$s ;;
  esac
  [ -x "$s" ] || bench_die "strata binary not found: $s (run make)"
  STRATA=$s
  export STRATA
  BENCH_WORK=$(mktemp -d "${TMPDIR:-/tmp}/strata-bench.XXXXXX") || exit 1
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    bench_log "bench: keeping $BENCH_WORK"
  else
    trap 'rm -rf "$BENCH_WORK"' EXIT
  fi
}

bench_deps() {
  if command -v hyperfine >/dev/null 2>&1 && command -v podman >/dev/null 2>&1 &&
    command -v python3 >/dev/null 2>&1; then
    return 0
  fi
  "$BENCH_REPO/scripts/install-deps.sh" bench || bench_die "cannot install hyperfine/podman"
  command -v python3 >/dev/null 2>&1 || bench_die "python3 is needed"
}

# podman_private DIR: podman configured for machines without systemd
# (cgroupfs manager, file events logger), but only through private files, so the user's /etc/containers, ~/.config/containers
# and podman store are neither read for storage nor written. Only image
# commands are benchmarked, so the hybrid-cgroup remount that running
# containers need is not done here.
podman_private() {
  local d=$1
  mkdir -p "$d/tmp" "$d/root" "$d/run" || return 1
  cat >"$d/containers.conf" <<EOF
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$d/events.log"
tmp_dir = "$d/tmp"
EOF
  cat >"$d/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$d/root"
runroot = "$d/run"
EOF
  export CONTAINERS_CONF=$d/containers.conf
  export CONTAINERS_STORAGE_CONF=$d/storage.conf
  # Flags too, so nothing depends on the environment being honoured.
  # shellcheck disable=SC2034 # used by the scripts that source this file
  PODMAN=(podman --root "$d/root" --runroot "$d/run" --storage-driver vfs)
}

# podman_for_containers DIR: podman_private, with the overlay driver (as a
# user would run containers) and ulimits this host's container can take
# (podman's default nofile exceeds the hard limit in some sandboxes).
# Sets PODMAN; the caller unmounts DIR/root/overlay when done.
podman_for_containers() {
  local d=$1 hn
  podman_private "$d" || return 1
  sed -i 's/driver = "vfs"/driver = "overlay"/' "$d/storage.conf"
  hn=$(ulimit -Hn)
  [ "$hn" = unlimited ] && hn=1048576
  cat >>"$d/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$hn:$hn", "nproc=32768:32768"]
CONF
  # shellcheck disable=SC2034 # used by the scripts that source this file
  PODMAN=(podman --root "$d/root" --runroot "$d/run" --storage-driver overlay)
}

# hybrid_cgroups_for_crun: crun refuses a hybrid cgroup host while a
# controller is left on the v2 side; give each such controller a v1
# hierarchy (what podman run and crun need here). cgroupfs files report
# size 0: test for content, not with -s.
hybrid_cgroups_for_crun() {
  local c
  grep -q . /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null || return 0
  for c in $(cat /sys/fs/cgroup/unified/cgroup.controllers); do
    mountpoint -q "/sys/fs/cgroup/$c" && continue
    mkdir -p "/sys/fs/cgroup/$c" && mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c"
  done
}

# busybox_rootfs_tar OUT: busybox + a few applet links, /etc/passwd, /tmp.
busybox_rootfs_tar() {
  local out=$1 r a
  local bb=${BUSYBOX_BIN:-/bin/busybox}
  [ -x "$bb" ] || bench_die "$bb missing: apt-get install busybox-static"
  r=$(mktemp -d "${TMPDIR:-/tmp}/strata-bench-rootfs.XXXXXX") || return 1
  mkdir -p "$r/bin" "$r/etc" "$r/tmp" && cp "$bb" "$r/bin/busybox" || return 1
  for a in sh ls cat echo true false env id pwd sleep mkdir rm touch; do
    ln -s busybox "$r/bin/$a"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
  printf 'root:x:0:\n' >"$r/etc/group"
  chmod 0755 "$r/bin" "$r/etc" "$r/bin/busybox"
  chmod 0644 "$r/etc/passwd" "$r/etc/group"
  chmod 1777 "$r/tmp"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu \
    -C "$r" -cf "$out" bin etc tmp
  local rc=$?
  rm -rf "$r"
  return $rc
}

hyperfine_ms() {
  python3 - "$1" "$2" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]
print("%.2f %.2f %.2f" % (r["mean"] * 1e3, r["stddev"] * 1e3, r["median"] * 1e3))
EOF
}

# bench_interleave ROUNDS OUT NAME CMD [NAME CMD]...: runs each CMD (split
# like a shell word list) ROUNDS times, each round in a new shuffled
# order (so every command sees the same machine load and none always
# follows another's asynchronous teardown), prints the median and minimum
# of each and writes "NAME MEDIAN_MS" lines to OUT. Fails when a command
# fails.
bench_interleave() {
  python3 - "$@" <<'PY'
import random, shlex, statistics, subprocess, sys, time
rounds, out, rest = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
names, cmds = rest[0::2], [shlex.split(c) for c in rest[1::2]]
times = [[] for _ in cmds]
order = list(range(len(cmds)))
rng = random.Random(1)
for _ in range(rounds):
    rng.shuffle(order)
    for i in order:
        t = time.perf_counter()
        if subprocess.run(cmds[i], stdin=subprocess.DEVNULL).returncode != 0:
            sys.exit("%s failed" % names[i])
        times[i].append((time.perf_counter() - t) * 1e3)
print("interleaved, %d rounds (median, min):" % rounds)
with open(out, "w") as f:
    for n, t in zip(names, times):
        m = statistics.median(t)
        print("  %-16s %8.1f ms  min %6.1f" % (n, m, min(t)))
        f.write("%s %.3f\n" % (n, m))
PY
}

# crun_bundle DIR TAR: an OCI bundle in DIR of the rootfs TAR with crun's
# default spec running `true` without a terminal; prints the `crun run`
# command for it (crun deletes the container when it exits, so one ID
# serves every run).
crun_bundle() {
  local d=$1
  mkdir -p "$d/rootfs" && tar -C "$d/rootfs" -xf "$2" || return 1
  (cd "$d" && crun spec) || return 1
  python3 - "$d/config.json" <<'PY' || return 1
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["true"]
c["root"]["readonly"] = False
json.dump(c, open(p, "w"), indent=2)
PY
  echo "crun --root $d.state run --bundle $d strata-bench-$$"
}

