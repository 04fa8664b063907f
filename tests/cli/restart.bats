#!/usr/bin/env bats
# Restart policies (--restart), the monitor's back-off, stop/kill ending
# them, `start --all-restartable`, and a monitor killed with SIGKILL.

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

# monitor_of NAME: the pid of the monitor of `run -d --name NAME` started
# with this test's store (other tests may run containers of that name).
monitor_of() {
  local p
  for p in $(pgrep -f "strata run -d --name $1 "); do
    if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "STRATA_ROOT=$STRATA_ROOT"; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# restart_count NAME
restart_count() {
  "$STRATA" inspect -f '{{.RestartCount}}' "$1"
}

@test "restart: bad policies and --rm are refused as Docker refuses them" {
  run --separate-stderr "$STRATA" run --restart=bogus busybox true
  assert_status 125
  assert_error_line "invalid restart policy: unknown policy 'bogus'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"
  run --separate-stderr "$STRATA" create --restart always:3 busybox true
  assert_status 125
  assert_error_line "invalid restart policy: maximum retry count can only be used with 'on-failure'"
  run --separate-stderr "$STRATA" create --restart on-failure:x busybox true
  assert_status 125
  assert_error_line "invalid restart policy format: maximum retry count must be an integer"
  run --separate-stderr "$STRATA" create --restart on-failure:-1 busybox true
  assert_status 125
  assert_error_line "invalid restart policy: maximum retry count cannot be negative"
  run --separate-stderr "$STRATA" create --restart :3 busybox true
  assert_status 125
  assert_error_line "invalid restart policy format: no policy provided before colon"
  run --separate-stderr "$STRATA" run --rm --restart always busybox true
  assert_status 125
  assert_error_line "Conflicting options: --restart and --rm"
  # nothing was created by the refused commands
  run "$STRATA" ps -aq
  assert_eq "$output" ""
  # --rm with "no" is fine
  run "$STRATA" run --rm --restart no busybox echo ok
  assert_status 0
  assert_eq "$output" ok
}

@test "restart: the policy is stored and shown by inspect" {
  "$STRATA" create --name p1 --restart on-failure:3 busybox true >/dev/null
  "$STRATA" create --name p2 --restart unless-stopped busybox true >/dev/null
  "$STRATA" create --name p3 busybox true >/dev/null
  run "$STRATA" inspect -f '{{json .HostConfig.RestartPolicy}} {{.RestartCount}}' p1 p2 p3
  assert_eq "$output" '{"Name":"on-failure","MaximumRetryCount":3} 0
{"Name":"unless-stopped","MaximumRetryCount":0} 0
{"Name":"no","MaximumRetryCount":0} 0'
}

@test "restart: on-failure:N restarts a failing command N times, then it stays exited" {
  "$STRATA" run -d --name f1 --restart on-failure:2 busybox sh -c 'echo run; exit 3' >/dev/null
  for _ in $(seq 50); do
    [ "$("$STRATA" inspect -f '{{.State.Status}}' f1)" = exited ] && break
    sleep 0.1
  done
  run "$STRATA" inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}' f1
  assert_eq "$output" "exited 3 2"
  run "$STRATA" logs f1
  assert_eq "$output" $'run\nrun\nrun'
  # a zero exit is not restarted by on-failure
  "$STRATA" run -d --name ok --restart on-failure busybox true >/dev/null
  sleep 1
  run "$STRATA" inspect -f '{{.State.Status}} {{.RestartCount}}' ok
  assert_eq "$output" "exited 0"
}

@test "restart: always backs off a command that exits at once (no busy loop)" {
  "$STRATA" run -d --name loop --restart always busybox false >/dev/null
  sleep 2
  n=$(restart_count loop)
  # 100+200+400+800 ms of back-off fit in 2 s: a handful, never hundreds
  [ "$n" -ge 2 ] && [ "$n" -le 9 ] || {
    echo "restart count after 2 s: $n"
    return 1
  }
  # while it waits, ps says so as Docker does
  for _ in $(seq 60); do
    st=$("$STRATA" ps --format '{{.Status}}' --filter name=loop)
    case $st in Restarting*) break ;; esac
    sleep 0.05
  done
  [[ $st =~ ^Restarting\ \(1\)\ .*\ ago$ ]] || {
    echo "status: $st"
    return 1
  }
  run "$STRATA" ps -q --filter status=restarting
  assert_eq "$output" "$("$STRATA" inspect -f '{{printf "%.12s" .Id}}' loop)"
  run "$STRATA" inspect -f '{{.State.Status}} {{.State.Running}} {{.State.Restarting}} {{.State.Pid}}' loop
  assert_eq "$output" "restarting true true 0"
  # the monitor sleeps: it used almost no CPU
  mon=$(monitor_of loop)
  ticks=$(awk '{print $14 + $15}' "/proc/$mon/stat")
  [ "$ticks" -lt 100 ] || {
    echo "monitor used $ticks ticks"
    return 1
  }
  # what needs a process says it restarts; rm needs -f
  for _ in $(seq 60); do
    run --separate-stderr "$STRATA" exec loop true
    [ "$status" -ne 0 ] && break
    sleep 0.05
  done
  assert_error_line "is restarting, wait until the container is running"
  for _ in $(seq 60); do
    run --separate-stderr "$STRATA" rm loop
    [[ $stderr == *"container is restarting: stop the container before removing or force remove"* ]] && break
    sleep 0.05
  done
  [[ $stderr == *"container is restarting: stop the container before removing or force remove"* ]]
  # stop ends it, also while it waits to restart
  run "$STRATA" stop -t 1 loop
  assert_status 0
  run "$STRATA" inspect -f '{{.State.Status}} {{.State.ExitCode}}' loop
  assert_eq "$output" "exited 1"
  n=$(restart_count loop)
  sleep 1
  assert_eq "$(restart_count loop)" "$n"
}

@test "restart: stop ends an always container that is running; start runs it again" {
  "$STRATA" run -d --name a1 --restart always busybox sleep 100 >/dev/null
  "$STRATA" stop -t 1 a1 >/dev/null
  sleep 0.5
  run "$STRATA" inspect -f '{{.State.Status}} {{.RestartCount}}' a1
  assert_eq "$output" "exited 0"
  "$STRATA" start a1 >/dev/null
  run "$STRATA" inspect -f '{{.State.Status}}' a1
  assert_eq "$output" running
  # killed by the user: not restarted either
  "$STRATA" kill a1 >/dev/null
  sleep 0.5
  run "$STRATA" inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}' a1
  assert_eq "$output" "exited 137 0"
}

@test "restart: a process killed from outside is restarted with a new pid" {
  "$STRATA" run -d --name k1 --restart unless-stopped busybox sleep 100 >/dev/null
  pid=$("$STRATA" inspect -f '{{.State.Pid}}' k1)
  kill -9 "$pid"
  for _ in $(seq 50); do
    new=$("$STRATA" inspect -f '{{.State.Pid}}' k1)
    [ "$new" != 0 ] && [ "$new" != "$pid" ] && break
    sleep 0.1
  done
  run "$STRATA" inspect -f '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}' k1
  assert_eq "$output" "running 1 0"
  [ "$new" != "$pid" ] && kill -0 "$new"
  # exec reaches the new process
  run "$STRATA" exec k1 echo inside
  assert_eq "$output" inside
  "$STRATA" stop -t 1 k1 >/dev/null
  run "$STRATA" inspect -f '{{.State.Status}}' k1
  assert_eq "$output" exited
}

@test "restart: start --all-restartable starts always and unless-stopped (not user-stopped) containers" {
  "$STRATA" run -d --name al --restart always busybox sleep 100 >/dev/null
  "$STRATA" run -d --name us --restart unless-stopped busybox sleep 100 >/dev/null
  "$STRATA" run -d --name us2 --restart unless-stopped busybox sleep 100 >/dev/null
  "$STRATA" run -d --name no busybox sleep 100 >/dev/null
  "$STRATA" run -d --name al2 --restart always busybox sleep 100 >/dev/null
  "$STRATA" create --name cr --restart always busybox sleep 100 >/dev/null
  "$STRATA" stop -t 1 us2 >/dev/null
  # Docker: an always container stopped by the user comes back when the
  # daemon starts; an unless-stopped one does not
  "$STRATA" stop -t 1 al2 >/dev/null
  # a reboot: every process and monitor gone without a word
  for c in al us no; do
    mon=$(monitor_of $c)
    pid=$("$STRATA" inspect -f '{{.State.Pid}}' $c)
    kill -9 "$mon"
    kill -9 "$pid" 2>/dev/null || true
  done
  sleep 0.3
  run "$STRATA" ps --format '{{.Names}}'
  assert_eq "$output" ""
  run --separate-stderr "$STRATA" start --all-restartable
  assert_status 0
  assert_eq "$(echo "$output" | sort | tr '\n' ' ')" "al al2 us "
  run "$STRATA" ps --format '{{.Names}}'
  assert_eq "$(echo "$output" | sort | tr '\n' ' ')" "al al2 us "
  # running ones are left alone
  run --separate-stderr "$STRATA" start --all-restartable
  assert_status 0
  assert_eq "$output" ""
  # with names too it is an error, as for any unknown combination
  run --separate-stderr "$STRATA" start --all-restartable al
  assert_status 1
}

@test "monitor killed with SIGKILL: the container is reported exited, not running forever" {
  "$STRATA" run -d --name m1 busybox sleep 100 >/dev/null
  pid=$("$STRATA" inspect -f '{{.State.Pid}}' m1)
  mon=$(monitor_of m1)
  # the container's process is the monitor's child
  assert_eq "$(awk '/^PPid:/ {print $2}' "/proc/$pid/status")" "$mon"
  kill -9 "$mon"
  sleep 0.3
  run "$STRATA" inspect -f '{{.State.Status}} {{.State.Running}} {{.State.ExitCode}}' m1
  assert_eq "$output" "exited false 255"
  # and its process went with the monitor
  ! kill -0 "$pid" 2>/dev/null
  run "$STRATA" ps -q
  assert_eq "$output" ""
  # it can be started again
  "$STRATA" start m1 >/dev/null
  run "$STRATA" inspect -f '{{.State.Status}}' m1
  assert_eq "$output" running
}

@test "monitor killed with SIGKILL while a restart policy waits: reported exited" {
  "$STRATA" run -d --name mr --restart always busybox sh -c 'sleep 0.2; exit 4' >/dev/null
  mon=$(monitor_of mr)
  for _ in $(seq 40); do
    [ "$(restart_count mr)" -ge 1 ] && break
    sleep 0.1
  done
  kill -9 "$mon"
  sleep 0.5
  run "$STRATA" inspect -f '{{.State.Status}} {{.State.Running}}' mr
  assert_eq "$output" "exited false"
  n=$(restart_count mr)
  sleep 1
  assert_eq "$(restart_count mr)" "$n"
}

@test "restart: an attached run returns at the first exit; a monitor restarts it after" {
  run --separate-stderr "$STRATA" run --name att --restart on-failure:2 busybox sh -c 'echo run; exit 3'
  assert_status 3
  assert_eq "$output" run
  for _ in $(seq 50); do
    [ "$("$STRATA" inspect -f '{{.State.Status}} {{.RestartCount}}' att)" = "exited 2" ] && break
    sleep 0.1
  done
  run "$STRATA" inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}' att
  assert_eq "$output" "exited 3 2"
  # the two restarts ran detached: their output is in the log
  run "$STRATA" logs att
  assert_eq "$output" $'run\nrun'
  # a success is not restarted by on-failure
  run "$STRATA" run --name att2 --restart on-failure busybox true
  assert_status 0
  sleep 0.5
  run "$STRATA" inspect -f '{{.State.Status}} {{.RestartCount}}' att2
  assert_eq "$output" "exited 0"
}

@test "restart: stop during the first back-off after an attached run ends it" {
  run "$STRATA" run --name att3 --restart always busybox sh -c 'exit 5'
  assert_status 5
  run "$STRATA" stop -t 1 att3
  assert_status 0
  sleep 0.5
  run "$STRATA" inspect -f '{{.State.Status}} {{.State.ExitCode}}' att3
  assert_eq "$output" "exited 5"
  n=$(restart_count att3)
  sleep 0.5
  assert_eq "$(restart_count att3)" "$n"
}
