#!/usr/bin/env bats
# --log-driver json-file|local|none and --log-opt max-size/max-file.

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

@test "log-opt max-size/max-file: the log rotates, at most max-file files are kept, logs reads them in order" {
  # 300 lines of ~100 bytes of records each, one write per line
  "$STRATA" run -d --name rot --log-opt max-size=2k --log-opt max-file=3 busybox \
    sh -c 'i=1; while [ $i -le 300 ]; do echo line$i; i=$((i+1)); usleep 2000; done' >/dev/null
  "$STRATA" wait rot >/dev/null
  dir=$STRATA_ROOT/containers/$("$STRATA" inspect -f '{{.Id}}' rot)
  [ -e "$dir/container.log.1" ]
  [ -e "$dir/container.log.2" ]
  [ ! -e "$dir/container.log.3" ]
  for f in "$dir"/container.log*; do
    size=$(stat -c %s "$f")
    [ "$size" -le 2100 ] || { echo "$f: $size bytes"; return 1; }
  done
  run --separate-stderr "$STRATA" logs rot
  assert_status 0
  # the last line is there, the first ones were rotated away, order kept
  assert_eq "$(echo "$output" | tail -n1)" line300
  first=$(echo "$output" | head -n1 | sed 's/line//')
  [ "$first" -gt 1 ]
  expected=$(seq "$first" 300 | sed 's/^/line/')
  assert_eq "$output" "$expected"
  # --tail counts across the files
  run --separate-stderr "$STRATA" logs --tail 40 rot
  assert_eq "$output" "$(seq 261 300 | sed 's/^/line/')"
  run --separate-stderr "$STRATA" inspect -f '{{json .HostConfig.LogConfig}}' rot
  assert_eq "$output" '{"Type":"json-file","Config":{"max-size":"2k","max-file":"3"}}'
}

@test "log-driver none: nothing is kept and logs fails with Docker's error; local reads back" {
  "$STRATA" run -d --name quiet --log-driver none busybox echo hidden >/dev/null
  "$STRATA" wait quiet >/dev/null
  run --separate-stderr "$STRATA" logs quiet
  assert_failure
  assert_eq "$stderr" "Error: configured logging driver does not support reading"
  dir=$STRATA_ROOT/containers/$("$STRATA" inspect -f '{{.Id}}' quiet)
  [ ! -s "$dir/container.log" ]
  run --separate-stderr "$STRATA" inspect -f '{{.HostConfig.LogConfig.Type}}' quiet
  assert_eq "$output" none
  "$STRATA" run -d --name loc --log-driver local busybox echo kept >/dev/null
  "$STRATA" wait loc >/dev/null
  run --separate-stderr "$STRATA" logs loc
  assert_status 0
  assert_eq "$output" kept
  # the default is json-file with no options
  "$STRATA" create --name plain busybox true >/dev/null
  run --separate-stderr "$STRATA" inspect -f '{{json .HostConfig.LogConfig}}' plain
  assert_eq "$output" '{"Type":"json-file","Config":{}}'
}

@test "log-driver and log-opt: bad values are refused before anything is made" {
  run --separate-stderr "$STRATA" run --log-driver syslog busybox true
  assert_failure
  assert_contains "$stderr" "no log driver named 'syslog' is registered"
  run --separate-stderr "$STRATA" run --log-opt max-size=lots busybox true
  assert_failure
  assert_contains "$stderr" "invalid max-size: lots"
  run --separate-stderr "$STRATA" run --log-opt max-file=0 busybox true
  assert_failure
  assert_contains "$stderr" "max-file"
  run --separate-stderr "$STRATA" create --log-opt colour=blue busybox true
  assert_failure
  assert_contains "$stderr" "unknown log opt 'colour' for json-file log driver"
  run --separate-stderr "$STRATA" create --log-driver none --log-opt max-size=1m busybox true
  assert_failure
  assert_contains "$stderr" "unknown log opt 'max-size' for none log driver"
  run --separate-stderr "$STRATA" ps -aq
  assert_eq "$output" ""
  run --separate-stderr "$STRATA" run --help
  assert_match "$(grep -e '--log-driver ' <<<"$output")" '^      --log-driver string +Logging driver for the container$'
  assert_match "$(grep -e '--log-opt ' <<<"$output")" '^      --log-opt list +Log driver options$'
}
