#!/usr/bin/env bats
# run/create --memory-swap, --memory-reservation, --cpu-shares,
# --cpuset-cpus, --cpuset-mems and --oom-kill-disable: the container's
# cgroup files, what it sees inside, inspect's HostConfig, Docker's errors.

load helpers

setup() {
  containers_setup
}

teardown() {
  containers_teardown
}

cg() { cgroup_file "$@"; }

@test "cgroup flags: swap, soft limit, shares, cpuset and the OOM killer reach the container's cgroups" {
  "$STRATA" run -d --name cg -m 64m --memory-swap 128m --memory-reservation 32m \
    -c 512 --cpuset-cpus 0 --cpuset-mems 0 --oom-kill-disable busybox sleep 300 >/dev/null
  id=$("$STRATA" inspect -f '{{.Id}}' cg)
  if [ -d /sys/fs/cgroup/memory ]; then # v1 (the hybrid host)
    run cg "$id" memory memory.memsw.limit_in_bytes -
    assert_eq "$output" 134217728
    run cg "$id" memory memory.soft_limit_in_bytes -
    assert_eq "$output" 33554432
    run cg "$id" memory memory.oom_control -
    assert_eq "$output" "oom_kill_disable 1"
    run cg "$id" cpu cpu.shares -
    assert_eq "$output" 512
  else
    run cg "$id" memory - memory.swap.max
    assert_eq "$output" 67108864
    run cg "$id" memory - memory.low
    assert_eq "$output" 33554432
  fi
  run cg "$id" cpuset cpuset.cpus cpuset.cpus
  assert_eq "$output" 0
  # inside: the process may run on CPU 0 only, exec'd ones too
  run "$STRATA" exec cg grep Cpus_allowed_list /proc/self/status
  assert_match "$output" 'Cpus_allowed_list:[[:space:]]+0$'
  run "$STRATA" inspect -f '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.MemoryReservation}} {{.HostConfig.CpuShares}} {{.HostConfig.CpusetCpus}} {{.HostConfig.CpusetMems}} {{.HostConfig.OomKillDisable}}' cg
  assert_eq "$output" "67108864 134217728 33554432 512 0 0 true"
  # unset, Docker's zero values
  "$STRATA" create --name plain busybox true >/dev/null
  run "$STRATA" inspect -f '{{.HostConfig.MemorySwap}} {{.HostConfig.MemoryReservation}} {{.HostConfig.CpuShares}} "{{.HostConfig.CpusetCpus}}" {{.HostConfig.OomKillDisable}}' plain
  assert_eq "$output" '0 0 0 "" false'
  "$STRATA" rm -f cg >/dev/null
  [ ! -e "/sys/fs/cgroup/cpuset/strata/$id" ]
}

@test "cgroup flags: Docker's errors, exit 125, nothing created" {
  run --separate-stderr "$STRATA" run --rm --memory-swap 10m busybox true
  assert_status 125
  assert_contains "$stderr" "You should always set the Memory limit when using Memoryswap limit, see usage."
  run --separate-stderr "$STRATA" run --rm -m 20m --memory-swap 10m busybox true
  assert_status 125
  assert_contains "$stderr" "Minimum memoryswap limit should be larger than memory limit, see usage."
  run --separate-stderr "$STRATA" run --rm -m 20m --memory-reservation 30m busybox true
  assert_status 125
  assert_contains "$stderr" "Minimum memory limit can not be less than memory reservation limit, see usage."
  run --separate-stderr "$STRATA" run --rm --cpuset-cpus 0-999 busybox true
  assert_status 125
  assert_contains "$stderr" "Requested CPUs are not available - requested 0-999, available: "
  run --separate-stderr "$STRATA" run --rm --cpuset-mems 0,a busybox true
  assert_status 125
  assert_contains "$stderr" "Invalid value 0,a for cpuset mems"
  run --separate-stderr "$STRATA" create --cpu-shares lots busybox true
  assert_status 125
  assert_contains "$stderr" 'invalid argument "lots" for "-c, --cpu-shares" flag'
  run --separate-stderr "$STRATA" run --rm --memory-swap 1x -m 8m busybox true
  assert_status 125
  assert_contains "$stderr" "invalid size: '1x'"
  run "$STRATA" ps -aq
  assert_eq "$output" ""
  # -1: unlimited swap is fine
  run --separate-stderr "$STRATA" run --rm -m 20m --memory-swap -1 busybox true
  assert_status 0
}
