#!/usr/bin/env bats
# run/create flags of issue 11 (more of `docker run`): --shm-size and
# --oom-score-adj, each with its effect inside the container, Docker's
# inspect field and Docker's error for a bad value.

load helpers

setup() {
  containers_setup
}

teardown() {
  containers_teardown
}

@test "--shm-size: the size of /dev/shm, HostConfig.ShmSize (default 64 MiB); a bad size is refused" {
  run --separate-stderr "$STRATA" run --rm --pull never --shm-size 128m busybox sh -c 'df -k /dev/shm | tail -1'
  assert_status 0
  assert_match "$output" '^shm +131072 '
  run --separate-stderr "$STRATA" run --rm --pull never busybox sh -c 'df -k /dev/shm | tail -1'
  assert_match "$output" '^shm +65536 '
  "$STRATA" create --pull never --name c1 --shm-size 1g busybox true >/dev/null
  "$STRATA" create --pull never --name c2 busybox true >/dev/null
  run --separate-stderr "$STRATA" inspect -f '{{.HostConfig.ShmSize}}' c1 c2
  assert_eq "$output" $'1073741824\n67108864'
  run --separate-stderr "$STRATA" run --rm --pull never --shm-size lots busybox true
  assert_status 125
  assert_contains "$stderr" "invalid argument \"lots\" for \"--shm-size\" flag: invalid size: 'lots'"
}

@test "--oom-score-adj: the process's oom_score_adj, HostConfig.OomScoreAdj; out of range refused" {
  run --separate-stderr "$STRATA" run --rm --pull never --oom-score-adj 500 busybox cat /proc/self/oom_score_adj
  assert_status 0
  assert_eq "$output" "500"
  # lowering it needs CAP_SYS_RESOURCE, which some hosts (sandboxes) lack:
  # then a clear error
  run --separate-stderr "$STRATA" run --rm --pull never --oom-score-adj -300 busybox cat /proc/self/oom_score_adj
  if sh -c 'echo -1 >/proc/self/oom_score_adj' 2>/dev/null; then
    assert_eq "$output" "-300"
  else
    assert_status 125
    assert_contains "$stderr" "set oom_score_adj to -300: Permission denied"
  fi
  "$STRATA" create --pull never --name c1 --oom-score-adj -200 busybox true >/dev/null
  "$STRATA" create --pull never --name c2 busybox true >/dev/null
  run --separate-stderr "$STRATA" inspect -f '{{.HostConfig.OomScoreAdj}}' c1 c2
  assert_eq "$output" $'-200\n0'
  run --separate-stderr "$STRATA" run --rm --pull never --oom-score-adj 2000 busybox true
  assert_status 125
  assert_eq "$stderr" "Error: Invalid value 2000, range for oom score adj is [-1000, 1000]"
  run --separate-stderr "$STRATA" run --rm --pull never --oom-score-adj x busybox true
  assert_status 125
  assert_contains "$stderr" 'invalid argument "x" for "--oom-score-adj" flag'
}

@test "-a/--attach: only the streams named reach the terminal; Config.Attach*; bad stream and -d refused" {
  run --separate-stderr "$STRATA" run --rm --pull never -a stdout busybox sh -c 'echo out; echo err >&2; exit 2'
  assert_status 2
  assert_eq "$output" out
  assert_eq "$stderr" ""
  run --separate-stderr "$STRATA" run --rm --pull never -a STDERR busybox sh -c 'echo out; echo err >&2'
  assert_status 0
  assert_eq "$output" ""
  assert_eq "$stderr" err
  run --separate-stderr "$STRATA" run --rm --pull never -i -a stdin -a stdout busybox cat < <(echo typed)
  assert_eq "$output" typed
  "$STRATA" create --pull never --name ac -a stderr busybox true >/dev/null
  "$STRATA" create --pull never --name dflt busybox true >/dev/null
  run "$STRATA" inspect -f '{{.Config.AttachStdin}} {{.Config.AttachStdout}} {{.Config.AttachStderr}}' ac dflt
  assert_eq "$output" $'false false true\nfalse true true'
  run --separate-stderr "$STRATA" run --pull never -a foo busybox true
  assert_status 125
  assert_contains "$stderr" 'invalid argument "foo" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR'
  run --separate-stderr "$STRATA" run -d --pull never -a stdout busybox true
  assert_status 125
  assert_contains "$stderr" "Conflicting options: -a and -d"
}
