#!/usr/bin/env bats
# strata events: the event log the commands append to, read back with
# --since/--until, filters and --format, and followed as it grows.

load helpers

setup() {
  strata_setup
  if [ "$(id -u)" != 0 ]; then
    skip "containers need root here"
  fi
  import_busybox busybox >/dev/null
}

teardown() {
  if [ -n "${follower:-}" ]; then
    kill "$follower" 2>/dev/null || true
    wait "$follower" 2>/dev/null || true
  fi
  "$STRATA" rm -f $("$STRATA" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
}

@test "events: a container's life cycle in order, with Docker's attributes" {
  t0=$(date +%s)
  "$STRATA" create --name ev busybox sh -c 'exit 3' >/dev/null
  id=$("$STRATA" inspect -f '{{.Id}}' ev)
  "$STRATA" start ev >/dev/null
  "$STRATA" wait ev >/dev/null
  "$STRATA" rename ev ev2
  "$STRATA" rm ev2 >/dev/null
  run --separate-stderr "$STRATA" events --since "$t0" --until "$(($(date +%s) + 1))" \
    --filter container="$id" --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}'
  assert_status 0
  assert_eq "$output" "container create ev <no value>
container start ev <no value>
container die ev 3
container rename ev2 <no value>
container destroy ev2 <no value>"
  # the default line: time, type, action, ID, sorted attributes
  run --separate-stderr "$STRATA" events --since "$t0" --until "$(($(date +%s) + 1))" --filter event=die
  assert_status 0
  assert_match "$output" "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z container die $id \(exitCode=3, image=busybox, name=ev\)$"
  run --separate-stderr "$STRATA" events --since "$t0" --until "$(($(date +%s) + 1))" --filter event=rename --format '{{json .}}'
  assert_status 0
  assert_json_valid "$output"
  assert_contains "$output" '"oldName":"ev"'
  assert_contains "$output" "\"status\":\"rename\",\"id\":\"$id\""
}

@test "events: kill, stop, pause, unpause, restart; filters by type, event and image" {
  t0=$(date +%s)
  "$STRATA" run -d --name lc busybox sleep 60 >/dev/null
  "$STRATA" pause lc >/dev/null
  "$STRATA" unpause lc >/dev/null
  "$STRATA" restart -t 1 lc >/dev/null
  "$STRATA" kill -s KILL lc >/dev/null
  "$STRATA" wait lc >/dev/null || true # its monitor records the die
  "$STRATA" tag busybox mine:v1
  "$STRATA" volume create vol1 >/dev/null
  "$STRATA" volume rm vol1 >/dev/null
  until=$(($(date +%s) + 1))
  run --separate-stderr "$STRATA" events --since "$t0" --until "$until" -f container=lc --format '{{.Action}}'
  assert_status 0
  # restart: stop (TERM ignored by sleep as PID 1, then KILL) and start again
  assert_eq "$(echo "$output" | tr '\n' ' ')" "create start pause unpause die stop start restart kill die "
  run --separate-stderr "$STRATA" events --since "$t0" --until "$until" -f event=kill --format '{{.Actor.Attributes.signal}}'
  assert_eq "$output" 9
  run --separate-stderr "$STRATA" events --since "$t0" --until "$until" -f type=image -f event=tag --format '{{.Action}} {{.Actor.Attributes.name}}'
  assert_eq "$output" "tag mine:v1"
  run --separate-stderr "$STRATA" events --since "$t0" --until "$until" -f type=volume --format '{{.Action}} {{.Actor.ID}}'
  assert_eq "$output" "create vol1
destroy vol1"
  # keys are ANDed, values of one key ORed
  run --separate-stderr "$STRATA" events --since "$t0" --until "$until" -f type=container -f event=pause -f event=unpause --format '{{.Action}}'
  assert_eq "$output" "pause
unpause"
  run --separate-stderr "$STRATA" events --since "$t0" --until "$until" -f image=busybox -f event=create --format '{{.Actor.Attributes.name}}'
  assert_eq "$output" lc
  run --separate-stderr "$STRATA" events -f bogus=1 --until "$until"
  assert_failure
  assert_contains "$stderr" "invalid filter 'bogus'"
}

@test "events: --until in the past ends at once; --since bounds the start" {
  "$STRATA" create --name old busybox true >/dev/null
  sleep 1.2
  t1=$(date +%s)
  "$STRATA" create --name new busybox true >/dev/null
  run --separate-stderr timeout 5 "$STRATA" events --since "$t1" --until "$(($(date +%s) + 1))" -f type=container --format '{{.Actor.Attributes.name}}'
  assert_status 0
  assert_eq "$output" new
  run --separate-stderr timeout 5 "$STRATA" events --since 0 --until "$t1" -f type=container --format '{{.Actor.Attributes.name}}'
  assert_status 0
  assert_eq "$output" old
  run --separate-stderr "$STRATA" events --since yesterday
  assert_failure
}

@test "events: without --until a follower prints new events as they happen" {
  out=$BATS_TEST_TMPDIR/follow.out
  "$STRATA" create --name before busybox true >/dev/null
  "$STRATA" events --format '{{.Action}} {{.Actor.Attributes.name}}' >"$out" 2>&1 &
  follower=$!
  sleep 0.5
  "$STRATA" run --name live busybox true
  for _ in $(seq 50); do
    grep -q 'die live' "$out" && break
    sleep 0.1
  done
  kill "$follower"
  wait "$follower" || true
  follower=
  # only what happened after it started, and still running until killed
  run cat "$out"
  assert_eq "$output" "create live
start live
die live"
}

@test "events: the log is bounded (rotated) and a torn line is skipped; a follower crosses the rotation" {
  log=$STRATA_ROOT/events.log
  "$STRATA" create --name first busybox true >/dev/null
  printf '{"Type":"container","Act' >>"$log" # a writer that died mid-line
  printf '\n' >>"$log"
  # fill the log close to its 1 MiB bound with valid old events
  python3 -c '
import json, sys
line = json.dumps({"Type": "image", "Action": "tag", "Actor": {"ID": "x", "Attributes": {}}, "time": 1, "timeNano": 1000000000}) + "\n"
sys.stdout.write(line * (1048576 // len(line)))' >>"$log"
  out=$BATS_TEST_TMPDIR/follow.out
  "$STRATA" events --format '{{.Action}} {{.Actor.Attributes.name}}' -f type=container >"$out" 2>&1 &
  follower=$!
  sleep 0.5
  "$STRATA" create --name second busybox true >/dev/null
  [ -e "$log.1" ]
  size=$(stat -c %s "$log" 2>/dev/null || echo 0)
  [ "$size" -lt 1048576 ]
  "$STRATA" create --name third busybox true >/dev/null
  for _ in $(seq 50); do
    grep -q 'create third' "$out" && break
    sleep 0.1
  done
  kill "$follower"
  wait "$follower" || true
  follower=
  run cat "$out"
  assert_eq "$output" "create second
create third"
  # --since reads the rotated file, then the new one; the torn line is skipped
  run --separate-stderr "$STRATA" events --since 2 --until "$(($(date +%s) + 1))" -f type=container --format '{{.Actor.Attributes.name}}'
  assert_status 0
  assert_eq "$output" "first
second
third"
}

@test "events: network create and destroy" {
  t0=$(date +%s)
  if ! "$STRATA" network create evnet >/dev/null 2>"$BATS_TEST_TMPDIR/err"; then
    skip "network create does not work here: $(cat "$BATS_TEST_TMPDIR/err")"
  fi
  id=$("$STRATA" network inspect -f '{{.Id}}' evnet)
  "$STRATA" network rm evnet >/dev/null
  run --separate-stderr "$STRATA" events --since "$t0" --until "$(($(date +%s) + 1))" -f type=network --format '{{.Action}} {{.Actor.Attributes.name}}'
  assert_status 0
  assert_eq "$output" "create evnet
destroy evnet"
  run --separate-stderr "$STRATA" events --since "$t0" --until "$(($(date +%s) + 1))" -f network=evnet -f event=create --format '{{.Actor.ID}}'
  assert_eq "$output" "$id"
}
