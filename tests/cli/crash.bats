#!/usr/bin/env bats
# Crash safety: strata import, build, rmi, image prune, load, commit, run
# --rm (with the layer conversion of the store's backend) and pull killed
# with SIGKILL at random moments leave a consistent store and no tagged
# image loses its data. make test runs this file once per layer backend.
# The trials are in tests/crash/crash.sh (bench/crash.sh runs more of them).

load helpers

@test "crash: SIGKILLs (CRASH_TRIALS, default 30: three of each operation) during import, build, rmi, prune, load, commit, run and pull leave the store consistent" {
  # crash.sh makes its own throwaway store under TMPDIR.
  TMPDIR=$BATS_TEST_TMPDIR run --separate-stderr "$REPO_ROOT/tests/crash/crash.sh" "${CRASH_TRIALS:-30}" "$STRATA"
  printf '%s\n' "$output" "$stderr"
  assert_status 0
  assert_contains "$output" "crash: ${CRASH_TRIALS:-30} trials, 0 failures"
}
