#!/usr/bin/env bash
# Runs the benchmarks in bench/ against one strata binary and prints a
# summary. `make bench` runs `bench/run.sh build/strata`.
#
# Usage: bench/run.sh [STRATA]                  (default build/strata)
# Env:   BENCH_ONLY="images crash"  run only these (names without .sh; the
#        default is every bench: images, crash, then any other bench/*.sh,
#        e.g. build, pull_bench, run_bench)
#
# Exits 0 when every benchmark ran, even if a performance target is missed
# (the summary says so); exits 1 when a benchmark itself failed (a command
# failed, or the crash test found an inconsistent store).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
strata=${1:-$repo/build/strata}
case $strata in
/*) ;;
*) strata=$PWD/$strata ;;
esac
[ -x "$strata" ] || {
  echo "bench: strata binary not found: $strata (run make)" >&2
  exit 1
}
"$repo/scripts/install-deps.sh" bench || exit 1

# images and crash first, then every other bench script in name order.
benches=(images crash)
for f in "$here"/*.sh; do
  b=$(basename "$f" .sh)
  case $b in
  lib | run | images | crash) ;;
  *) benches+=("$b") ;;
  esac
done
if [ -n "${BENCH_ONLY:-}" ]; then
  read -r -a benches <<<"$BENCH_ONLY"
fi

results=$(mktemp "${TMPDIR:-/tmp}/strata-bench-results.XXXXXX")
trap 'rm -f "$results"' EXIT
export BENCH_RESULTS=$results
status=()
failed=0
for b in "${benches[@]}"; do
  [ -x "$here/$b.sh" ] || {
    echo "bench: no such benchmark: $b" >&2
    status+=("$b: missing")
    failed=1
    continue
  }
  printf '\n==== bench/%s.sh ====\n' "$b"
  t0=$(date +%s)
  if "$here/$b.sh" "$strata"; then
    status+=("$b: ok ($(($(date +%s) - t0)) s)")
  else
    rc=$?
    status+=("$b: FAILED, exit $rc ($(($(date +%s) - t0)) s)")
    failed=1
  fi
done

printf '\n==== summary ====\n'
printf '%s\n' "${status[@]}"
if grep -q '^images.sh' "$results"; then
  echo
  echo "images / image inspect vs podman (median ms; ratio = podman / strata):"
  printf '  %-14s %5s %10s %10s %9s  %s\n' command N strata podman ratio target
  awk -F'\t' '$1 == "images.sh" { printf "  %-14s %5s %10s %10s %9s  %s\n", $2, $3, $4, $5, $6 "x", $7 }' "$results"
  if grep -q $'^images.sh\timages\t1000\t.*\tFAIL$' "$results"; then
    echo "  target missed: strata images with 1,000 images under 10 ms and >= 10x faster than podman"
  fi
fi
if grep -q '^build.sh' "$results"; then
  echo
  echo "build vs buildah bud --layers / BuildKit (median ms; ratio = peer / strata):"
  printf '  %-8s %10s %10s %10s %9s %9s  %s\n' case strata buildah buildkit buildah/ buildkit/ target
  awk -F'\t' '$1 == "build.sh" { printf "  %-8s %10s %10s %10s %9s %9s  %s\n", $2, $3, $4, $5, $6, $7, $8 }' "$results"
  if grep -q $'^build.sh\t.*FAIL' "$results"; then
    echo "  target missed (see bench/build.sh's output above)"
  fi
fi
if grep -q '^crash.sh' "$results"; then
  echo
  awk -F'\t' '$1 ~ /^crash.sh/ { print "  " $2 }' "$results"
fi
exit "$failed"
