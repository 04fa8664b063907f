#!/usr/bin/env bats
# strata attach: the output of a running container from now on, its exit
# status, and signals proxied to it. (stdin is not relayed yet.)

load helpers

setup() {
  strata_setup
  if [ "$(id -u)" != 0 ]; then
    skip "containers need root here"
  fi
  import_busybox busybox >/dev/null
}

teardown() {
  "$STRATA" rm -f $("$STRATA" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
}

@test "attach: prints what the container writes from now on, on the right streams, and exits with its status" {
  "$STRATA" run -d --name at busybox sh -c 'echo before; sleep 1.5; echo out; echo err >&2; exit 7' >/dev/null
  sleep 0.5
  run --separate-stderr timeout 20 "$STRATA" attach at
  assert_status 7
  assert_eq "$output" out
  assert_eq "$stderr" err
  run --separate-stderr "$STRATA" attach at
  assert_failure
  assert_contains "$stderr" "You cannot attach to a stopped container, start it first"
  run --separate-stderr "$STRATA" attach
  assert_failure
  assert_contains "$stderr" '"strata attach" requires exactly 1 argument.'
}

@test "attach: signals go to the container (--sig-proxy), not with --sig-proxy=false; container attach" {
  "$STRATA" run -d --name sig busybox sh -c 'trap "echo got-term; exit 3" TERM; echo ready; while :; do sleep 0.1; done' >/dev/null
  out=$BATS_TEST_TMPDIR/attach.out
  "$STRATA" container attach sig >"$out" 2>&1 &
  pid=$!
  sleep 1
  kill -TERM "$pid"
  rc=0
  wait "$pid" || rc=$?
  assert_eq "$rc" 3
  assert_eq "$(cat "$out")" got-term
  run --separate-stderr "$STRATA" inspect -f '{{.State.Status}} {{.State.ExitCode}}' sig
  assert_eq "$output" "exited 3"

  "$STRATA" run -d --name keep busybox sleep 60 >/dev/null
  "$STRATA" attach --sig-proxy=false keep >/dev/null 2>&1 &
  pid=$!
  sleep 1
  kill -TERM "$pid"
  rc=0
  wait "$pid" || rc=$?
  assert_eq "$rc" 143
  run --separate-stderr "$STRATA" inspect -f '{{.State.Status}}' keep
  assert_eq "$output" running
}

@test "start -a of a running container attaches to it as Docker does" {
  "$STRATA" run -d --name sa busybox sh -c 'sleep 1.5; echo late; exit 5' >/dev/null
  sleep 0.3
  run --separate-stderr timeout 20 "$STRATA" start -a sa
  assert_status 5
  assert_eq "$output" late
  # a stopped one still runs in the foreground
  run --separate-stderr timeout 20 "$STRATA" start -a sa
  assert_status 5
  assert_eq "$output" late
}
