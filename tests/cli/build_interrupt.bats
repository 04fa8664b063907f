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
    grep -q " started" "$BATS_TEST_TMPDIR/err" && return 0
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
