#!/usr/bin/env bats
# Health checks: --health-* flags and the image's HEALTHCHECK, run by the
# container's monitor; status in ps, inspect's State.Health and
# `ps --filter health=`.

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

# wait_health NAME STATUS: up to 10 s
wait_health() {
  for _ in $(seq 100); do
    [ "$("$STRATA" inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$1")" = "$2" ] && return 0
    sleep 0.1
  done
  echo "health of $1: $("$STRATA" inspect -f '{{json .State.Health}}' "$1"), expected $2"
  return 1
}

@test "health: bad flags are refused as Docker refuses them" {
  run --separate-stderr "$STRATA" run --no-healthcheck --health-cmd true busybox true
  assert_status 125
  [[ $stderr == *"--no-healthcheck conflicts with --health-* options"* ]]
  run --separate-stderr "$STRATA" run --health-interval=-1s --health-cmd true busybox true
  assert_status 125
  assert_error_line "--health-interval cannot be negative"
  run --separate-stderr "$STRATA" run --health-timeout soon busybox true
  assert_status 125
  assert_error_line 'invalid argument "soon" for "--health-timeout" flag: time: invalid duration "soon"'
  run --separate-stderr "$STRATA" run --health-retries x busybox true
  assert_status 125
  assert_error_line 'invalid argument "x" for "--health-retries" flag: strconv.ParseInt: parsing "x": invalid syntax'
  run "$STRATA" ps -aq
  assert_eq "$output" ""
}

@test "health: starting, then healthy; ps shows it and filters on it" {
  "$STRATA" run -d --name hc --health-cmd 'test -e /ready' --health-interval 200ms \
    --health-retries 100 busybox sh -c 'sleep 1; touch /ready; sleep 100' >/dev/null
  run "$STRATA" ps --format '{{.Status}}' --filter name=hc
  [[ $output =~ ^Up\ .*\ \(health:\ starting\)$ ]] || {
    echo "status: $output"
    return 1
  }
  run "$STRATA" ps -q --filter health=starting
  assert_eq "$output" "$("$STRATA" inspect -f '{{printf "%.12s" .Id}}' hc)"
  wait_health hc healthy
  run "$STRATA" ps --format '{{.Status}}' --filter name=hc
  [[ $output =~ ^Up\ .*\ \(healthy\)$ ]] || {
    echo "status: $output"
    return 1
  }
  run "$STRATA" ps -q --filter health=healthy
  assert_eq "$output" "$("$STRATA" inspect -f '{{printf "%.12s" .Id}}' hc)"
  run "$STRATA" ps -q --filter health=unhealthy
  assert_eq "$output" ""
  run --separate-stderr "$STRATA" ps --filter health=bogus
  assert_status 1
  assert_error_line "Unrecognised filter value for health: bogus"
  # the log: at most 5 entries, the last one a success
  run "$STRATA" inspect -f '{{len .State.Health.Log}} {{(index .State.Health.Log 0).ExitCode}} {{.State.Health.FailingStreak}}' hc
  [[ $output =~ ^[1-5]\ [01]\ 0$ ]] || {
    echo "log: $output"
    return 1
  }
  sleep 1.5
  run "$STRATA" inspect -f '{{len .State.Health.Log}}' hc
  assert_eq "$output" 5
  run "$STRATA" inspect -f '{{json .Config.Healthcheck}}' hc
  assert_eq "$output" '{"Test":["CMD-SHELL","test -e /ready"],"Interval":200000000,"Retries":100}'
  # a container without a health check: health=none
  "$STRATA" run -d --name plain busybox sleep 100 >/dev/null
  run "$STRATA" ps -q --filter health=none
  assert_eq "$output" "$("$STRATA" inspect -f '{{printf "%.12s" .Id}}' plain)"
  run "$STRATA" inspect -f '{{.State.Health}}' plain
  assert_eq "$output" "<no value>"
}

@test "health: failures in a row make it unhealthy; output and exit code are logged" {
  "$STRATA" run -d --name bad --health-cmd 'echo sick; exit 3' --health-interval 100ms \
    --health-retries 2 busybox sleep 100 >/dev/null
  wait_health bad unhealthy
  run "$STRATA" inspect -f '{{with index .State.Health.Log 0}}{{.ExitCode}} {{.Output}}{{end}}' bad
  assert_eq "$output" "3 sick"
  run "$STRATA" inspect -f '{{ge .State.Health.FailingStreak 2}}' bad
  assert_eq "$output" true
  run "$STRATA" ps --format '{{.Status}}' --filter health=unhealthy
  [[ $output =~ ^Up\ .*\ \(unhealthy\)$ ]] || {
    echo "status: $output"
    return 1
  }
}

@test "health: a probe over its timeout is killed and counts as a failure" {
  "$STRATA" run -d --name slow --health-cmd 'sleep 5' --health-interval 100ms \
    --health-timeout 200ms --health-retries 1 busybox sleep 100 >/dev/null
  wait_health slow unhealthy
  run "$STRATA" inspect -f '{{with index .State.Health.Log 0}}{{.ExitCode}} {{.Output}}{{end}}' slow
  assert_eq "$output" "-1 Health check exceeded timeout (200ms)"
}

@test "health: failures within the start period do not count" {
  "$STRATA" run -d --name sp --health-cmd false --health-interval 100ms \
    --health-retries 1 --health-start-period 1s busybox sleep 100 >/dev/null
  sleep 0.6
  run "$STRATA" inspect -f '{{.State.Health.Status}} {{.State.Health.FailingStreak}}' sp
  assert_eq "$output" "starting 0"
  wait_health sp unhealthy
}

@test "health: the image's HEALTHCHECK is used; flags override parts; --no-healthcheck disables it" {
  cat >"$BATS_TEST_TMPDIR/Dockerfile" <<'EOF'
FROM busybox
HEALTHCHECK --interval=100ms --retries=1 CMD ["sh", "-c", "exit 0"]
EOF
  "$STRATA" build -q -t hcimg "$BATS_TEST_TMPDIR" >/dev/null
  "$STRATA" run -d --name img hcimg sleep 100 >/dev/null
  wait_health img healthy
  # the command comes from the flag, the interval from the image
  "$STRATA" run -d --name over --health-cmd 'exit 1' hcimg sleep 100 >/dev/null
  wait_health over unhealthy
  run "$STRATA" inspect -f '{{json .Config.Healthcheck}}' over
  assert_eq "$output" '{"Test":["CMD-SHELL","exit 1"],"Interval":100000000,"Retries":1}'
  "$STRATA" run -d --name off --no-healthcheck hcimg sleep 100 >/dev/null
  sleep 0.5
  run "$STRATA" inspect -f '{{.State.Health}} {{json .Config.Healthcheck}}' off
  assert_eq "$output" '<no value> {"Test":["NONE"]}'
  run "$STRATA" ps --format '{{.Status}}' --filter name=off
  [[ $output =~ ^Up\ [^\(]*$ ]]
}
