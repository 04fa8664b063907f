#!/usr/bin/env bats
# What a `run --rm` shows while it runs, and what a killed strata leaves:
# a container directory without a row, or a row without its directory, is
# cleaned by the next strata process that has the store to itself.

load helpers

setup() {
  strata_setup
  if [ "$(id -u)" != 0 ]; then
    skip "containers need root here"
  fi
  import_busybox busybox >/dev/null
}

# wait_up NAME: polls `ps` (up to 10 s) until NAME is running; a fixed
# sleep is too short on a loaded machine with a sanitizer build.
wait_up() {
  local i
  for i in $(seq 1 100); do
    [[ $("$STRATA" ps --format '{{.Names}} {{.Status}}') == "$1 Up"* ]] && return 0
    sleep 0.1
  done
  echo "$1 never showed as running"
  return 1
}

@test "run --rm: ps lists it while it runs; nothing is left after" {
  "$STRATA" run --rm --name brief busybox sleep 2 &
  bg=$!
  wait_up brief
  run --separate-stderr "$STRATA" ps --format '{{.Names}} {{.Status}}'
  assert_match "$output" '^brief Up '
  wait "$bg"
  run --separate-stderr "$STRATA" ps -aq
  assert_eq "$output" ""
  [ -z "$(ls -A "$STRATA_ROOT/containers")" ]
}

@test "a container directory without a row is removed by the next command" {
  "$STRATA" run --rm busybox true
  orphan=$STRATA_ROOT/containers/$(printf 'ab%.0s' $(seq 32))
  mkdir -p "$orphan/upper/etc" "$orphan/work/work"
  echo '{}' >"$orphan/config.json"
  chmod 000 "$orphan/work/work"
  run --separate-stderr "$STRATA" images
  assert_status 0
  [ ! -e "$orphan" ]
}

@test "a container whose directory is gone is removed by the next command" {
  "$STRATA" create --name lost busybox true >/dev/null
  id=$("$STRATA" ps -aq --no-trunc)
  rm -rf "${STRATA_ROOT:?}/containers/$id"
  run --separate-stderr "$STRATA" ps -a --format '{{.Names}}'
  assert_eq "$output" ""
}

@test "nothing is swept while another strata process is busy (writing)" {
  # A busy process may be between writing a container directory and
  # recording it; an import reading a FIFO stays busy until it is fed.
  mkfifo "$BATS_TEST_TMPDIR/slow"
  "$STRATA" import "$BATS_TEST_TMPDIR/slow" slow:1 >/dev/null &
  bg=$!
  exec 7>"$BATS_TEST_TMPDIR/slow"
  head -c 10240 "$(busybox_tar)" >&7
  local w
  for w in $(seq 1 100); do # until the import is writing its blob (busy)
    [ -n "$(ls -A "$STRATA_ROOT/tmp" 2>/dev/null)" ] && break
    sleep 0.1
  done
  orphan=$STRATA_ROOT/containers/$(printf 'cd%.0s' $(seq 32))
  mkdir -p "$orphan"
  run --separate-stderr "$STRATA" ps -a
  [ -d "$orphan" ]
  tail -c +10241 "$(busybox_tar)" >&7
  exec 7>&-
  wait "$bg"
  run --separate-stderr "$STRATA" ps -a
  [ ! -e "$orphan" ]
}

@test "a container running attached is never swept by a process alone" {
  "$STRATA" run --rm --name attached busybox sh -c 'sleep 2; echo done' \
    >"$BATS_TEST_TMPDIR/out" &
  bg=$!
  # Each ps opens the store, alone (the attached run holds nothing): the
  # sweep must leave the running container alone every time.
  local seen=0 i
  for i in $(seq 1 30); do
    run --separate-stderr "$STRATA" ps --format '{{.Names}}'
    [ "$output" = attached ] && seen=$((seen + 1))
    kill -0 "$bg" 2>/dev/null || break
    sleep 0.1
  done
  [ "$seen" -gt 0 ]
  wait "$bg"
  assert_eq "$(cat "$BATS_TEST_TMPDIR/out")" "done"
}

@test "a killed run --rm: its container is recorded and removed once it exits" {
  "$STRATA" run --rm --name killed busybox sleep 2 &
  bg=$!
  wait_up killed
  kill -9 "$bg"
  wait "$bg" || true
  run --separate-stderr "$STRATA" ps --format '{{.Names}}'
  assert_eq "$output" "killed"
  sleep 2.2
  run --separate-stderr "$STRATA" ps -aq
  assert_eq "$output" ""
  run --separate-stderr "$STRATA" ps -aq
  [ -z "$(ls -A "$STRATA_ROOT/containers")" ]
}

@test "run --rm killed while it starts the container: the child never waits forever for it (no process left holding the store)" {
  local mark="crashmark-$$-$RANDOM" i d p
  for i in $(seq 1 80); do
    d=$(awk -v i="$i" 'BEGIN {printf "%.4f", 0.00075 * i}')
    # (fd 3 closed: a stuck process must fail the test, not hang bats)
    "$STRATA" run --rm --label "$mark=1" busybox true >/dev/null 2>&1 3>&- &
    p=$!
    sleep "$d"
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  # a child killed before its parent's "go" reads the end of the pipe and
  # exits; one that got it runs `true` and exits
  for i in $(seq 1 50); do
    pgrep -f -- "--label $mark=1" >/dev/null || break
    sleep 0.1
  done
  run pgrep -f -- "--label $mark=1"
  pkill -9 -f -- "--label $mark=1" || true
  assert_status 1
  run --separate-stderr timeout 20 "$STRATA" ps -aq
  assert_status 0
  for id in $output; do
    timeout 20 "$STRATA" rm -f "$id" >/dev/null
  done
  run --separate-stderr timeout 20 "$STRATA" system check
  assert_status 0
}
