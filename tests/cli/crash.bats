#!/usr/bin/env bats
# Crash safety: strata import / rmi / image prune killed with SIGKILL at
# random moments leave a consistent store and no tagged image loses its data.
# The trials are in tests/crash/crash.sh (bench/crash.sh runs more of them).

load helpers

@test "crash: 50 SIGKILLs during import, rmi and prune leave the store consistent" {
  # crash.sh makes its own throwaway store under TMPDIR.
  TMPDIR=$BATS_TEST_TMPDIR run --separate-stderr "$REPO_ROOT/tests/crash/crash.sh" 50 "$STRATA"
  printf '%s\n' "$output" "$stderr"
  assert_status 0
  assert_contains "$output" "crash: 50 trials, 0 failures"
}
