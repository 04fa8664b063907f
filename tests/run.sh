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
#        at the same time), CLI_JOBS (default 2), QUIET_JOBS (default 4),
#        CI_LOCK, CI_SLOTS, CLI_NETNS, CLI_LEAKS (see below).
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

# Sanitizers for everything the tests start. Leaks are failures in the
# unit tests (the library; valgrind checks it too, on the plain build); in
# the CLI files only with CLI_LEAKS=1: LeakSanitizer's scan at the exit of
# every strata process doubles its cost (59 ms of CPU against 30 for
# `strata images`) and was a fifth of the CLI suite's CPU under ASan.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
cli_asan=detect_leaks=${CLI_LEAKS:-0}:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export STRATA_BIN=$build/strata
export LC_ALL=C.UTF-8 TZ=UTC

run_t0=$(date +%s) # the reports say when each job started, from this
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
# With CI_SLOTS=N too, the pool's jobs of both runs take one of N slots
# (flock on CI_LOCK.slot1..N) besides: the runs then share N jobs at a
# time, and the one still going when the other's pool is done gets them
# all.
lock_sh=() lock_ex=()
if [ -n "${CI_LOCK:-}" ]; then
  lock_sh=(flock -o -s "$CI_LOCK")
  lock_ex=(flock -o -x "$CI_LOCK")
  if [ -n "${CI_SLOTS:-}" ]; then
    lock_sh+=(python3 "$repo/tests/slot.py" "$CI_SLOTS" "$CI_LOCK")
  fi
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
# They run as one job of the pool below (the first), one binary after the
# other: their TAP streams one after the other, each binary's exit status
# checked (a crash says which binary).

# --- 3-5. CLI tests (bats), valgrind, fuzz ---------------------------------
# 3. each tests/cli/*.bats file; with a second, non-sanitized build (vg_build):
# 4. tests/valgrind.sh on it (unit binaries and a handful of CLI commands
#    under valgrind's leak check; with TEST_FILTER only when the filter
#    names valgrind: "valgrind", "valgrind unit/test_store", ...);
# 5. tests/fuzz.sh on it (libFuzzer on the parsers, FUZZ_SECONDS each, every
#    corpus replayed).
# These jobs run CLI_JOBS at a time (default 2), the longest first, each
# bats file on stores of its own and in a network namespace of its own; the
# files that check timings run afterwards, apart from the pool's load (see
# quiet_re below). Each job's output is printed whole when it ends.
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
# Each bats file runs in a network namespace of its own, with only its
# loopback up: the bridges, veths and nftables table its containers make,
# and the registries it serves on 127.0.0.1, are its own, so that files
# that make traffic or check the table need not run alone, and no packet
# can leave the machine. Without the privilege (or with CLI_NETNS=0) the
# files share the host's namespace.
netns=()
if [ "${CLI_NETNS:-1}" = 1 ] && command -v ip >/dev/null 2>&1 &&
  unshare --net sh -c 'ip link set lo up' 2>/dev/null; then
  netns=(unshare --net sh -c 'ip link set lo up && exec "$@"' netns)
fi
# Which files may not run in the pool: the quiet ones check timings
# (restart back-off, health intervals, stats, cgroup limits) that the
# pool's load would skew; without a namespace per file, those that make
# traffic or check the host's nftables table. The rest check outcomes that
# no load may change (crash safety, races, the soak), so they share the
# machine.
quiet_re='^(restart|health|pause_stats|run_limits)[.]bats$'
host_re='^(network|network_connect|network_container)[.]bats$'
# The longest jobs start first, so that the pool does not end on one.
long_first=" valgrind fuzz crash.bats build.bats build_realistic.bats build_cache.bats network.bats soak.bats attach.bats tag.bats container_cmds.bats "
job_one() { # JOB DIR sh|ex|held: runs one job (a bats file, valgrind or
  # fuzz) under the lock shared, exclusive, or held already by this run,
  # leaving stdout, stderr, rc, secs in DIR
  local t0=$SECONDS lock=("${lock_sh[@]}") cmd
  [ "$3" = ex ] && lock=("${lock_ex[@]}")
  [ "$3" = held ] && lock=()
  case $1 in
  unit) cmd=(bash -c 'rc=0
      for f; do
        (cd "${f%/*}" && CMOCKA_MESSAGE_OUTPUT=TAP exec timeout -k 10 "$0" "$f")
        r=$?
        [ "$r" -eq 0 ] || { echo "# ${f##*/} exited with status $r"; rc=1; }
      done
      exit $rc' "$unit_timeout" "${units[@]}") ;;
  valgrind) cmd=(env TEST_FILTER="$filter" tests/valgrind.sh "$vg_build") ;;
  fuzz) cmd=(tests/fuzz.sh "$vg_build") ;;
  *) cmd=(env ASAN_OPTIONS="$cli_asan" "${netns[@]}" bats --tap "$1") ;;
  esac
  mkdir -p "$2"
  # "started" records when the job got the lock: the report gives the
  # time it ran and, apart, the time it waited
  # (a job does not keep the descriptor of a lock this run holds: what it
  # leaves running would hold the lock too)
  ([ -n "${held_fd:-}" ] && exec {held_fd}>&-
    "${lock[@]}" sh -c 'date +%s >"$0/started"; exec "$@"' "$2" \
    timeout -k 10 "$bats_timeout" "${cmd[@]}" >"$2/stdout" 2>"$2/stderr" </dev/null
    echo $? >"$2/rc"
    times >"$2/times") 2>/dev/null
  local end waited=0
  end=$(date +%s)
  [ -s "$2/started" ] && waited=$(($(cat "$2/started") - (end - (SECONDS - t0))))
  [ "$waited" -ge 0 ] || waited=0
  echo $((SECONDS - t0 - waited)) >"$2/secs"
  echo "$waited" >"$2/waited"
}
job_name() { # JOB: the name in the report
  case $1 in
  unit) echo "unit: the ${#units[@]} cmocka binaries in $build" ;;
  valgrind) echo "valgrind: tests/valgrind.sh $vg_build" ;;
  fuzz) echo "fuzz: tests/fuzz.sh $vg_build (${FUZZ_SECONDS:-15-30}s per target)" ;;
  *) echo "cli/$(basename "$1")" ;;
  esac
}
job_cpu() { # DIR: sets cpu to the CPU seconds (user + system) of the
  # job's processes that were waited for (the last line of bash's `times`,
  # "0m1.5s 0m0.5s"; not the daemons it left), and adds them to cpu_total
  cpu=$(awk 'END { n = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); n += a[1] * 60 + a[2] } printf "%.0f", n }' "$1/times" 2>/dev/null)
  cpu=${cpu:-0}
  cpu_total=$((cpu_total + cpu))
}
cpu_total=0
job_report() { # JOB DIR
  local name cpu
  name=$(job_name "$1")
  banner "$name"
  job_cpu "$2"
  echo "# ran $(cat "$2/secs") s from +$(($(cat "$2/started" 2>/dev/null || echo "$run_t0") - run_t0)) s, $cpu s of CPU$([ "$(cat "$2/waited")" -gt 0 ] && echo ", after waiting $(cat "$2/waited") s for the lock")"
  suite_start=$((SECONDS - $(cat "$2/secs")))
  cat "$2/stdout"
  if [ -s "$2/stderr" ]; then
    echo "# --- stderr of ${name%%:*} ---"
    cat "$2/stderr"
  fi
  count_tap "${name%%:*}" "$2/stdout" "$(cat "$2/rc")"
}
pool=() quiet=() serial=()
[ "${#units[@]}" -gt 0 ] && pool+=(unit)
if [ -n "$vg_build" ] && want valgrind && { [ -z "$filter" ] || [[ $filter == *valgrind* ]] ||
  [[ valgrind == *"$filter"* ]]; }; then
  pool+=(valgrind)
fi
if [ -n "$vg_build" ] && want fuzz && { [ -z "$filter" ] || [[ fuzz == *"$filter"* ]]; }; then
  pool+=(fuzz)
fi
rest=()
declare -A long_file=()
for f in "${bats_files[@]}"; do
  b=${f##*/}
  if [ "$cli_jobs" -le 1 ] || { [[ $b =~ $host_re ]] && [ "${#netns[@]}" -eq 0 ]; }; then
    serial+=("$f")
  elif [[ $b =~ $quiet_re ]]; then
    quiet+=("$f")
  elif [[ $long_first == *" $b "* ]]; then
    long_file[$b]=$f
  else
    rest+=("$f")
  fi
done
for b in $long_first; do
  [ -n "${long_file[$b]:-}" ] && pool+=("${long_file[$b]}")
done
pool+=("${rest[@]}")
declare -A job_of=() job_dir=()
i=0
reap_one() { # waits for one job of the pool and prints its report
  local done_pid
  wait -n -p done_pid
  job_report "${job_of[$done_pid]}" "${job_dir[$done_pid]}"
  unset "job_of[$done_pid]" "job_dir[$done_pid]"
}
run_pool() { # LIMIT sh|held JOB...: runs the jobs, LIMIT at a time
  local limit=$1 mode=$2 f
  shift 2
  for f in "$@"; do
    while [ "${#job_of[@]}" -ge "$limit" ]; do
      reap_one
    done
    i=$((i + 1))
    job_one "$f" "$out/job.$i" "$mode" &
    job_of[$!]=$f
    job_dir[$!]=$out/job.$i
  done
  while [ "${#job_of[@]}" -gt 0 ]; do
    reap_one
  done
}
run_pool "$cli_jobs" sh "${pool[@]}"
# The quiet files mostly sleep: QUIET_JOBS (default 4) at a time, while
# this run holds the lock exclusively for all of them.
if [ "${#quiet[@]}" -gt 0 ]; then
  held_fd=
  if [ -n "${CI_LOCK:-}" ]; then
    t0=$SECONDS
    exec {held_fd}>>"$CI_LOCK"
    flock -x "$held_fd"
    banner "quiet files: ${quiet[*]##*/}"
    echo "# waited $((SECONDS - t0)) s for the lock"
  fi
  run_pool "${QUIET_JOBS:-4}" held "${quiet[@]}"
  if [ -n "$held_fd" ]; then
    flock -u "$held_fd"
    exec {held_fd}>&-
  fi
  held_fd=
fi
for f in "${serial[@]}"; do
  job_one "$f" "$out/job.serial" ex
  job_report "$f" "$out/job.serial"
  rm -rf "$out/job.serial"
done

# --- summary --------------------------------------------------------------
if [ "${#timings[@]}" -gt 0 ]; then
  banner "time per suite (s), slowest first; total ${SECONDS}s, the CLI, valgrind and fuzz jobs ${cpu_total} s of CPU"
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
