#!/usr/bin/env bash
# Runs every unit test binary and a handful of CLI commands under valgrind's
# memcheck, so "no leaks in the library" is checked on a build without
# sanitizers (ASan's leak checker covers the ASan build; valgrind also sees
# uninitialised reads and works on the binary users run).
#
# Each unit binary and each CLI command is one TAP result: "ok N - name"
# when it exited as expected and valgrind reported nothing (no invalid
# access, no definite or indirect leak, in the process or a forked child);
# "not ok N - name" otherwise, followed by valgrind's report. The plan line
# comes last. Exits 1 when anything failed.
#
# Usage: tests/valgrind.sh BUILD_DIR    (a non-sanitized build, e.g. build)
# Env:   VALGRIND_TIMEOUT (s per command, default 300),
#        TEST_FILTER (only tests whose name contains it).
set -u
set -o pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
case $1 in
/*) build=$1 ;;
*) build=$PWD/$1 ;;
esac
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 2
strata=$build/strata
timeout_s=${VALGRIND_TIMEOUT:-300}
filter=${TEST_FILTER:-}
export LC_ALL=C.UTF-8 TZ=UTC
# unit tests that build big trees make them smaller (test_erofs)
export STRATA_TEST_UNDER_VALGRIND=1
unset ASAN_OPTIONS UBSAN_OPTIONS LD_PRELOAD

if ! command -v valgrind >/dev/null 2>&1; then
  echo "not ok 1 - valgrind is not installed (apt-get install valgrind)"
  echo "1..1"
  exit 1
fi
if [ ! -x "$strata" ]; then
  echo "not ok 1 - $strata is missing or not executable"
  echo "1..1"
  exit 1
fi
if nm -u "$strata" 2>/dev/null | grep -q __asan_init; then
  echo "not ok 1 - $strata is built with ASan; valgrind needs a plain build"
  echo "1..1"
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/strata-valgrind.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
export STRATA_ROOT=$work/root

n=0
failed=0
jobs=${VALGRIND_JOBS:-$(nproc 2>/dev/null || echo 1)}

# vg_run ID NAME EXPECTED_STATUS DIR CMD...: runs CMD in DIR under memcheck
# and writes its TAP line (without the number) and report to
# $work/ID/result. Logs go to one file per process (%p), so a forked
# child's report is not lost. Runs with other IDs may go on at once.
vg_run() {
  local id=$1 name=$2 want=$3 dir=$4
  shift 4
  local w=$work/$id
  rm -rf "$w" && mkdir -p "$w/log"
  (cd "$dir" && CMOCKA_MESSAGE_OUTPUT=TAP exec timeout -k 10 "$timeout_s" \
    valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --error-exitcode=99 --track-fds=no --log-file="$w/log/vg.%p" "$@") \
    >"$w/stdout" 2>"$w/stderr" </dev/null
  local rc=$? why=""
  if [ "$rc" -eq 99 ]; then
    why="valgrind reported errors"
  elif [ "$rc" -ne "$want" ]; then
    why="exited with status $rc, expected $want"
  elif cat "$w"/log/vg.* | grep -q '^==[0-9]*=='; then
    # "==PID==" lines are errors; "--PID--" lines are valgrind's own
    # warnings (an unhandled syscall such as openat2 fails with ENOSYS, so
    # strata's fallback runs).
    why="valgrind reported errors in a child process"
  fi
  if [ -z "$why" ]; then
    echo "ok - $name" >"$w/result"
    return 0
  fi
  {
    echo "not ok - $name: $why"
    {
      echo "--- command: $*"
      echo "--- stderr:"
      tail -n 20 "$w/stderr"
      echo "--- valgrind:"
      cat "$w"/log/vg.*
    } | sed 's/^/# /'
  } >"$w/result"
}

# report ID: prints the result of run ID with the next TAP number.
report() {
  local w=$work/$1 line
  n=$((n + 1))
  if [ ! -f "$w/result" ]; then
    failed=$((failed + 1))
    echo "not ok $n - $1: no result"
    return
  fi
  IFS= read -r line <"$w/result"
  case $line in
  "not ok - "*) failed=$((failed + 1)) ;;
  esac
  echo "${line/ - / $n - }"
  tail -n +2 "$w/result"
}

wanted() {
  [ -z "$filter" ] || [[ $1 == *"$filter"* ]]
}

# vg NAME EXPECTED_STATUS DIR CMD...: one run, reported at once.
vg() {
  wanted "$1" || return 0
  vg_run one "$@"
  report one
}

# --- unit tests -------------------------------------------------------------
# Each binary has its own fixtures, so they run $jobs at a time (memcheck is
# single-threaded and slow: this halves the wall time on two cores); the
# results are printed in order.
shopt -s nullglob
units=()
for f in "$build"/test_*; do
  [ -f "$f" ] && [ -x "$f" ] || continue
  wanted "valgrind unit/$(basename "$f")" && units+=("$f")
done
for i in "${!units[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
    wait -n
  done
  vg_run "u$i" "valgrind unit/$(basename "${units[$i]}")" 0 "$build" \
    "${units[$i]}" &
done
wait
for i in "${!units[@]}"; do
  report "u$i"
done

# --- CLI commands against a throwaway store ----------------------------------
# The busybox fixture, made by the same recipe as the bats tests' fixture.
bats_require_minimum_version() { :; }
BATS_TEST_DIRNAME=$repo/tests/cli
# shellcheck source=tests/cli/helpers.bash
. "$repo/tests/cli/helpers.bash"
tar=$(busybox_tar) && gz=$(busybox_tar gz) || {
  echo "not ok $((n + 1)) - valgrind cli: cannot make the busybox fixture"
  echo "1..$((n + 1))"
  exit 1
}
bad=$(hostile_tar dotdot) || bad=/dev/null
cli() {
  local want=$1
  shift
  vg "valgrind cli: strata $*" "$want" "$work" "$strata" "$@"
}
cli 0 import --change 'CMD ["sh"]' "$tar" busybox:latest
cli 0 import "$gz" busybox:gz
cli 0 images
cli 0 images -a --digests --no-trunc --format '{{json .}}'
cli 0 image inspect busybox
cli 0 inspect --format '{{.Id}} {{json .RootFS}}' busybox:gz
cli 0 tag busybox localhost:5000/team/busybox:v1
cli 0 history --no-trunc busybox
cli 0 save -o "$work/busybox.tar" busybox localhost:5000/team/busybox:v1
cli 0 rmi localhost:5000/team/busybox:v1
cli 0 load -i "$work/busybox.tar"
cli 0 import "$tar" busybox:latest
cli 0 image prune -f
cli 0 system df -v
cli 0 system check
cli 0 rmi busybox:gz
# error paths leak most easily
cli 1 import "$bad" evil
cli 1 image inspect no-such-image
cli 1 load -i "$tar"
cli 1 tag busybox 'Bad:name'
cli 0 image prune -a -f
cli 0 system check

echo "1..$n"
[ "$failed" -eq 0 ]
