#!/usr/bin/env bats
# pause, unpause and stats through the real binary (needs root: the
# freezer and the container's cgroups).

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

# a counter the container bumps every 0.1 s; returns once it counts (a
# fixed wait was too short for a loaded machine: the first read found no
# /tmp/c yet)
counter() {
  "$STRATA" run -d --name "$1" busybox sh -c \
    'i=0; while :; do i=$((i+1)); echo $i >/tmp/c; sleep 0.1; done' >/dev/null
  local _ n
  for _ in $(seq 100); do
    n=$(read_counter "$1" 2>/dev/null) || n=
    [ -n "$n" ] && [ "$n" -ge 2 ] && return 0
    sleep 0.1
  done
  echo "the counter of $1 never counted" >&2
  return 1
}

read_counter() {
  "$STRATA" cp "$1":/tmp/c - | tar -xOf -
}

@test "pause: the container's processes stop; ps, inspect and filters say paused; unpause resumes them" {
  counter pz
  run --separate-stderr "$STRATA" pause pz
  assert_status 0
  assert_eq "$output" "pz"
  a=$(read_counter pz)
  sleep 1
  b=$(read_counter pz)
  assert_eq "$b" "$a"
  run --separate-stderr "$STRATA" ps --format '{{.Status}}|{{.State}}'
  assert_match "$output" '^Up [0-9a-zA-Z ]+ \(Paused\)\|paused$'
  run --separate-stderr "$STRATA" inspect -f '{{.State.Status}} {{.State.Paused}} {{.State.Running}}' pz
  assert_eq "$output" "paused true true"
  run --separate-stderr "$STRATA" ps -q --filter status=paused
  assert_eq "$output" "$(short_id "$("$STRATA" inspect -f '{{.Id}}' pz)")"
  run --separate-stderr "$STRATA" ps -q --filter status=running
  assert_eq "$output" ""
  run --separate-stderr "$STRATA" container unpause pz
  assert_status 0
  assert_eq "$output" "pz"
  sleep 0.6
  c=$(read_counter pz)
  [ "$c" -gt "$b" ] || { echo "counter did not resume: $b -> $c"; return 1; }
  run --separate-stderr "$STRATA" inspect -f '{{.State.Status}} {{.State.Paused}}' pz
  assert_eq "$output" "running false"
  run --separate-stderr "$STRATA" ps --format '{{.Status}}'
  assert_match "$output" '^Up [0-9a-zA-Z ]+$'
}

@test "pause/unpause: Docker's errors for a paused, unpaused, stopped or missing container" {
  counter pe
  id=$("$STRATA" inspect -f '{{.Id}}' pe)
  run --separate-stderr "$STRATA" unpause pe
  assert_status 1
  assert_error_line "Container $id is not paused"
  "$STRATA" container pause pe >/dev/null
  run --separate-stderr "$STRATA" pause pe
  assert_status 1
  assert_error_line "Container $id is already paused"
  run --separate-stderr "$STRATA" exec pe true
  assert_failure
  assert_error_line "Container $id is paused, unpause the container before exec"
  "$STRATA" create --name pc busybox true >/dev/null
  cid=$("$STRATA" inspect -f '{{.Id}}' pc)
  run --separate-stderr "$STRATA" pause pc
  assert_status 1
  assert_error_line "Container $cid is not running"
  run --separate-stderr "$STRATA" unpause pc
  assert_status 1
  assert_error_line "Container $cid is not running"
  run --separate-stderr "$STRATA" pause nosuch
  assert_status 1
  assert_error_line "No such container: nosuch"
  run --separate-stderr "$STRATA" pause
  assert_failure
  assert_contains "$stderr" '"strata pause" requires at least 1 argument.'
}

@test "pause: stop, kill and rm -f end a paused container; commit keeps it paused" {
  counter ps1
  counter ps2
  counter ps3
  "$STRATA" pause ps1 ps2 ps3 >/dev/null
  run --separate-stderr "$STRATA" commit ps3 paused-img
  assert_status 0
  run --separate-stderr "$STRATA" inspect -f '{{.State.Status}}' ps3
  assert_eq "$output" "paused"
  run --separate-stderr timeout 20 "$STRATA" stop -t 1 ps1
  assert_status 0
  run --separate-stderr "$STRATA" inspect -f '{{.State.Status}} {{.State.Paused}}' ps1
  assert_eq "$output" "exited false"
  run --separate-stderr timeout 20 "$STRATA" kill ps2
  assert_status 0
  run --separate-stderr timeout 20 "$STRATA" wait ps2
  assert_eq "$output" "137"
  run --separate-stderr timeout 20 "$STRATA" rm -f ps3
  assert_status 0
  run --separate-stderr "$STRATA" ps -aq --filter name=ps3
  assert_eq "$output" ""
  # a stopped container that had been paused starts unpaused
  "$STRATA" start ps1 >/dev/null
  sleep 0.5
  run --separate-stderr "$STRATA" inspect -f '{{.State.Status}}' ps1
  assert_eq "$output" "running"
}

@test "stats --no-stream: Docker's columns; memory, limit, PIDs and CPU from the container" {
  "$STRATA" run -d --name sm -m 64m --pids-limit 50 --network none busybox \
    sh -c 'x=$(head -c 20000000 /dev/zero | tr "\0" a); sleep 1000; echo ${#x}' >/dev/null
  "$STRATA" run -d --name sp --network none busybox sh -c 'sleep 1000; echo done' >/dev/null
  "$STRATA" run -d --name sb --network none busybox sh -c 'while :; do :; done' >/dev/null
  "$STRATA" create --name sx busybox true >/dev/null
  sleep 2
  run --separate-stderr "$STRATA" stats --no-stream
  assert_status 0
  # the columns as Docker's tabwriter lays them out: each as wide as its
  # widest cell (BLOCK I/O depends on what the disk did) plus 3 spaces
  assert_match "${lines[0]}" '^CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT     MEM %     NET I/O   BLOCK I/O {5,}PIDS$'
  assert_eq "${#lines[@]}" 4 # the created one only with -a
  run --separate-stderr "$STRATA" container stats --no-stream --format '{{.Container}}|{{.Name}}|{{.MemUsage}}|{{.MemPerc}}|{{.NetIO}}|{{.PIDs}}' sm
  assert_status 0
  # the 20 MB the shell holds, in a 64MiB limit; the shell and its sleep
  assert_match "$output" '^sm\|sm\|(19|[2-5][0-9])(\.[0-9]+)?MiB / 64MiB\|[0-9]+\.[0-9]{2}%\|0B / 0B\|2$'
  # without a limit: the host's memory; PIDs counted from its processes
  total=$(awk '/MemTotal/ {print $2 * 1024}' /proc/meminfo)
  run --separate-stderr "$STRATA" stats --no-stream --format '{{.MemUsage}}|{{.PIDs}}' sp
  assert_match "$output" "^[0-9.]+(KiB|MiB) / [0-9.]+GiB\\|2\$"
  limit=${output#* / }; limit=${limit%%GiB*}
  awk -v l="$limit" -v t="$total" 'BEGIN { d = l * 1073741824 - t; exit !(d < 0.01 * t && d > -0.01 * t) }'
  # a busy loop uses CPU, a sleep none
  run --separate-stderr "$STRATA" stats --no-stream --format '{{.Name}} {{.CPUPerc}}' sb sp
  busy=$(echo "$output" | awk '$1 == "sb" {print $2 + 0}')
  idle=$(echo "$output" | awk '$1 == "sp" {print $2 + 0}')
  awk -v b="$busy" -v i="$idle" 'BEGIN { exit !(b > 10 && i < 5) }' || { echo "$output"; return 1; }
  # --no-trunc, json, -a with a container that is not running
  id=$("$STRATA" inspect -f '{{.Id}}' sm)
  run --separate-stderr "$STRATA" stats --no-stream --no-trunc --format '{{.ID}}' sm
  assert_eq "$output" "$id"
  run --separate-stderr "$STRATA" stats --no-stream --format json sm
  assert_json_valid "$output"
  assert_eq "$(printf '%s' "$output" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(sorted(d)), d["Name"], d["ID"])')" \
    "BlockIO CPUPerc Container ID MemPerc MemUsage Name NetIO PIDs sm ${id:0:12}"
  run --separate-stderr "$STRATA" stats --no-stream -a --format '{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.MemPerc}}|{{.NetIO}}|{{.BlockIO}}|{{.PIDs}}'
  assert_contains "$output" 'sx|0.00%|0B / 0B|0.00%|0B / 0B|0B / 0B|0'
  run --separate-stderr "$STRATA" stats --no-stream nosuch
  assert_status 1
  assert_error_line "No such container: nosuch"
}

@test "stats without --no-stream: a block every second until interrupted" {
  "$STRATA" run -d --name st busybox sleep 1000 >/dev/null
  run --separate-stderr timeout -s INT 3.5 "$STRATA" stats --format '{{.Name}}' st
  [ "$status" -ne 0 ] # ended by the signal, not by itself
  n=$(grep -c '^st$' <<<"$output")
  [ "$n" -ge 2 ] && [ "$n" -le 4 ] || { echo "$n blocks: $output"; return 1; }
}

@test "run/create -l/--label and --label-file: Config.Labels, ps --filter label=" {
  printf '# a comment\n\nfrom.file=yes\nbare\n' >"$BATS_TEST_TMPDIR/labels"
  "$STRATA" create --name lb -l app=web --label tier=front -l empty= -l flag \
    --label-file "$BATS_TEST_TMPDIR/labels" busybox true >/dev/null
  "$STRATA" create --name lc -l app=db busybox true >/dev/null
  "$STRATA" create --name ld busybox true >/dev/null
  run --separate-stderr "$STRATA" inspect -f '{{json .Config.Labels}}' lb
  assert_eq "$output" '{"app":"web","bare":"","empty":"","flag":"","from.file":"yes","tier":"front"}'
  run --separate-stderr "$STRATA" inspect -f '{{json .Config.Labels}}' ld
  assert_eq "$output" '{}'
  run --separate-stderr "$STRATA" ps -a --filter label=app --format '{{.Names}}'
  assert_eq "$output" $'lc\nlb'
  run --separate-stderr "$STRATA" ps -a --filter label=app=web --format '{{.Names}}'
  assert_eq "$output" "lb"
  run --separate-stderr "$STRATA" ps -a --filter label=from.file=yes --filter label=flag --format '{{.Names}}'
  assert_eq "$output" "lb"
  run --separate-stderr "$STRATA" create --label-file /nonexistent/labels busybox true
  assert_status 125
  assert_error_line "open /nonexistent/labels: no such file or directory"
  run --separate-stderr "$STRATA" run --rm -l x=1 busybox echo ran
  assert_status 0
  assert_eq "$output" "ran"
}

@test "run/create --stop-signal and --stop-timeout: inspect Config, and stop uses them" {
  "$STRATA" create --name sg --stop-signal usr1 --stop-timeout 2 busybox true >/dev/null
  run --separate-stderr "$STRATA" inspect -f '{{.Config.StopSignal}} {{.Config.StopTimeout}}' sg
  assert_eq "$output" "usr1 2"
  # the container's own signal: its trap runs and sets the exit code
  "$STRATA" run -d --name su --stop-signal SIGUSR1 busybox \
    sh -c 'trap "exit 3" USR1; while :; do sleep 0.1; done' >/dev/null
  sleep 0.5
  run --separate-stderr timeout 20 "$STRATA" stop su
  assert_status 0
  run --separate-stderr "$STRATA" inspect -f '{{.State.ExitCode}}' su
  assert_eq "$output" "3"
  # a container that ignores the signal: killed after its own timeout
  "$STRATA" run -d --name sto --stop-timeout 1 busybox \
    sh -c 'trap "" TERM; while :; do sleep 0.1; done' >/dev/null
  sleep 0.5
  start=$(date +%s%N)
  run --separate-stderr timeout 20 "$STRATA" stop sto
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  assert_status 0
  [ "$ms" -ge 900 ] && [ "$ms" -lt 5000 ] || { echo "stop took ${ms}ms"; return 1; }
  run --separate-stderr "$STRATA" inspect -f '{{.State.ExitCode}}' sto
  assert_eq "$output" "137"
  run --separate-stderr "$STRATA" create --stop-signal NOPE busybox true
  assert_status 125
  assert_error_line "Invalid signal: NOPE"
  run --separate-stderr "$STRATA" create --stop-timeout soon busybox true
  assert_status 125
  assert_contains "$stderr" 'invalid argument "soon" for "--stop-timeout" flag'
}

@test "run/create --cidfile: the ID is written; an existing file is Docker's error" {
  cid="$BATS_TEST_TMPDIR/cid"
  run --separate-stderr "$STRATA" create --cidfile "$cid" --name cf busybox true
  assert_status 0
  assert_eq "$(cat "$cid")" "$output"
  assert_eq "$("$STRATA" inspect -f '{{.Id}}' cf)" "$output"
  run --separate-stderr "$STRATA" run --cidfile "$cid" busybox echo no
  assert_status 125
  assert_error_line "Container ID file found, make sure the other container isn't running or delete $cid"
  assert_eq "$output" ""
  rm "$cid"
  run --separate-stderr "$STRATA" run --cidfile "$cid" --name cr busybox echo yes
  assert_status 0
  assert_eq "$output" "yes"
  assert_eq "$(cat "$cid")" "$("$STRATA" inspect -f '{{.Id}}' cr)"
  # a container that is not made leaves no file
  run --separate-stderr "$STRATA" create --cidfile "$BATS_TEST_TMPDIR/cid2" --pull never nosuchimage
  assert_status 125
  [ ! -e "$BATS_TEST_TMPDIR/cid2" ]
  run --separate-stderr "$STRATA" create --cidfile /nonexistent/dir/cid busybox true
  assert_status 125
  assert_error_line "Failed to create the container ID file: open /nonexistent/dir/cid: no such file or directory"
}
