#!/usr/bin/env bash
# `strata build` against `buildah bud --layers` and Docker's BuildKit
# (Debian's docker.io: a private dockerd, `DOCKER_BUILDKIT=1 docker build`),
# on one realistic Dockerfile and one that writes a 300 MiB layer.
#
# Usage: bench/build.sh [STRATA]           (root; default build/strata)
# Env:   BENCH_RESULTS=FILE  append one TSV line per row (run.sh uses it)
#        BENCH_KEEP=1        keep the work directory (stores, JSON, logs)
#        BENCH_VERBOSE=1     show hyperfine's and the commands' output
#        BUILD_PEERS="buildah buildkit"   the peers to run (default both)
#        WARM_RUNS (20), COLD_RUNS (5), CHANGED_RUNS (10), BIG_RUNS (3)
#        CASE_TIMEOUT (900): seconds one tool's case may take; a hung build
#                            then fails the bench instead of stalling it
#        BIG_MIB (300), BIG_SRC (urandom | zero; default urandom)
#
# The app Dockerfile (the issue's): FROM busybox; ENV; COPY . /app/ of a
# context holding 1,000 small files (10 dirs x 100, 100..3,000 bytes) and a
# 50 MiB file of random bytes; a RUN writing 200 files; WORKDIR; CMD.
# Three cases per tool, each timed by hyperfine -N (no shell):
#   cold     empty cache: strata a fresh store (base re-imported, in
#            --prepare); buildah and BuildKit `--no-cache` after removing
#            the tag and pruning (buildah rmi --prune; docker builder
#            prune -af), in --prepare
#   warm     nothing changed: every step from the cache
#   changed  one small file rewritten (new content each run, in --prepare):
#            COPY, RUN, WORKDIR and CMD run again
# The big Dockerfile: `RUN busybox dd if=/dev/BIG_SRC of=/big bs=1M
# count=300`, built cold. Its twin runs the same dd and then `rm /big` (an
# empty layer); the difference of the two medians is the cost of turning
# 300 MiB into a layer (diff, tar, digest, store), reported as MB/s
# (10^6 bytes). /dev/urandom by default, so no tool gains from zeros.
# Peak RSS: `/usr/bin/time -v strata build` in each case, largest
# "Maximum resident set size".
#
# Nothing leaves the machine: the base image is a busybox rootfs tarball
# built from Debian's busybox-static (lib.sh), imported into each tool as
# busybox[:latest] (strata import; buildah from scratch + add + commit as
# localhost/busybox; docker import busybox:latest), and every build runs
# with --network none and without pulling (buildah --pull=never; BuildKit
# in dockerd's classic image store resolves `FROM busybox` to the local
# docker.io/library/busybox:latest and does not contact a registry).
#
# Peers: buildah with private CONTAINERS_CONF/CONTAINERS_STORAGE_CONF
# (lib.sh's podman_private), overlay driver (its default as root). Debian's
# /usr/sbin/dockerd and /usr/bin/docker (named in full: a newer docker
# client earlier in PATH, e.g. /usr/local/bin/docker, would need the buildx
# plugin for BuildKit), installed here if missing; dockerd with a config of
# its own: no bridge, no
# iptables/ip6tables/ip-forward/masquerading, cgroupfs, data-root,
# exec-root, key, socket and pidfile in the work dir; started here in the
# background and stopped by its PID at exit. If it does not come up,
# BuildKit is skipped with a note. Changed outside the work dir: only the
# cgroup v1 mounts of scripts/peers-setup.sh cgroups (hybrid hosts).
#
# Targets (reported, not asserted): warm rebuild under 25 ms and >= 4x
# faster than BuildKit, >= 40x faster than buildah; cold >= 2x faster than
# BuildKit; the 300 MiB layer committed at >= 1 GB/s; peak RSS < 32 MiB.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

bench_init "${1:-}"
bench_deps
[ "$(id -u)" = 0 ] || bench_die "run as root (builds run containers)"
for c in buildah /usr/bin/time; do
  command -v "$c" >/dev/null || "$BENCH_REPO/scripts/install-deps.sh" bench ||
    bench_die "cannot install buildah/time"
done
"$BENCH_REPO/scripts/peers-setup.sh" cgroups || bench_die "cgroup setup failed"
W=$BENCH_WORK
case $W in
*[[:space:]]*) bench_die "work directory has whitespace: $W" ;;
esac
warm_runs=${WARM_RUNS:-20}
cold_runs=${COLD_RUNS:-5}
changed_runs=${CHANGED_RUNS:-10}
big_runs=${BIG_RUNS:-3}
case_timeout=${CASE_TIMEOUT:-900}
big_mib=${BIG_MIB:-300}
big_src=${BIG_SRC:-urandom}
case $big_src in urandom | zero) ;; *) bench_die "BIG_SRC: urandom or zero" ;; esac
read -r -a peers <<<"${BUILD_PEERS:-buildah buildkit}"

dockerd_pid=
cleanup() {
  set +e
  if [ -n "$dockerd_pid" ] && kill -0 "$dockerd_pid" 2>/dev/null; then
    kill -TERM "$dockerd_pid"
    for _ in $(seq 150); do
      kill -0 "$dockerd_pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$dockerd_pid" 2>/dev/null; then
      kill -KILL "$dockerd_pid"
      # its containerd, by the PID it recorded
      cpid=$(cat "$W/docker/exec/containerd/containerd.pid" 2>/dev/null)
      [ -n "$cpid" ] && kill -TERM "$cpid"
    fi
  fi
  # whatever the stores left mounted (buildah's overlay, dockerd's)
  awk -v w="$W/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m"; done
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$W"
}
trap cleanup EXIT

now_ms() {
  echo $(($(date +%s%N) / 1000000))
}

# --- contexts and the base image ---------------------------------------------

python3 - "$W" <<'PY'
import os, random, sys
w = sys.argv[1]
rng = random.Random(1)
app = w + "/ctx-app"
for d in range(10):
    os.makedirs("%s/src/d%02d" % (app, d))
    for f in range(100):
        n = d * 100 + f
        size = rng.randint(100, 3000)
        line = ("file %04d: the quick brown fox jumps over the lazy dog\n" % n).encode()
        with open("%s/src/d%02d/f%04d.txt" % (app, d, n), "wb") as o:
            o.write((line * (size // len(line) + 1))[:size])
os.makedirs(app + "/data")
with open(app + "/data/big.bin", "wb") as o:
    o.write(rng.randbytes(50 << 20))
with open(app + "/Dockerfile", "w") as o:
    o.write("""FROM busybox
ENV APP_HOME=/app APP_ENV=production
COPY . /app/
RUN mkdir -p /app/gen && i=0 && while [ $i -lt 200 ]; do echo "generated $i" > /app/gen/f$i.txt; i=$((i+1)); done
WORKDIR /app
CMD ["sh", "-c", "ls /app"]
""")
PY
changed_file=$W/ctx-app/src/d05/f0500.txt
mkdir -p "$W/ctx-big" "$W/ctx-bignull"
dd_cmd="/bin/busybox dd if=/dev/$big_src of=/big bs=1M count=$big_mib 2>/dev/null"
printf 'FROM busybox\nRUN %s\n' "$dd_cmd" >"$W/ctx-big/Dockerfile"
printf 'FROM busybox\nRUN %s && rm /big\n' "$dd_cmd" >"$W/ctx-bignull/Dockerfile"
busybox_rootfs_tar "$W/base.tar"

# --- the tools -----------------------------------------------------------------
# For tool T: T_build CTX TAG [--no-cache] prints the build command line;
# T_fresh_sh prints the shell script (for --prepare) that empties T's cache;
# cold_flag T is what a cold build adds (strata's cold store is empty).

cold_flag() {
  [ "$1" = strata ] || echo --no-cache
}
# line CMDLINE: runs a command line (no quoting in it) without a shell.
line() {
  local c
  read -r -a c <<<"$1"
  "${c[@]}"
}

S="$STRATA --root $W/strata"
strata_setup() {
  rm -rf "$W/strata"
  $S import "$W/base.tar" busybox >/dev/null
}
strata_build() {
  echo "$S build --network none -q -t $2 ${3:-} $1"
}
strata_fresh_sh() {
  echo "rm -rf $W/strata && $S import $W/base.tar busybox >/dev/null"
}
strata_version() { "$STRATA" --version 2>/dev/null || echo '?'; }

BA="buildah --root $W/buildah/root --runroot $W/buildah/run --storage-driver overlay"
buildah_setup() {
  podman_private "$W/buildah"
  sed -i 's/driver = "vfs"/driver = "overlay"/' "$W/buildah/storage.conf"
  local hn
  hn=$(ulimit -Hn)
  [ "$hn" = unlimited ] && hn=1048576
  cat >>"$W/buildah/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$hn:$hn", "nproc=32768:32768"]
CONF
  local c
  c=$($BA from scratch) &&
    $BA add "$c" "$W/base.tar" / >/dev/null &&
    $BA config --cmd sh "$c" &&
    $BA commit -q "$c" localhost/busybox:latest >/dev/null &&
    $BA rm "$c" >/dev/null
}
buildah_build() {
  echo "$BA bud --layers --pull=never --network none -q -t $2 ${3:-} $1"
}
buildah_fresh_sh() {
  echo "$BA rmi -f bench/app bench/big >/dev/null 2>&1; $BA rmi --prune >/dev/null 2>&1; true"
}
buildah_version() { buildah --version; }

DK="/usr/bin/docker --config $W/docker/cli -H unix://$W/docker/docker.sock"
buildkit_setup() {
  local d=$W/docker
  if ! [ -x /usr/sbin/dockerd ] || ! [ -x /usr/bin/docker ]; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
      apt-get -o DPkg::Lock::Timeout=600 install -y -qq docker.io; } >/dev/null 2>&1
  fi
  if ! [ -x /usr/sbin/dockerd ] || ! [ -x /usr/bin/docker ]; then
    echo "no /usr/sbin/dockerd + /usr/bin/docker (apt-get install docker.io failed)"
    return 1
  fi
  mkdir -p "$d/cli"
  cat >"$d/daemon.json" <<JSON
{
  "bridge": "none",
  "iptables": false,
  "ip6tables": false,
  "ip-forward": false,
  "ip-masq": false,
  "exec-opts": ["native.cgroupdriver=cgroupfs"],
  "data-root": "$d/root",
  "exec-root": "$d/exec",
  "deprecated-key-path": "$d/key.json",
  "features": {"buildkit": true}
}
JSON
  # (--config, not DOCKER_CONFIG: buildah reads that too, for its auth file)
  echo '{}' >"$d/cli/config.json"
  export DOCKER_BUILDKIT=1
  /usr/sbin/dockerd --config-file "$d/daemon.json" -H "unix://$d/docker.sock" \
    --pidfile "$d/docker.pid" >"$d/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 150); do
    kill -0 "$dockerd_pid" 2>/dev/null || break
    $DK version >/dev/null 2>&1 && break
    sleep 0.2
  done
  if ! $DK version >/dev/null 2>&1; then
    echo "dockerd did not start; last lines of its log:"
    tail -5 "$d/dockerd.log"
    return 1
  fi
  $DK import "$W/base.tar" busybox:latest >/dev/null
}
buildkit_build() {
  echo "$DK build --network none -q -t $2 ${3:-} $1"
}
buildkit_fresh_sh() {
  echo "$DK rmi -f bench/app bench/big >/dev/null 2>&1; $DK builder prune -af >/dev/null 2>&1; true"
}
buildkit_version() { echo "BuildKit in dockerd $(/usr/sbin/dockerd --version | cut -d' ' -f3-)"; }

tools=(strata)
notes=()
strata_setup
# One plain build first: it must work (its output is shown if not).
if ! line "$(strata_build "$W/ctx-app" bench/app)" >"$W/strata-first.log" 2>&1; then
  echo "strata build failed:"
  cat "$W/strata-first.log"
  bench_die "strata build of the app Dockerfile failed"
fi
for p in "${peers[@]}"; do
  case $p in
  buildah | buildkit) ;;
  *) bench_die "unknown peer $p (buildah, buildkit)" ;;
  esac
  # (not in a subshell: it exports settings and starts dockerd)
  if ! "${p}_setup" >"$W/$p-setup.log" 2>&1; then
    notes+=("$p skipped: $(tr '\n' ' ' <"$W/$p-setup.log")")
    continue
  fi
  if ! line "$("${p}_build" "$W/ctx-app" bench/app)" >"$W/$p-first.log" 2>&1; then
    notes+=("$p skipped: its first build failed: $(tail -3 "$W/$p-first.log" | tr '\n' ' ')")
    continue
  fi
  tools+=("$p")
done

echo "strata: $STRATA ($(strata_version))"
for t in "${tools[@]:1}"; do echo "$t: $("${t}_version")"; done
echo "hyperfine: $(hyperfine --version); load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
for n in "${notes[@]}"; do echo "NOTE: $n"; done
echo

# --- measurements --------------------------------------------------------------

# hf JSON PREPARE HYPERFINE_OPTS... -- CMD: PREPARE may be empty.
hf() {
  local json=$1 prep=$2
  shift 2
  local opts=()
  while [ "$1" != -- ]; do
    opts+=("$1")
    shift
  done
  shift
  local style=(--style none)
  [ "${BENCH_VERBOSE:-0}" = 1 ] && style=(--show-output)
  [ -n "$prep" ] && opts+=(--prepare "$prep")
  # A hung build fails the bench instead of stalling it (timeout signals
  # its whole process group: hyperfine, the build and its container).
  timeout -k 10 "$case_timeout" hyperfine -N "${opts[@]}" "${style[@]}" \
    --export-json "$json" "$1" >&2 ||
    bench_die "failed or timed out (${case_timeout} s): $1"
}

# med TOOL CASE: the median in ms (empty when not measured)
med() {
  local j=$W/hf-$1-$2.json
  [ -s "$j" ] || return 0
  cut -d' ' -f3 <<<"$(hyperfine_ms "$j" 0)"
}
show() {
  local j=$W/hf-$1-$2.json
  read -r m sd md <<<"$(hyperfine_ms "$j" 0)"
  printf '  %-9s %-8s median %9.1f ms  (mean %9.1f ± %7.1f)\n' "$1" "$2" "$md" "$m" "$sd"
}

for t in "${tools[@]}"; do
  ctx=$W/ctx-app
  hf "$W/hf-$t-cold.json" "sh -c '$("${t}_fresh_sh")'" --runs "$cold_runs" -- \
    "$("${t}_build" "$ctx" bench/app "$(cold_flag "$t")")"
  show "$t" cold
  if [ "$t" = strata ]; then
    hf "$W/hf-$t-warm.json" "" --warmup 3 --min-runs "$warm_runs" -- "$("${t}_build" "$ctx" bench/app)"
  else
    hf "$W/hf-$t-warm.json" "" --warmup 2 --min-runs 10 -- "$("${t}_build" "$ctx" bench/app)"
  fi
  show "$t" warm
  hf "$W/hf-$t-changed.json" "sh -c 'date +%s%N >$changed_file'" --warmup 1 --runs "$changed_runs" -- \
    "$("${t}_build" "$ctx" bench/app)"
  show "$t" changed
  for b in big bignull; do
    hf "$W/hf-$t-$b.json" "sh -c '$("${t}_fresh_sh")'" --runs "$big_runs" -- \
      "$("${t}_build" "$W/ctx-$b" bench/big "$(cold_flag "$t")")"
    show "$t" "$b"
  done
done

# Peak RSS of strata build, one run per case.
rss() { # CASE PREPARE CMD
  [ -n "$2" ] && sh -c "$2"
  line "/usr/bin/time -v -o $W/time-$1.txt $3" >/dev/null 2>"$W/time-$1.err" ||
    bench_die "failed under time -v: $3 ($(tail -3 "$W/time-$1.err"))"
  awk -F': ' '/Maximum resident set size/ { print $2 }' "$W/time-$1.txt"
}
rss_cold=$(rss cold "$(strata_fresh_sh)" "$(strata_build "$W/ctx-app" bench/app)")
rss_warm=$(rss warm "" "$(strata_build "$W/ctx-app" bench/app)")
rss_changed=$(rss changed "date +%s%N >$changed_file" "$(strata_build "$W/ctx-app" bench/app)")
rss_big=$(rss big "" "$(strata_build "$W/ctx-big" bench/big --no-cache)")
# The big layer really is in strata's image (bench/big was just built from
# ctx-big; the hyperfine runs ended with ctx-bignull's).
size=$($S image inspect --format '{{.Size}}' bench/big 2>/dev/null || echo 0)
[ "${size:-0}" -ge $((big_mib << 20)) ] ||
  notes+=("strata's bench/big image is $size bytes, less than $big_mib MiB: the commit rate below is not meaningful")

# --- summary -------------------------------------------------------------------

py_summary() {
  python3 - "$@" <<'PY'
import sys
args = sys.argv[1:]
mib, results = int(args[0]), args[1]
cells = dict(a.split("=", 1) for a in args[2:])
def f(k):
    v = cells.get(k, "")
    return float(v) if v else None
tools = ["strata", "buildah", "buildkit"]
rows = []
def ratio(p, s):
    return None if p is None or s is None else p / s
def fmt(v, spec="%.1f"):
    return "-" if v is None else spec % v
print("build times, hyperfine -N, median ms; ratio = peer / strata (how many times faster strata is)")
print("  %-8s %10s %10s %10s %9s %9s  %s" % ("case", "strata", "buildah", "buildkit", "buildah/", "buildkit/", "target"))
out = []
for case in ["cold", "warm", "changed", "big", "bignull"]:
    s, b, k = (f(t + "-" + case) for t in tools)
    rb, rk = ratio(b, s), ratio(k, s)
    target = ""
    if case == "warm":
        ok = s is not None and s < 25 and (rk is None or rk >= 4) and (rb is None or rb >= 40)
        target = "%s: < 25 ms, >= 4x BuildKit, >= 40x buildah" % ("PASS" if ok else "FAIL")
        if rk is None or rb is None:
            target += " (a peer is missing)"
    elif case == "cold":
        ok = rk is not None and rk >= 2
        target = ("%s: >= 2x BuildKit" % ("PASS" if ok else "FAIL")) if rk is not None else "n/a: no BuildKit"
    elif case == "changed":
        target = "(no target)"
    elif case == "big":
        target = "%d MiB layer, cold" % mib
    else:
        target = "same dd, then rm: empty layer"
    print("  %-8s %10s %10s %10s %9s %9s  %s" % (case, fmt(s), fmt(b), fmt(k),
          fmt(rb, "%.1fx"), fmt(rk, "%.1fx"), target))
    out.append("build.sh\t%s\t%s\t%s\t%s\t%s\t%s\t%s" % (case, fmt(s), fmt(b), fmt(k), fmt(rb, "%.1fx"), fmt(rk, "%.1fx"), target))
print()
print("layer commit of %d MiB (median big - median bignull):" % mib)
for t in tools:
    a, z = f(t + "-big"), f(t + "-bignull")
    if a is None or z is None:
        continue
    d = a - z
    if d <= 0:
        line = "%s: %.0f ms difference: below the noise, no rate" % (t, d)
        rate = None
    else:
        rate = mib * 1048576 / 1e6 / (d / 1e3)
        line = "%s: %.0f ms, %.0f MB/s" % (t, d, rate)
    if t == "strata":
        ok = rate is not None and rate >= 1000
        line += "  %s: >= 1 GB/s" % ("PASS" if ok else "FAIL")
        out.append("build.sh\tcommit\t%s MB/s\t\t\t\t\t%s" % (fmt(rate, "%.0f"), "PASS" if ok else "FAIL"))
    print("  " + line)
rss = {k: int(cells["rss-" + k]) for k in ["cold", "warm", "changed", "big"]}
peak = max(rss.values())
ok = peak < 32768
print()
print("peak RSS of strata build (time -v, MiB): " +
      ", ".join("%s %.1f" % (k, v / 1024) for k, v in rss.items()) +
      "  %s: < 32 MiB" % ("PASS" if ok else "FAIL"))
out.append("build.sh\trss\t%.1f MiB\t\t\t\t\t%s" % (peak / 1024, "PASS" if ok else "FAIL"))
if results:
    with open(results, "a") as o:
        o.write("\n".join(out) + "\n")
PY
}

echo
for n in "${notes[@]}"; do echo "NOTE: $n"; done
cells=()
for t in strata buildah buildkit; do
  for c in cold warm changed big bignull; do
    cells+=("$t-$c=$(med "$t" "$c")")
  done
done
py_summary "$big_mib" "${BENCH_RESULTS:-}" "${cells[@]}" \
  "rss-cold=$rss_cold" "rss-warm=$rss_warm" "rss-changed=$rss_changed" "rss-big=$rss_big"
echo "(cold: strata on a fresh store; peers --no-cache after pruning. big: RUN dd from /dev/$big_src, built cold.)"
