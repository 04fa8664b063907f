#!/usr/bin/env bats
# Garbage collection next to other processes: what an interrupted command
# left (a blob no record names, a half-written tmp/ file) is collected by
# the next prune or rmi even while a long `run` has the store open, and
# never while another process is still writing it.

load helpers

setup() {
  strata_setup
  if [ "$(id -u)" != 0 ]; then
    skip "containers need root here"
  fi
  import_busybox busybox >/dev/null
}

# plant_garbage: a blob no record refers to (what a pull stopped by Ctrl-C
# after fetching the config leaves), and a killed import's tmp/ file.
plant_garbage() {
  local hex
  printf '{"config":{},"interrupted":true}' >"$BATS_TEST_TMPDIR/cfg"
  hex=$(sha256sum "$BATS_TEST_TMPDIR/cfg" | cut -d' ' -f1)
  cp "$BATS_TEST_TMPDIR/cfg" "$STRATA_ROOT/blobs/sha256/$hex"
  echo "$hex"
  mkfifo "$BATS_TEST_TMPDIR/half"
  "$STRATA" import "$BATS_TEST_TMPDIR/half" half:1 >/dev/null 2>&1 &
  local pid=$!
  head -c 20480 "$(busybox_tar)" >"$BATS_TEST_TMPDIR/half"
  sleep 0.3
  kill -INT "$pid" 2>/dev/null
  wait "$pid" || true
}

@test "gc: an interrupted command's garbage goes at the next prune while a container runs attached" {
  local hex
  hex=$(plant_garbage)
  "$STRATA" run --pull never busybox sleep 4 >/dev/null &
  local runner=$!
  sleep 1
  [ -e "$STRATA_ROOT/blobs/sha256/$hex" ]
  run --separate-stderr "$STRATA" image prune -f
  assert_status 0
  [ ! -e "$STRATA_ROOT/blobs/sha256/$hex" ] || {
    echo "the unreferenced blob survived the prune"
    return 1
  }
  run ls -A "$STRATA_ROOT/tmp"
  assert_eq "$output" ""
  kill -0 "$runner" # the container still runs
  wait "$runner"
  run --separate-stderr "$STRATA" system check
  assert_status 0
  assert_contains "$output" "no problems found."
  [[ $output != *unreferenced* ]]
}

@test "gc: rmi and container prune collect garbage too" {
  local hex
  hex=$(plant_garbage)
  import_busybox --change "LABEL x=1" other:1 >/dev/null
  "$STRATA" rmi other:1 >/dev/null
  [ ! -e "$STRATA_ROOT/blobs/sha256/$hex" ]
  hex=$(plant_garbage)
  "$STRATA" container prune -f >/dev/null
  [ ! -e "$STRATA_ROOT/blobs/sha256/$hex" ]
}

@test "gc: a blob still being written by another process is not collected" {
  mkfifo "$BATS_TEST_TMPDIR/slow"
  "$STRATA" import "$BATS_TEST_TMPDIR/slow" slow:1 >"$BATS_TEST_TMPDIR/id" \
    2>"$BATS_TEST_TMPDIR/err" &
  local pid=$!
  exec 7>"$BATS_TEST_TMPDIR/slow"
  head -c 20480 "$(busybox_tar)" >&7
  local w
  for w in $(seq 1 100); do # until the import is writing its blob (busy)
    [ -n "$(ls -A "$STRATA_ROOT/tmp" 2>/dev/null)" ] && break
    sleep 0.1
  done
  run ls -A "$STRATA_ROOT/tmp"
  [ -n "$output" ] # the import's blob in progress
  run --separate-stderr "$STRATA" image prune -f
  assert_status 0
  run ls -A "$STRATA_ROOT/tmp"
  [ -n "$output" ]
  tail -c +20481 "$(busybox_tar)" >&7
  exec 7>&-
  wait "$pid"
  run --separate-stderr "$STRATA" run --rm --pull never slow:1 echo ok
  assert_status 0
  assert_eq "$output" "ok"
  run --separate-stderr "$STRATA" system check
  assert_status 0
}
