#!/usr/bin/env bats
# ps --filter (status, name, id, ancestor, label, exited), -n and -l.

load helpers

setup() {
  strata_setup
  if [ "$(id -u)" != 0 ]; then
    skip "containers need root here"
  fi
  import_busybox busybox >/dev/null
  "$STRATA" import --change 'LABEL team=web' "$(busybox_tar)" labeled >/dev/null
  "$STRATA" run --name ex3 busybox sh -c 'exit 3' || true
  "$STRATA" run --name ex0 busybox true
  "$STRATA" run -d --name up1 labeled sleep 30 >/dev/null
  "$STRATA" create --name cr1 busybox true >/dev/null
}

teardown() {
  "$STRATA" rm -f up1 >/dev/null 2>&1 || true
}

names() {
  run --separate-stderr "$STRATA" ps "$@" --format '{{.Names}}'
  assert_status 0
  [ -z "$output" ] || output=$(printf '%s\n' "$output" | tr '\n' ' ')
}

@test "ps --filter status: implies all states; values are alternatives" {
  names
  assert_eq "$output" "up1 "
  names -f status=exited
  assert_eq "$output" "ex0 ex3 "
  names --filter status=running
  assert_eq "$output" "up1 "
  names -f status=created
  assert_eq "$output" "cr1 "
  names -f status=exited -f status=created
  assert_eq "$output" "cr1 ex0 ex3 "
}

@test "ps --filter name, id, exited; different keys must all match" {
  names -a -f name=ex
  assert_eq "$output" "ex0 ex3 "
  names -a -f 'name=^ex0$'
  assert_eq "$output" "ex0 "
  names -a -f exited=3
  assert_eq "$output" "ex3 "
  names -a -f status=exited -f name=ex3
  assert_eq "$output" "ex3 "
  names -a -f status=running -f name=ex3
  assert_eq "$output" ""
  id=$("$STRATA" ps -aq --filter name=cr1)
  names -a -f "id=${id:0:6}"
  assert_eq "$output" "cr1 "
}

@test "ps --filter ancestor and label (the image's labels)" {
  names -a -f ancestor=labeled
  assert_eq "$output" "up1 "
  names -a -f ancestor=busybox
  assert_eq "$output" "cr1 ex0 ex3 "
  img=$("$STRATA" images -q labeled)
  names -a -f "ancestor=$img"
  assert_eq "$output" "up1 "
  names -a -f label=team
  assert_eq "$output" "up1 "
  names -a -f label=team=web
  assert_eq "$output" "up1 "
  names -a -f label=team=db
  assert_eq "$output" ""
}

@test "ps -n and -l: the last created, any state" {
  names -n 2
  assert_eq "$output" "cr1 up1 "
  names -l
  assert_eq "$output" "cr1 "
  run --separate-stderr "$STRATA" ps -lq
  assert_match "$output" '^[0-9a-f]{12}$'
}

@test "ps --filter: bad filters are refused" {
  run --separate-stderr "$STRATA" ps -f bogus=1
  assert_failure
  assert_error_line "invalid filter 'bogus'"
  run --separate-stderr "$STRATA" ps -f status=zzz
  assert_failure
  run --separate-stderr "$STRATA" ps -f nonsense
  assert_failure
}
