#!/usr/bin/env bash
# `strata run --rm busybox true` against the same with a named volume and
# --init (`run --rm -v benchvol:/data --init busybox true`), interleaved
# (each round runs both, in a random order, so both see the same machine
# load). Prints each median and their ratio; PASS when the ratio of the
# medians is at most 1.10 (issue 11: within 10%).
#
# Usage: bench/volume.sh [STRATA_BINARY]   (root; default build/strata)
# Env:   ROUNDS (default 40), BENCH_KEEP=1 keeps the work dir.
# Exit status 1 when the check fails.
set -eu
. "$(dirname "$0")/lib.sh"
bench_init "${1:-}"
[ "$(id -u)" = 0 ] || bench_die "run as root (containers need namespaces and overlayfs)"
rounds=${ROUNDS:-40}
W=$BENCH_WORK

busybox_rootfs_tar "$W/busybox.tar"
export STRATA_ROOT=$W/strata
"$STRATA" import "$W/busybox.tar" busybox >/dev/null
# warm up: the layer unpacked once, the volume made once (a second run of
# a named volume is the steady state a database container sees)
"$STRATA" run --rm --network none busybox true
"$STRATA" run --rm --network none -v benchvol:/data --init busybox true

plain=()
vol=()
ms_now() { date +%s%N; }
one() { # prints the wall time of one run in microseconds
  local t0 t1
  t0=$(ms_now)
  "$STRATA" "$@" >/dev/null
  t1=$(ms_now)
  echo $(((t1 - t0) / 1000))
}
for _ in $(seq "$rounds"); do
  if [ $((RANDOM % 2)) = 0 ]; then
    plain+=("$(one run --rm --network none busybox true)")
    vol+=("$(one run --rm --network none -v benchvol:/data --init busybox true)")
  else
    vol+=("$(one run --rm --network none -v benchvol:/data --init busybox true)")
    plain+=("$(one run --rm --network none busybox true)")
  fi
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
mp=$(median "${plain[@]}")
mv=$(median "${vol[@]}")
ratio=$(awk -v a="$mv" -v b="$mp" 'BEGIN {printf "%.3f", a / b}')
printf 'run --rm busybox true:                          median %.1f ms (%d rounds)\n' "$(awk -v x="$mp" 'BEGIN{print x/1000}')" "$rounds"
printf 'run --rm -v benchvol:/data --init busybox true: median %.1f ms\n' "$(awk -v x="$mv" 'BEGIN{print x/1000}')"
echo "ratio (volume + init / plain): $ratio"
if awk -v r="$ratio" 'BEGIN {exit !(r <= 1.10)}'; then
  echo "PASS: within 10%"
else
  echo "FAIL: more than 10% slower"
  exit 1
fi
