#!/usr/bin/env bash
# The test suite's crash test (tests/crash/crash.sh: SIGKILL during import,
# build, rmi, image prune, load, commit, run --rm and pull, then system check
# and data checks) with many trials, once per layer backend.
#
# Usage: bench/crash.sh [STRATA] [TRIALS]       (default: build/strata 500)
# Env:   BACKENDS  the layer backends to run (default "dir erofs")
# Env:   BENCH_RESULTS=FILE  append the result line (run.sh uses it)
#        CRASH_SEED, CRASH_KEEP, CRASH_VERBOSE: see tests/crash/crash.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
strata=${1:-$BENCH_REPO/build/strata}
case $strata in
/*) ;;
*) strata=$PWD/$strata ;;
esac
trials=${2:-500}

out=$(mktemp "${TMPDIR:-/tmp}/strata-bench-crash.XXXXXX")
trap 'rm -f "$out"' EXIT
rc=0
for be in ${BACKENDS:-dir erofs}; do
  echo "== layer backend $be"
  STRATA_STORAGE_DRIVER=$be "$BENCH_REPO/tests/crash/crash.sh" "$trials" "$strata" | tee "$out" || rc=$?
  if [ -n "${BENCH_RESULTS:-}" ]; then
    printf 'crash.sh (%s)\t%s\n' "$be" "$(grep -E '^crash: [0-9]+ trials' "$out" | tail -1)" >>"$BENCH_RESULTS"
    printf 'crash.sh-detail (%s)\t%s\n' "$be" "$(grep -E '^crash: .*killed' "$out" | tail -1)" >>"$BENCH_RESULTS"
  fi
done
exit "$rc"
