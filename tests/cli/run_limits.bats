#!/usr/bin/env bats
# --memory, --cpus, --pids-limit through cgroups (v1 hierarchies where the
# host has them, the unified v2 hierarchy otherwise), and their cleanup.

load helpers

setup_file() {
  [ "$(id -u)" = 0 ] || return 0
  hybrid_cgroups_for_crun # for the --runtime crun case
}

setup() {
  strata_setup
  if [ "$(id -u)" != 0 ]; then
    skip "containers need root here"
  fi
  import_busybox busybox >/dev/null
}

# cg_file CONTROLLER ID V1FILE V2FILE: the path of a container's cgroup
# file, wherever this host keeps the controller.
cg_file() {
  local c=$1 id=$2 v1=$3 v2=$4 u
  if [ -e "/sys/fs/cgroup/$c/tasks" ]; then
    echo "/sys/fs/cgroup/$c/strata/$id/$v1"
    return
  fi
  for u in /sys/fs/cgroup /sys/fs/cgroup/unified; do
    if grep -qw "$c" "$u/cgroup.controllers" 2>/dev/null; then
      echo "$u/strata/$id/$v2"
      return
    fi
  done
  echo "no-$c-controller"
}

@test "limits: --memory, --cpus and --pids-limit are written to the container's cgroups" {
  run --separate-stderr "$STRATA" run -d --name lim --memory 32m --cpus 0.5 \
    --pids-limit 10 busybox sleep 30
  assert_status 0
  id=$output
  mem=$(cg_file memory "$id" memory.limit_in_bytes memory.max)
  pids=$(cg_file pids "$id" pids.max pids.max)
  assert_eq "$(cat "$mem")" "33554432"
  assert_eq "$(cat "$pids")" "10"
  if [ -e /sys/fs/cgroup/cpu/tasks ]; then
    assert_eq "$(cat "/sys/fs/cgroup/cpu/strata/$id/cpu.cfs_quota_us")" "50000"
    assert_eq "$(cat "/sys/fs/cgroup/cpu/strata/$id/cpu.cfs_period_us")" "100000"
  else
    assert_eq "$(cat "$(cg_file cpu "$id" x cpu.max)")" "50000 100000"
  fi
  # the container's process is in them
  pid=$(head -1 "$(dirname "$pids")/cgroup.procs")
  [ -n "$pid" ]
  assert_eq "$(cat /proc/"$pid"/comm)" "sleep"
  # and they go with it
  "$STRATA" rm -f lim
  [ ! -e "$(dirname "$mem")" ]
  [ ! -e "$(dirname "$pids")" ]
}

@test "limits: the container sees its own cgroup" {
  run --separate-stderr "$STRATA" run --rm --pids-limit 50 busybox cat /proc/self/cgroup
  assert_status 0
  assert_match "$output" 'pids:/strata/[0-9a-f]{64}'
}

@test "limits: --pids-limit 10 stops a fork bomb inside, not outside" {
  bomb='i=0; while [ $i -lt 30 ]; do sleep 3 & i=$((i+1)); done; wait; echo done'
  run --separate-stderr "$STRATA" run --rm --pids-limit 10 busybox sh -c "$bomb"
  assert_contains "$stderr" "can't fork"
  run --separate-stderr "$STRATA" run --rm busybox sh -c "$bomb"
  assert_status 0
  assert_eq "$stderr" ""
  assert_eq "$output" "done"
}

@test "limits: --memory stops a process that allocates more" {
  run --separate-stderr "$STRATA" run --rm --memory 16m busybox sh -c \
    'head -c 64m /dev/zero | tail >/dev/null; echo $?'
  # tail buffers its input: it is killed (137) or fails
  assert_match "$output" '^(137|1)$'
  run --separate-stderr "$STRATA" run --rm busybox sh -c \
    'head -c 64m /dev/zero | tail >/dev/null; echo $?'
  assert_eq "$output" "0"
}

@test "limits: a --rm container leaves no cgroup behind" {
  run --separate-stderr "$STRATA" run --rm --memory 32m --pids-limit 20 busybox cat /proc/self/cgroup
  assert_status 0
  id=$(printf '%s\n' "$output" | sed -n 's|.*pids:/strata/\([0-9a-f]*\)$|\1|p')
  [ -n "$id" ]
  [ ! -e "$(dirname "$(cg_file pids "$id" pids.max pids.max)")" ]
  [ ! -e "$(dirname "$(cg_file memory "$id" memory.limit_in_bytes memory.max)")" ]
}

@test "limits: bad values are refused" {
  run --separate-stderr "$STRATA" run --rm --memory 12q busybox true
  assert_status 125
  assert_contains "$stderr" 'invalid size'
  run --separate-stderr "$STRATA" run --rm --memory 1k busybox true
  assert_status 125
  assert_error_line 'Minimum memory limit allowed is 6MB'
  run --separate-stderr "$STRATA" run --rm --cpus abc busybox true
  assert_status 125
  run --separate-stderr "$STRATA" run --rm --cpus 1000 busybox true
  assert_status 125
  assert_error_line 'Range of CPUs'
  run --separate-stderr "$STRATA" run --rm --pids-limit x busybox true
  assert_status 125
}

@test "limits: through --runtime crun too" {
  command -v crun >/dev/null || skip "crun is not installed"
  run --separate-stderr "$STRATA" run -d --runtime crun --memory 32m --pids-limit 10 busybox sleep 30
  assert_status 0
  id=$output
  assert_eq "$(cat "$(cg_file memory "$id" memory.limit_in_bytes memory.max)")" "33554432"
  assert_eq "$(cat "$(cg_file pids "$id" pids.max pids.max)")" "10"
  "$STRATA" rm -f "$id"
  [ ! -e "$(dirname "$(cg_file pids "$id" pids.max pids.max)")" ]
}
