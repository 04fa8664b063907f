#!/usr/bin/env bash
# Runs every test against one build directory and sums the results:
#   1. the style check (scripts/check-style.sh), counted as one test;
#   2. each unit test binary BUILD_DIR/test_* (cmocka, TAP output);
#   3. each tests/cli/*.bats file (bats --tap), with STRATA_BIN=BUILD_DIR/strata;
#   4. with a second, non-sanitized build (VALGRIND_BUILD_DIR or
#      $VALGRIND_BUILD): tests/valgrind.sh on it (unit binaries and a
#      handful of CLI commands under valgrind's leak check);
#   5. with that build too: tests/fuzz.sh (libFuzzer on the parsers for
#      FUZZ_SECONDS each, every corpus replayed).
# 3-5 run side by side, CLI_JOBS at a time (see below).
# Every suite's output is printed so failures are visible; the last line is
# always "N passed, M failed" (", K skipped" when some were skipped). Exits 1
# when anything failed or nothing ran.
#
# Usage: tests/run.sh BUILD_DIR [VALGRIND_BUILD_DIR]
# Env:   UNIT_TIMEOUT (s, default 600), BATS_TIMEOUT (s, default 3600),
#        VALGRIND_BUILD (same as VALGRIND_BUILD_DIR),
#        TEST_FILTER (only unit binaries / bats files / valgrind tests whose
#        name contains it; the style check is then skipped too),
#        SUITES (which of "style unit cli valgrind fuzz" to run; default
#        all; `make test` runs the CLI suite a second time with
#        SUITES=cli and STRATA_STORAGE_DRIVER=dir, the other layer backend,
#        at the same time), CLI_JOBS (default 2), CI_LOCK (see below).
set -u
set -o pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 BUILD_DIR [VALGRIND_BUILD_DIR]" >&2
  exit 2
fi
case $1 in
/*) build=$1 ;;
*) build=$PWD/$1 ;;
esac
vg_build=${2:-${VALGRIND_BUILD:-}}
case $vg_build in
"" | /*) ;;
*) vg_build=$PWD/$vg_build ;;
esac
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 2

# The system's tools first: a PATH may put shims ahead of them, and the
# suite runs python3 (JSON checks, fixtures) and bash thousands of times:
# pyenv's python3 shim takes 340 ms a call on the test machine, Debian's
# python3 26 ms.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

# Sanitizers for everything the tests start: leaks are failures.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export STRATA_BIN=$build/strata
export LC_ALL=C.UTF-8 TZ=UTC

unit_timeout=${UNIT_TIMEOUT:-600}
bats_timeout=${BATS_TIMEOUT:-3600}
filter=${TEST_FILTER:-}
suites=" ${SUITES:-style unit cli valgrind fuzz} "
want() { [[ $suites == *" $1 "* ]]; }

# With CI_LOCK set (a file), this run shares the machine with another
# run.sh (`make test` runs both layer backends' passes at once): unit tests
# and the pool's jobs (below) hold a shared flock on that file, the bats
# files that must run alone an exclusive one, so that they are alone on the
# machine, not only in this run. flock -o: the lock is flock's own, not
# inherited by what a job leaves running.
lock_sh=() lock_ex=()
if [ -n "${CI_LOCK:-}" ]; then
  lock_sh=(flock -o -s "$CI_LOCK")
  lock_ex=(flock -o -x "$CI_LOCK")
fi

passed=0
failed=0
skipped=0
failures=()

out=$(mktemp -d "${TMPDIR:-/tmp}/strata-run.XXXXXX") || exit 2
trap 'rm -rf "$out"' EXIT

# Wall time per suite, printed at the end (slowest first) so that the
# CI budget can be watched: "SECONDS NAME" lines.
timings=()
suite_start=$SECONDS
banner() {
  suite_start=$SECONDS
  printf '\n==== %s ====\n' "$1"
}

# count_tap NAME STDOUT_FILE RC: adds the TAP results in the file to the
# totals. "not ok ... # SKIP" (cmocka's skip) and "ok ... # skip" (bats)
# count as skipped, "# TODO" as skipped too. A run that exits non-zero
# without any "not ok", or exits 0 having reported fewer results than its
# plan(s), adds one failure: it crashed, timed out, or lost tests.
count_tap() {
  local name=$1 file=$2 rc=$3
  local ok=0 notok=0 skip=0 plan=0 line n
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%$'\r'}
    if [[ $line =~ ^(not\ )?ok([[:space:]]|$) ]]; then
      if [[ $line =~ \#[[:space:]]*([Ss][Kk][Ii][Pp]|[Tt][Oo][Dd][Oo]) ]]; then
        skip=$((skip + 1))
      elif [[ $line == not* ]]; then
        notok=$((notok + 1))
        failures+=("$name: ${line}")
      else
        ok=$((ok + 1))
      fi
    elif [[ $line =~ ^1\.\.([0-9]+) ]]; then
      n=${BASH_REMATCH[1]}
      plan=$((plan + 10#$n))
    fi
  done <"$file"
  local reported=$((ok + notok + skip))
  timings+=("$((SECONDS - suite_start)) $name")
  passed=$((passed + ok))
  failed=$((failed + notok))
  skipped=$((skipped + skip))
  if [ "$rc" -ne 0 ] && [ "$notok" -eq 0 ]; then
    failed=$((failed + 1))
    local why="exited with status $rc"
    [ "$rc" -eq 124 ] && why="timed out"
    [ "$rc" -gt 128 ] && [ "$rc" -ne 255 ] && why="killed by signal $((rc - 128))"
    failures+=("$name: $why after $reported result(s)")
    echo "# $name: $why without reporting a failure; counted as one failure"
  elif [ "$rc" -eq 0 ] && [ "$reported" -lt "$plan" ]; then
    failed=$((failed + 1))
    failures+=("$name: reported $reported of $plan planned tests")
    echo "# $name: reported $reported of $plan planned tests; counted as one failure"
  elif [ "$rc" -eq 0 ] && [ "$reported" -eq 0 ] && [ "$plan" -eq 0 ]; then
    failed=$((failed + 1))
    failures+=("$name: ran no tests")
    echo "# $name: ran no tests; counted as one failure"
  fi
}

# --- 1. style -------------------------------------------------------------
if [ -z "$filter" ] && want style; then
  banner "style: scripts/check-style.sh"
  if scripts/check-style.sh; then
    passed=$((passed + 1))
    echo "ok 1 - style"
  else
    failed=$((failed + 1))
    failures+=("style: scripts/check-style.sh failed")
    echo "not ok 1 - style"
  fi
fi

# --- 2. unit tests (cmocka) -----------------------------------------------
shopt -s nullglob
units=()
for f in "$build"/test_*; do
  want unit || break
  # meson also makes test_x.p/ object directories; only run executables.
  [ -f "$f" ] && [ -x "$f" ] || continue
  [ -n "$filter" ] && [[ $(basename "$f") != *"$filter"* ]] && continue
  units+=("$f")
done
if [ "${#units[@]}" -eq 0 ] && want unit; then
  banner "unit: no test_* binaries in $build"
fi
for f in "${units[@]}"; do
  name=unit/$(basename "$f")
  banner "$name"
  # The outer subshell keeps bash's "Segmentation fault" notice out of the log;
  # the exit status says the same.
  ( (cd "$build" && CMOCKA_MESSAGE_OUTPUT=TAP exec "${lock_sh[@]}" timeout -k 10 "$unit_timeout" "$f") \
    >"$out/stdout" 2>"$out/stderr" </dev/null; exit $?) 2>/dev/null
  rc=$?
  cat "$out/stdout"
  if [ -s "$out/stderr" ]; then
    echo "# --- stderr of $name ---"
    cat "$out/stderr"
  fi
  count_tap "$name" "$out/stdout" "$rc"
done

# --- 3-5. CLI tests (bats), valgrind, fuzz ---------------------------------
# 3. each tests/cli/*.bats file; with a second, non-sanitized build (vg_build):
# 4. tests/valgrind.sh on it (unit binaries and a handful of CLI commands
#    under valgrind's leak check; with TEST_FILTER only when the filter
#    names valgrind: "valgrind", "valgrind unit/test_store", ...);
# 5. tests/fuzz.sh on it (libFuzzer on the parsers, FUZZ_SECONDS each, every
#    corpus replayed).
# These jobs run CLI_JOBS at a time (default 2), valgrind and fuzz first (the
# longest), each bats file on stores of its own; the bats files that use
# host-wide state (the network bridge and nftables table, cgroup freezers, a
# full disk) or check timings run alone afterwards. Each job's output is
# printed whole when it ends.
# (CI_LOCK: see above.)
bats_files=()
for f in tests/cli/*.bats; do
  want cli || break
  [ -n "$filter" ] && [[ $(basename "$f") != *"$filter"* ]] && continue
  bats_files+=("$f")
done
if [ "${#bats_files[@]}" -gt 0 ]; then
  if ! command -v bats >/dev/null 2>&1; then
    banner "cli: bats is not installed"
    failed=$((failed + 1))
    failures+=("cli: bats is not installed (apt-get install bats)")
    bats_files=()
  elif [ ! -x "$STRATA_BIN" ]; then
    echo "# warning: $STRATA_BIN is missing or not executable; CLI tests will fail"
  fi
fi
cli_jobs=${CLI_JOBS:-2}
serial_re='^(network|network_connect|network_container|soak|races|crash|concurrency|restart|health|pause_stats|run_limits|build_interrupt|run_crash_safety|diskfull|storage_driver|demo)[.]bats$'
job_one() { # JOB DIR sh|ex: runs one job (a bats file, valgrind or fuzz),
  # leaving stdout, stderr, rc, secs in DIR
  local t0=$SECONDS lock=("${lock_sh[@]}") cmd
  [ "$3" = ex ] && lock=("${lock_ex[@]}")
  case $1 in
  valgrind) cmd=(env TEST_FILTER="$filter" tests/valgrind.sh "$vg_build") ;;
  fuzz) cmd=(tests/fuzz.sh "$vg_build") ;;
  *) cmd=(bats --tap "$1") ;;
  esac
  mkdir -p "$2"
  # "started" records when the job got the lock: the report gives the
  # time it ran and, apart, the time it waited
  ("${lock[@]}" sh -c 'date +%s >"$0/started"; exec "$@"' "$2" \
    timeout -k 10 "$bats_timeout" "${cmd[@]}" >"$2/stdout" 2>"$2/stderr" </dev/null
    echo $? >"$2/rc") 2>/dev/null
  local end waited=0
  end=$(date +%s)
  [ -s "$2/started" ] && waited=$(($(cat "$2/started") - (end - (SECONDS - t0))))
  [ "$waited" -ge 0 ] || waited=0
  echo $((SECONDS - t0 - waited)) >"$2/secs"
  echo "$waited" >"$2/waited"
}
job_name() { # JOB: the name in the report
  case $1 in
  valgrind) echo "valgrind: tests/valgrind.sh $vg_build" ;;
  fuzz) echo "fuzz: tests/fuzz.sh $vg_build (${FUZZ_SECONDS:-30-60}s per target)" ;;
  *) echo "cli/$(basename "$1")" ;;
  esac
}
job_report() { # JOB DIR
  local name
  name=$(job_name "$1")
  banner "$name"
  echo "# ran $(cat "$2/secs") s$([ "$(cat "$2/waited")" -gt 0 ] && echo ", after waiting $(cat "$2/waited") s for the lock")"
  suite_start=$((SECONDS - $(cat "$2/secs")))
  cat "$2/stdout"
  if [ -s "$2/stderr" ]; then
    echo "# --- stderr of ${name%%:*} ---"
    cat "$2/stderr"
  fi
  count_tap "${name%%:*}" "$2/stdout" "$(cat "$2/rc")"
}
pool=()
serial=()
if [ -n "$vg_build" ] && want valgrind && { [ -z "$filter" ] || [[ $filter == *valgrind* ]] ||
  [[ valgrind == *"$filter"* ]]; }; then
  pool+=(valgrind)
fi
if [ -n "$vg_build" ] && want fuzz && { [ -z "$filter" ] || [[ fuzz == *"$filter"* ]]; }; then
  pool+=(fuzz)
fi
for f in "${bats_files[@]}"; do
  if [ "$cli_jobs" -gt 1 ] && ! [[ $(basename "$f") =~ $serial_re ]]; then
    pool+=("$f")
  else
    serial+=("$f")
  fi
done
declare -A job_of=() job_dir=()
i=0
reap_one() { # waits for one job of the pool and prints its report
  local done_pid
  wait -n -p done_pid
  job_report "${job_of[$done_pid]}" "${job_dir[$done_pid]}"
  unset "job_of[$done_pid]" "job_dir[$done_pid]"
}
for f in "${pool[@]}"; do
  while [ "${#job_of[@]}" -ge "$cli_jobs" ]; do
    reap_one
  done
  i=$((i + 1))
  job_one "$f" "$out/job.$i" sh &
  job_of[$!]=$f
  job_dir[$!]=$out/job.$i
done
while [ "${#job_of[@]}" -gt 0 ]; do
  reap_one
done
for f in "${serial[@]}"; do
  job_one "$f" "$out/job.serial" ex
  job_report "$f" "$out/job.serial"
  rm -rf "$out/job.serial"
done

# --- summary --------------------------------------------------------------
if [ "${#timings[@]}" -gt 0 ]; then
  banner "time per suite (s), slowest first; total ${SECONDS}s"
  printf '%s\n' "${timings[@]}" | sort -rn | head -25
fi
if [ "${#failures[@]}" -gt 0 ]; then
  banner "failures"
  printf '%s\n' "${failures[@]}"
fi
echo
summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
if [ "$failed" -gt 0 ] || [ $((passed + failed)) -eq 0 ]; then
  exit 1
fi
exit 0
