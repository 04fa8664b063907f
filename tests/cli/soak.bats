#!/usr/bin/env bats
# The soak test (bench/soak.sh) for a bounded time: 8 processes on one
# store doing import, tag, rmi, image prune, container prune, create,
# run --rm, commit and save/load for SOAK_SECONDS (default 20). Every
# command succeeds or fails cleanly because another worker removed what it
# named; afterwards every container starts and `system check --deep` passes.
# `bench/soak.sh build/strata 600` runs it longer.

load helpers

setup() {
  strata_setup
  if [ "$(id -u)" != 0 ]; then
    skip "containers need root here"
  fi
}

@test "soak: 8 workers on one store, then every container starts and the store checks clean" {
  run "$REPO_ROOT/bench/soak.sh" "$STRATA" "${SOAK_SECONDS:-20}" 8
  echo "$output"
  assert_status 0
  assert_match "$output" "soak: 8 workers"
  assert_match "$output" "run-rm ok [0-9]+"
  assert_match "$output" "create ok [0-9]+"
  assert_match "$output" "all started: yes"
  assert_contains "$output" "no problems found."
}
