#!/usr/bin/env bats
# strata update: memory, CPU and PID limits changed in a running
# container's cgroups and in its config (inspect, later starts), the
# restart policy, and Docker's errors.

load helpers

setup() {
  containers_setup
}

teardown() {
  containers_teardown
}

mem_file() { cgroup_file "$1" memory memory.limit_in_bytes memory.max; }
pids_file() { cgroup_file "$1" pids pids.max pids.max; }

@test "update: a running container's memory, CPU and PID limits change live and in inspect" {
  "$STRATA" run -d --name up busybox sleep 300 >/dev/null
  id=$("$STRATA" inspect -f '{{.Id}}' up)
  run --separate-stderr "$STRATA" update -m 64m --cpus 0.5 --pids-limit 20 up
  assert_status 0
  assert_eq "$output" up
  run mem_file "$id"
  assert_eq "$output" 67108864
  run pids_file "$id"
  assert_eq "$output" 20
  run "$STRATA" inspect -f '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}' up
  assert_eq "$output" "67108864 500000000 20"
  # the container's processes are in that cgroup, and the limit bites,
  # exec'd processes included
  pid=$("$STRATA" inspect -f '{{.State.Pid}}' up)
  run grep -E '^[0-9]+:pids:' "/proc/$pid/cgroup"
  assert_match "$output" "pids:/strata/$id\$"
  run --separate-stderr "$STRATA" exec up sh -c 'i=0; while [ $i -lt 30 ]; do sleep 3 & i=$((i+1)); done; wait; echo done'
  assert_contains "$stderr" "can't fork"
  # -1 lifts the PID limit
  run --separate-stderr "$STRATA" container update --pids-limit -1 up
  assert_status 0
  run pids_file "$id"
  assert_eq "$output" max
  run "$STRATA" inspect -f '{{.HostConfig.PidsLimit}}' up
  assert_eq "$output" "<nil>"
  # 0 leaves a limit as it is (Docker's update)
  run --separate-stderr "$STRATA" update -m 0 --cpus 0 up
  assert_status 0
  run "$STRATA" inspect -f '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}' up
  assert_eq "$output" "67108864 500000000"
  run mem_file "$id"
  assert_eq "$output" 67108864
}

@test "update: a stopped container gets the limits at its next start; --restart changes its policy" {
  "$STRATA" run -d --name st --memory 32m busybox sleep 300 >/dev/null
  "$STRATA" stop -t 0 st >/dev/null
  run --separate-stderr "$STRATA" update --memory 48m --pids-limit 7 --restart on-failure:3 st
  assert_status 0
  run "$STRATA" inspect -f '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}' st
  assert_eq "$output" "50331648 7 on-failure:3"
  "$STRATA" start st >/dev/null
  id=$("$STRATA" inspect -f '{{.Id}}' st)
  run mem_file "$id"
  assert_eq "$output" 50331648
  run pids_file "$id"
  assert_eq "$output" 7
}

@test "update: Docker's errors; the other names are still updated" {
  "$STRATA" create --name c1 busybox true >/dev/null
  "$STRATA" create --name c2 --rm busybox true >/dev/null
  run --separate-stderr "$STRATA" update c1
  assert_status 1
  assert_contains "$stderr" "You must provide one or more flags when using this command."
  run --separate-stderr "$STRATA" update
  assert_status 1
  assert_contains "$stderr" '"strata update" requires at least 1 argument.'
  run --separate-stderr "$STRATA" update -m 1k c1
  assert_status 1
  assert_contains "$stderr" "Minimum memory limit allowed is 6MB"
  run --separate-stderr "$STRATA" update --restart sometimes c1
  assert_status 1
  run --separate-stderr "$STRATA" update --restart always c2
  assert_status 1
  assert_contains "$stderr" "Restart policy cannot be updated because AutoRemove is enabled for the container"
  run --separate-stderr "$STRATA" update -m 16m nosuch c1
  assert_status 1
  assert_contains "$stderr" "No such container: nosuch"
  assert_eq "$output" c1
  run "$STRATA" inspect -f '{{.HostConfig.Memory}}' c1
  assert_eq "$output" 16777216
}
