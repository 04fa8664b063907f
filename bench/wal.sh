#!/usr/bin/env bash
# The SQLite WAL after many small writes: N `strata tag` commands (one
# write transaction each, the way a script tagging images uses the store),
# then the size of strata.db-wal and the time of a read (`images -q`) and a
# write (`tag`) with that store. Every command is a new process that
# rebuilds the WAL index from the whole -wal file, so a WAL that only grows
# slows every command down; strata keeps it under 1 MiB (store.c).
#
# Usage: bench/wal.sh [STRATA] [N]     (default: build/strata 1000)
# Env:   BENCH_KEEP=1     keep the work directory
#        BENCH_VERBOSE=1  show hyperfine's own output
# Without hyperfine, each command is timed over 50 runs with date.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
bench_init "${1:-}"
n=${2:-1000}
export STRATA_ROOT=$BENCH_WORK/root

busybox_rootfs_tar "$BENCH_WORK/busybox.tar"
"$STRATA" import "$BENCH_WORK/busybox.tar" bench/base >/dev/null
max=0
for i in $(seq "$n"); do
  "$STRATA" tag bench/base "bench/t$i:v1"
  size=$(stat -c %s "$STRATA_ROOT/strata.db-wal" 2>/dev/null || echo 0)
  [ "$size" -gt "$max" ] && max=$size
done
printf 'after %d tags: strata.db-wal %d bytes (largest seen %d), strata.db %d bytes\n' \
  "$n" "$(stat -c %s "$STRATA_ROOT/strata.db-wal" 2>/dev/null || echo 0)" "$max" \
  "$(stat -c %s "$STRATA_ROOT/strata.db")"

read_cmd="$STRATA images -q"
write_cmd="$STRATA tag bench/base bench/again:v1"
if command -v hyperfine >/dev/null 2>&1; then
  out=/dev/null
  [ "${BENCH_VERBOSE:-0}" = 1 ] && out=/dev/stderr
  hyperfine -N --warmup 3 --runs 30 --export-json "$BENCH_WORK/wal.json" \
    "$read_cmd" "$write_cmd" >"$out"
  for i in 0 1; do
    read -r mean sd median < <(hyperfine_ms "$BENCH_WORK/wal.json" "$i")
    name=$([ "$i" = 0 ] && echo "images -q" || echo "tag")
    printf '%-10s median %s ms, mean %s ± %s ms\n' "$name" "$median" "$mean" "$sd"
  done
else
  for cmd in "$read_cmd" "$write_cmd"; do
    t0=$(date +%s%N)
    for _ in $(seq 50); do $cmd >/dev/null; done
    printf '%-40s mean %d us (date, 50 runs)\n' "${cmd#"$STRATA" }" \
      $((($(date +%s%N) - t0) / 50000))
  done
fi
