#!/usr/bin/env bats
# A build stopped in the middle (Ctrl-C, SIGKILL): nothing tagged, no
# container left behind by Ctrl-C, the store checks clean, and the next
# build reuses the steps that had finished.

load helpers
load build_helpers

setup() {
  build_setup
  printf 'one\n' >"$CTX/a.txt"
  dockerfile <<'EOF2'
FROM busybox
COPY a.txt /a.txt
RUN echo first >/first
RUN echo started; sleep 30
EOF2
}

# start_build: the build in the background, its PID in $BPID, its stderr
# in $BATS_TEST_TMPDIR/err; returns once the slow RUN has started.
start_build() {
  "$STRATA" build --progress=plain -t stopped "$CTX" \
    >/dev/null 2>"$BATS_TEST_TMPDIR/err" &
  BPID=$!
  for _ in $(seq 1 300); do
    # the RUN's own output ("#5 0.012 started"), not its title line
    # "#5 [4/4] RUN echo started; sleep 30", printed before the container
    # starts and before the build blocks SIGINT to forward it (a
    # background job of a script ignores SIGINT: sent that early, it was
    # lost and the build ran on)
    grep -qE '^#[0-9]+ [0-9]+\.[0-9]+ started$' "$BATS_TEST_TMPDIR/err" && return 0
    sleep 0.1
  done
  cat "$BATS_TEST_TMPDIR/err" >&2
  return 1
}

@test "build interrupt: Ctrl-C stops the RUN at once, tags nothing, leaves no container" {
  start_build
  kill -INT "$BPID"
  local rc=0 t0=$SECONDS
  wait "$BPID" || rc=$?
  [ "$rc" -ne 0 ] || { echo "the interrupted build exited 0" >&2; return 1; }
  [ $((SECONDS - t0)) -lt 20 ] || { echo "Ctrl-C did not stop the RUN" >&2; return 1; }
  grep -q "interrupted" "$BATS_TEST_TMPDIR/err"
  run --separate-stderr "$STRATA" image inspect stopped
  assert_failure
  run --separate-stderr "$STRATA" ps -aq
  assert_eq "$output" ""
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

@test "build interrupt: during a RUN only the thread that stops it can take SIGINT, not a helper thread" {
  start_build
  local task blk n=0
  for task in /proc/"$BPID"/task/*; do
    blk=$(awk '/^SigBlk:/ {print $2}' "$task/status")
    # SIGINT is signal 2: bit 1 of the blocked mask
    (((0x$blk >> 1) & 1)) || { echo "thread ${task##*/} takes SIGINT (SigBlk $blk)" >&2; return 1; }
    n=$((n + 1))
  done
  [ "$n" -ge 2 ] # the build and its output reader
  kill -INT "$BPID"
  wait "$BPID" || true
}

@test "build interrupt: after SIGKILL the store checks clean and finished steps are reused" {
  start_build
  kill -KILL "$BPID"
  wait "$BPID" || true
  run --separate-stderr "$STRATA" image inspect stopped
  assert_failure
  run --separate-stderr "$STRATA" system check
  assert_status 0
  # the same build without the slow step: COPY and the first RUN are cached
  sed -i '$d' "$CTX/Dockerfile"
  sbuild --progress=plain -t stopped "$CTX"
  assert_status 0
  [ "$(grep -c ' CACHED$' <<<"$stderr")" -eq 2 ] || {
    echo "expected COPY and the first RUN cached: $stderr" >&2
    return 1
  }
}

# kill_when PATTERN DELAY: a build of $CTX in the background, SIGKILLed
# DELAY seconds after its progress shows PATTERN; fails when the build
# ended before that.
kill_when() {
  "$STRATA" build --progress=plain -t stopped "$CTX" \
    >/dev/null 2>"$BATS_TEST_TMPDIR/err" &
  BPID=$!
  local seen=0
  for _ in $(seq 1 600); do
    grep -q -- "$1" "$BATS_TEST_TMPDIR/err" && { seen=1; break; }
    kill -0 "$BPID" 2>/dev/null || break
    sleep 0.05
  done
  [ "$seen" = 1 ] || { cat "$BATS_TEST_TMPDIR/err" >&2; return 1; }
  sleep "$2"
  kill -0 "$BPID" 2>/dev/null || {
    echo "the build ended before the kill" >&2
    cat "$BATS_TEST_TMPDIR/err" >&2
    return 1
  }
  kill -KILL "$BPID"
  wait "$BPID" || true
}

# after_kill N: nothing tagged, the store checks clean, and a rebuild
# reuses exactly the N steps that had finished (the killed one reruns),
# removes the killed RUN's container and leaves tmp/ empty.
after_kill() {
  run --separate-stderr "$STRATA" image inspect stopped
  assert_failure
  run --separate-stderr "$STRATA" system check
  assert_status 0
  sbuild --progress=plain -t stopped "$CTX"
  assert_status 0
  local n
  n=$(grep -c ' CACHED$' <<<"$stderr") || true
  [ "$n" -eq "$1" ] || {
    echo "expected $1 cached steps, got $n: $stderr" >&2
    return 1
  }
  run --separate-stderr "$STRATA" system check
  assert_status 0
  # a killed RUN's container is removed by the next build
  run --separate-stderr "$STRATA" ps -aq
  assert_eq "$output" ""
  # nothing left in the store's tmp/ by the killed build
  run ls -A "$STRATA_ROOT/tmp"
  assert_eq "$output" ""
}

@test "build interrupt: SIGKILL during a COPY of a big file" {
  truncate -s 1G "$CTX/big"
  head -c 1M /dev/urandom >>"$CTX/big"
  dockerfile <<'EOF2'
FROM busybox
COPY a.txt /a.txt
COPY big /big
EOF2
  kill_when "COPY big" 0.3
  after_kill 1
  [ "$(cfg stopped '{{len .RootFS.Layers}}')" -ge 3 ]
}

@test "build interrupt: SIGKILL while a RUN's layer is committed" {
  dockerfile <<'EOF2'
FROM busybox
COPY a.txt /a.txt
RUN echo first >/first
RUN dd if=/dev/urandom of=/fill bs=1M count=300 2>/dev/null; echo wrote-it
EOF2
  kill_when "wrote-it" 0.1
  after_kill 2
  assert_eq "$(in_image stopped 'wc -c </fill')" 314572800
}

@test "build interrupt: SIGKILL at random moments of a build, ten times" {
  dockerfile <<'EOF2'
FROM busybox
COPY a.txt /a.txt
RUN head -c 20000000 /dev/urandom >/r1
RUN echo two >/two
EOF2
  local i
  for i in $(seq 1 10); do
    echo "$i" >"$CTX/a.txt"
    "$STRATA" build -q -t stopped "$CTX" >/dev/null 2>&1 &
    BPID=$!
    sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
    kill -KILL "$BPID" 2>/dev/null || true
    wait "$BPID" || true
    run --separate-stderr "$STRATA" system check
    [ "$status" -eq 0 ] || { echo "kill $i: $output $stderr" >&2; return 1; }
  done
  sbuild -t stopped "$CTX"
  assert_status 0
  assert_eq "$(in_image stopped 'cat /a.txt /two')" $'10\ntwo'
}
