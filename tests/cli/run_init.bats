#!/usr/bin/env bats
# run --init: strata's init as PID 1 reaps orphans, forwards signals and
# passes the command's exit status through (needs root).

load helpers

setup() {
  strata_setup
  if [ "$(id -u)" != 0 ]; then
    skip "containers need root here"
  fi
  import_busybox busybox >/dev/null
}

@test "run --init: the command is not PID 1; its exit status is passed through" {
  run --separate-stderr "$STRATA" run --rm --init busybox sh -c 'echo $$; cat /proc/1/comm; exit 7'
  assert_status 7
  assert_eq "$output" "$(printf '2\nstrata-init')"
  run --separate-stderr "$STRATA" run --rm busybox sh -c 'echo $$'
  assert_eq "$output" "1"
  run --separate-stderr "$STRATA" run --rm --init=false busybox sh -c 'echo $$'
  assert_eq "$output" "1"
  run --separate-stderr "$STRATA" run --rm --init=true busybox sh -c 'echo $$'
  assert_eq "$output" "2"
  run --separate-stderr "$STRATA" run --rm --init=maybe busybox true
  assert_status 125
  assert_contains "$stderr" 'invalid argument "maybe" for "--init" flag'

  run --separate-stderr "$STRATA" run --rm --init busybox sh -c 'kill -KILL $$'
  assert_status 137
  run -127 --separate-stderr "$STRATA" run --rm --init busybox nosuchcommand
  assert_contains "$stderr" 'exec: "nosuchcommand": executable file not found in $PATH'
}

@test "run --init: orphans are reaped (no zombie left)" {
  # the inner sh exits at once: its background sleeps become children of
  # PID 1, which must reap them when they end
  run --separate-stderr "$STRATA" run --rm --init busybox sh -c '
    sh -c "sleep 0.1 & sleep 0.1 & sleep 0.1 &"
    sleep 1
    for f in /proc/[0-9]*/stat; do read -r line < $f 2>/dev/null && echo "$line"; done |
      grep -c " Z " || true'
  assert_status 0
  assert_eq "$output" "0"
  # Seen from the host: the zombie children of the container's PID 1 while
  # its command sleeps. Without --init PID 1 is `sleep`, which never reaps
  # the orphan (so this check can fail); with --init none is left.
  for init in "" --init; do
    cid=$("$STRATA" run -d $init busybox sh -c 'sh -c "sleep 0.1 &"; exec sleep 100')
    sleep 1
    pid=$("$STRATA" inspect -f '{{.State.Pid}}' "$cid")
    zombies=0
    for c in $(cat /proc/"$pid"/task/*/children); do
      [ "$(awk '{print $3}' /proc/"$c"/stat 2>/dev/null)" = Z ] && zombies=$((zombies + 1))
    done
    "$STRATA" rm -f "$cid" >/dev/null
    if [ -z "$init" ]; then
      assert_eq "$zombies" 1
    else
      assert_eq "$zombies" 0
    fi
  done
}

@test "run --init: signals reach the command; stop ends it at once with 143" {
  cid=$("$STRATA" run -d --init busybox sleep 100)
  start=$(date +%s%N)
  run --separate-stderr "$STRATA" stop "$cid"
  assert_status 0
  elapsed=$((($(date +%s%N) - start) / 1000000))
  [ "$elapsed" -lt 3000 ] || { echo "stop took ${elapsed} ms"; false; }
  run --separate-stderr "$STRATA" inspect -f '{{.State.ExitCode}}' "$cid"
  assert_eq "$output" "143"
  run --separate-stderr "$STRATA" inspect -f '{{json .HostConfig.Init}}' "$cid"
  assert_eq "$output" "true"
  # a trap in the command gets a forwarded USR1
  "$STRATA" run -d --init --name trapper busybox sh -c \
    'trap "echo got-usr1; exit 3" USR1; echo ready; while :; do sleep 0.1; done' >/dev/null
  for _ in $(seq 50); do
    "$STRATA" logs trapper 2>/dev/null | grep -q ready && break
    sleep 0.1
  done
  "$STRATA" kill -s USR1 trapper >/dev/null
  run --separate-stderr "$STRATA" wait trapper
  assert_eq "$output" "3"
  run --separate-stderr "$STRATA" logs trapper
  assert_contains "$output" "got-usr1"
  # without --init, sleep as PID 1 ignores SIGTERM
  cid=$("$STRATA" run -d busybox sleep 100)
  run --separate-stderr "$STRATA" stop -t 1 "$cid"
  run --separate-stderr "$STRATA" inspect -f '{{json .HostConfig.Init}}' "$cid"
  assert_eq "$output" "null"
  run --separate-stderr "$STRATA" inspect -f '{{.State.ExitCode}}' "$cid"
  assert_eq "$output" "137"
}

@test "run --init: with a named volume, and refused with --runtime" {
  run --separate-stderr "$STRATA" run --rm --init -v initvol:/data busybox sh -c 'echo ok > /data/f; cat /data/f'
  assert_status 0
  assert_eq "$output" "ok"
  run --separate-stderr "$STRATA" run --rm --init --runtime /bin/true busybox true
  assert_status 125
  assert_error_line '--init with --runtime is not supported'
}
