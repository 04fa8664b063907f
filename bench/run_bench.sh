#!/usr/bin/env bash
# `strata run --rm busybox true` against `crun run` of an equivalent bundle
# and `podman run --rm` of the same image, in one hyperfine run; then the
# same three commands interleaved (each round in a shuffled order) so
# that all three see the same machine load, which decides PASS/FAIL:
# strata within 1.3x of crun, and at least 10x faster than podman (medians).
# Then starts N containers of one image in parallel and checks that they
# all succeed and share one unpacked copy of the layers.
#
# Usage: bench/run_bench.sh [STRATA_BINARY]   (root; default build/strata)
# Env:   RUNS (hyperfine runs, default 30), ROUNDS (interleaved rounds,
#        default 30), PARALLEL (default 100), BENCH_KEEP=1 keeps the work
#        dir. Exit status 1 when a check fails.
# Nothing outside the work dir is changed, except mounting cgroup v1
# hierarchies for controllers still on the v2 hierarchy of a hybrid setup
# (hosts without systemd that mount both), which crun and podman need.
set -eu
. "$(dirname "$0")/lib.sh"
bench_init "${1:-}"
bench_deps
[ "$(id -u)" = 0 ] || bench_die "run as root (containers need namespaces and overlayfs)"
command -v crun >/dev/null || bench_die "crun missing: apt-get install crun"
runs=${RUNS:-30}
rounds=${ROUNDS:-30}
parallel=${PARALLEL:-100}
W=$BENCH_WORK

hybrid_cgroups_for_crun

busybox_rootfs_tar "$W/busybox.tar"

# strata: a private store.
export STRATA_ROOT=$W/strata
"$STRATA" import "$W/busybox.tar" busybox >/dev/null
"$STRATA" run --rm busybox true # unpack the layer once

# crun: the same rootfs as a bundle, with crun's default spec.
crun_cmd=$(crun_bundle "$W/bundle" "$W/busybox.tar") || bench_die "crun bundle failed"
$crun_cmd || bench_die "crun run failed"

# podman: private config and store, overlay driver (as a user would run it).
podman_for_containers "$W/podman"
# podman's overlay store leaves its own mount behind: undo it before the
# work dir goes.
# (set -e applies inside the trap: nothing in it may fail.)
trap 'umount -R "$W/podman/root/overlay" 2>/dev/null || true; [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$W" || true' EXIT
"${PODMAN[@]}" import "$W/busybox.tar" localhost/busybox:latest >/dev/null
pod_cmd="${PODMAN[*]} run --rm --network none localhost/busybox true"
sh -c "$pod_cmd" || bench_die "podman run failed"

hyperfine -N --warmup 3 --runs "$runs" --export-json "$W/run.json" \
  -n strata "$STRATA run --rm --network none busybox true" \
  -n crun "$crun_cmd" \
  -n podman "$pod_cmd" >&2

read -r s_mean s_sd s_med < <(hyperfine_ms "$W/run.json" 0)
read -r c_mean c_sd c_med < <(hyperfine_ms "$W/run.json" 1)
read -r p_mean p_sd p_med < <(hyperfine_ms "$W/run.json" 2)
python3 - "$s_mean" "$c_mean" "$p_mean" "$s_sd" "$c_sd" "$p_sd" "$s_med" "$c_med" "$p_med" <<'PY'
import sys
s, c, p, ssd, csd, psd, sm, cm, pm = map(float, sys.argv[1:])
print("hyperfine, run --rm busybox true (mean ± sd, median):")
print("  strata %8.1f ms ± %5.1f  median %6.1f" % (s, ssd, sm))
print("  crun   %8.1f ms ± %5.1f  median %6.1f   (bundle prepared)" % (c, csd, cm))
print("  podman %8.1f ms ± %5.1f  median %6.1f" % (p, psd, pm))
print("  strata / crun   = %.2fx (medians %.2fx)" % (s / c, sm / cm))
print("  podman / strata = %.1fx (medians %.1fx)" % (p / s, pm / sm))
PY

# Interleaved rounds: the verdict.
verdict=0
bench_interleave "$rounds" "$W/medians" strata "$STRATA run --rm --network none busybox true" \
  crun "$crun_cmd" podman "$pod_cmd" || verdict=1
python3 - "$W/medians" <<'PY' || verdict=1
import sys
med = dict((l.split()[0], float(l.split()[1])) for l in open(sys.argv[1]))
r1, r2 = med["strata"] / med["crun"], med["podman"] / med["strata"]
ok1, ok2 = r1 <= 1.3, r2 >= 10
print("%s: strata / crun = %.2fx (target <= 1.3x)" % ("PASS" if ok1 else "FAIL", r1))
print("%s: podman / strata = %.1fx (target >= 10x)" % ("PASS" if ok2 else "FAIL", r2))
sys.exit(0 if ok1 and ok2 else 1)
PY

# N containers of one image at once: all succeed, one unpacked copy.
fail=0
start=$(date +%s.%N)
for i in $(seq "$parallel"); do
  "$STRATA" run --rm --network none busybox true || echo fail >>"$W/fails" &
done
wait
end=$(date +%s.%N)
[ -e "$W/fails" ] && fail=$(wc -l <"$W/fails")
copies=$(ls "$STRATA_ROOT/layers" | grep -cE '^[0-9a-f]{64}$')
left=$("$STRATA" ps -aq | wc -l)
dirs=$(ls "$STRATA_ROOT/containers" | wc -l)
python3 -c "import sys; print('%s parallel containers: %s failed, %s unpacked layer copies, %s rows and %s directories left, %.2f s' % (sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], float(sys.argv[7]) - float(sys.argv[6])))" \
  "$parallel" "$fail" "$copies" "$left" "$dirs" "$start" "$end"
if [ "$fail" = 0 ] && [ "$copies" = 1 ] && [ "$left" = 0 ] && [ "$dirs" = 0 ]; then
  echo "PASS: $parallel parallel containers all succeeded and shared one copy of the layers"
else
  echo "FAIL: $parallel parallel containers"
  verdict=1
fi
exit $verdict
