#!/usr/bin/env bats
# Every container verb is also `strata container VERB`, as in Docker.

load helpers

@test "container VERB: each container verb answers under the container group" {
  for verb in attach commit cp create diff exec export inspect kill logs ls list ps \
    pause port prune rename restart rm remove run start stats stop top \
    unpause wait; do
    run --separate-stderr "$STRATA" container "$verb" --help
    if [ "$status" -ne 0 ]; then
      echo "strata container $verb --help: status $status: $stderr"
      return 1
    fi
    assert_match "$output" "Usage:  strata (container )?[a-z]+"
  done
  run --separate-stderr "$STRATA" container
  assert_status 0
  for verb in ls inspect logs stats top port wait; do
    assert_match "$output" $'\n  '"$verb"' '
  done
}

@test "container ls lists containers as ps does" {
  if [ "$(id -u)" != 0 ]; then
    skip "containers need root here"
  fi
  import_busybox busybox >/dev/null
  "$STRATA" create --name aliased busybox true >/dev/null
  run --separate-stderr "$STRATA" container ls -a --format '{{.Names}}'
  assert_status 0
  assert_eq "$output" aliased
  run --separate-stderr "$STRATA" ps -a --format '{{.Names}}'
  assert_eq "$output" aliased
  "$STRATA" container rm aliased >/dev/null
  run --separate-stderr "$STRATA" container ls -aq
  assert_eq "$output" ""
}
