#!/usr/bin/env bats
# strata attach: the output of a running container from now on, its exit
# status, signals proxied to it, our stdin typed into it (-di, -dit) and
# the detach keys.

load helpers

setup() {
  containers_setup
}

teardown() {
  containers_teardown
}

# attach_with_tty ARGS...: runs `strata attach ARGS` on a pseudo-terminal
# (script(1)), with what the caller pipes in typed into it.
attach_with_tty() {
  local rc=0
  timeout -s KILL 20 script -qfec "$STRATA $*" /dev/null >"$BATS_TEST_TMPDIR/tty.out" || rc=$?
  tr -d '\r' <"$BATS_TEST_TMPDIR/tty.out"
  return "$rc"
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

@test "attach: stdin goes to a -di container, and its exit status comes back" {
  "$STRATA" run -di --name in busybox sh >/dev/null
  run --separate-stderr timeout -s KILL 20 "$STRATA" attach in < <(printf 'echo hi-$((40+2))\nexit 3\n')
  assert_status 3
  assert_eq "$output" hi-42
  # --no-stdin: nothing typed reaches it
  "$STRATA" run -di --name quiet busybox sh >/dev/null
  (printf 'echo typed\n'; sleep 1; printf '\020\021') | timeout -s KILL 20 "$STRATA" attach --no-stdin quiet &
  sleep 2
  run "$STRATA" logs quiet
  assert_eq "$output" ""
  run "$STRATA" inspect -f '{{.State.Running}}' quiet
  assert_eq "$output" true
}

@test "attach: the detach keys (Ctrl-P Ctrl-Q, --detach-keys) leave the container running; bad keys are refused" {
  "$STRATA" run -di --name dk busybox sh >/dev/null
  run --separate-stderr timeout -s KILL 20 "$STRATA" attach dk < <(printf 'echo one\n'; sleep 1; printf '\020\021echo never\n'; sleep 1)
  assert_status 0
  assert_eq "$output" one
  run "$STRATA" inspect -f '{{.State.Running}}' dk
  assert_eq "$output" true
  # a held-back Ctrl-A that is not followed by the rest is typed after all
  run --separate-stderr timeout -s KILL 20 "$STRATA" attach --detach-keys ctrl-a,x dk < <(printf 'echo a\001b\n'; sleep 1; printf '\001x')
  assert_status 0
  run "$STRATA" logs dk
  assert_eq "$(printf '%s\n' "$output" | od -An -c | tr -s ' ')" "$(printf 'one\na\001b\n' | od -An -c | tr -s ' ')"
  run --separate-stderr "$STRATA" attach --detach-keys ctrl-1 dk
  assert_failure
  assert_contains "$stderr" "Invalid detach keys (ctrl-1) provided"
  # the container still takes input, and ends with it
  run --separate-stderr timeout -s KILL 20 "$STRATA" attach dk < <(printf 'exit 4\n')
  assert_status 4
}

@test "attach: a -dit container gets a terminal: raw input, its prompt, Ctrl-P Ctrl-Q detaches" {
  command -v script >/dev/null || skip "script(1) is not installed"
  "$STRATA" run -dit --name tt busybox sh >/dev/null
  sleep 0.5
  run attach_with_tty attach tt < <(sleep 0.5; printf 'echo tty-$((6*7)); tty\n'; sleep 1; printf '\020\021')
  assert_contains "$output" tty-42
  assert_contains "$output" /dev/pts/0
  run "$STRATA" inspect -f '{{.State.Running}}' tt
  assert_eq "$output" true
  # Docker's rule: a TTY container's input must be a terminal
  run --separate-stderr timeout -s KILL 20 "$STRATA" attach tt </dev/null
  assert_failure
  assert_contains "$stderr" "the input device is not a TTY"
  # start -ai attaches to it too, stdin included
  run attach_with_tty start -ai tt < <(sleep 0.5; printf 'exit 6\n'; sleep 2)
  run "$STRATA" inspect -f '{{.State.ExitCode}}' tt
  assert_eq "$output" 6
}

@test "run -it: Ctrl-P Ctrl-Q detaches and leaves the container running; attach comes back; --detach-keys" {
  command -v script >/dev/null || skip "script(1) is not installed"
  run attach_with_tty run -it --name it1 busybox sh < <(sleep 0.5; printf 'echo first-$((1+1))\n'; sleep 0.7; printf '\020\021'; sleep 0.5)
  assert_status 0
  assert_contains "$output" first-2
  run "$STRATA" inspect -f '{{.State.Running}}' it1
  assert_eq "$output" true
  run attach_with_tty attach it1 < <(sleep 0.5; printf 'echo again\n'; sleep 0.5; printf 'exit 9\n'; sleep 1)
  assert_contains "$output" again
  run "$STRATA" inspect -f '{{.State.Running}} {{.State.ExitCode}}' it1
  assert_eq "$output" "false 9"
  # run --rm -it: the exit status comes back and the container goes
  run attach_with_tty run --rm -it busybox sh < <(sleep 0.5; printf 'exit 5\n'; sleep 1)
  assert_status 5
  # a command that ends before anything is typed: its output and status
  run attach_with_tty run --rm -it busybox sh -c "'echo quick; exit 3'" # one word for script -c
  assert_status 3
  assert_contains "$output" quick
  # other keys
  run attach_with_tty run -it --detach-keys ctrl-a,d --name it2 busybox sh < <(sleep 0.5; printf '\001d'; sleep 0.5)
  assert_status 0
  run "$STRATA" inspect -f '{{.State.Running}}' it2
  assert_eq "$output" true
  run --separate-stderr "$STRATA" run -it --detach-keys ctrl-1 busybox sh </dev/null
  assert_status 125
  assert_contains "$stderr" "Invalid detach keys (ctrl-1) provided"
}
