#!/usr/bin/env bats
# Output that must match Docker's, field by field (issue 8): ps COMMAND
# quoting, rmi messages and statuses, inspect key sets, logs --since/--until,
# exit times.

load helpers

setup() {
  strata_setup
  if [ "$(id -u)" != 0 ]; then
    skip "containers need root here"
  fi
  import_busybox busybox >/dev/null
}

@test "ps COMMAND is quoted as Go's %q: inner quotes and backslashes escaped" {
  "$STRATA" create --name q1 busybox echo 'say "hi"' >/dev/null
  run --separate-stderr "$STRATA" ps -a --no-trunc --format '{{.Command}}'
  assert_status 0
  # Docker's daemon wraps an argument holding a space in single quotes.
  [ "$output" = "\"echo 'say \\\"hi\\\"'\"" ]
  run --separate-stderr "$STRATA" ps -a --format '{{.Command}}'
  [ "$output" = "\"echo 'say \\\"hi\\\"'\"" ]
  "$STRATA" create --name q2 busybox echo 'a"bcdefghijklmnopqrstuvwxyz' >/dev/null
  run --separate-stderr "$STRATA" ps -a -f name=q2 --format '{{.Command}}'
  [ "$output" = '"echo a\"bcdefghijklm…"' ]
}
