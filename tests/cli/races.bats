#!/usr/bin/env bats
# Container commands racing image and container removal on one store:
# `create`/`run` against `rmi` of the same image, and `container prune`
# against `run`. Each race loops for a bounded time (RACE_SECONDS, default
# 4 s per side); afterwards no container may point at a missing image, every
# container that was created starts, and no `run` failed because a prune
# took its container away.

load helpers

setup() {
  strata_setup
  if [ "$(id -u)" != 0 ]; then
    skip "containers need root here"
  fi
  import_busybox busybox >/dev/null
}

race_seconds() {
  echo "${RACE_SECONDS:-4}"
}

# every_container_has_its_image [--removed-ok]: each container's image ID
# inspects, and the container starts (its command is `true`). With
# --removed-ok the image may have been deleted by `rmi -f` (Docker deletes
# the record and the container keeps its layers): only the start counts.
every_container_has_its_image() {
  local c img removed_ok=${1:-}
  for c in $("$STRATA" ps -a -q --no-trunc); do
    img=$("$STRATA" container inspect --format '{{.Image}}' "$c") || return 1
    if [ "$removed_ok" != --removed-ok ] &&
      ! "$STRATA" image inspect "$img" >/dev/null 2>&1; then
      echo "container $c points at missing image $img"
      return 1
    fi
    if ! "$STRATA" start -a "$c" >/dev/null 2>"$BATS_TEST_TMPDIR/start.err"; then
      echo "container $c does not start: $(cat "$BATS_TEST_TMPDIR/start.err")"
      return 1
    fi
  done
}

@test "races: create against rmi of the same image: no container loses its image" {
  local end=$((SECONDS + $(race_seconds))) i=0 created=0 refused=0
  while [ "$SECONDS" -lt "$end" ]; do
    i=$((i + 1))
    # A new image each round (its own config; the busybox layer is shared).
    import_busybox --change "LABEL round=$i" race:$i >/dev/null
    "$STRATA" create --pull never race:$i true >"$BATS_TEST_TMPDIR/c.out" \
      2>"$BATS_TEST_TMPDIR/c.err" &
    local pc=$!
    "$STRATA" rmi race:$i >/dev/null 2>"$BATS_TEST_TMPDIR/r.err" &
    local pr=$!
    local rc=0 rr=0
    wait "$pc" || rc=$?
    wait "$pr" || rr=$?
    if [ "$rc" -eq 0 ]; then
      created=$((created + 1))
    elif ! grep -q '^Error: .\{5,\}' "$BATS_TEST_TMPDIR/c.err"; then
      echo "create exit $rc without a clear error: $(cat "$BATS_TEST_TMPDIR/c.err")"
      return 1
    fi
    if [ "$rr" -ne 0 ]; then
      refused=$((refused + 1))
      grep -q 'container [0-9a-f]\{12\} is using' "$BATS_TEST_TMPDIR/r.err" || {
        echo "rmi exit $rr: $(cat "$BATS_TEST_TMPDIR/r.err")"
        return 1
      }
    fi
  done
  echo "rounds $i, created $created, rmi refused $refused"
  every_container_has_its_image
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

@test "races: run against rmi -f of the same image: containers run or fail cleanly" {
  local end=$((SECONDS + $(race_seconds))) i=0
  while [ "$SECONDS" -lt "$end" ]; do
    i=$((i + 1))
    import_busybox --change "LABEL round=$i" racef:$i >/dev/null
    "$STRATA" run --pull never racef:$i true >/dev/null \
      2>"$BATS_TEST_TMPDIR/c.err" &
    local pc=$!
    "$STRATA" rmi -f racef:$i >/dev/null 2>&1 &
    local pr=$!
    local rc=0
    wait "$pc" || rc=$?
    wait "$pr" || true
    if [ "$rc" -ne 0 ] && ! grep -q '^Error: .\{5,\}' "$BATS_TEST_TMPDIR/c.err"; then
      echo "run exit $rc without a clear error: $(cat "$BATS_TEST_TMPDIR/c.err")"
      return 1
    fi
  done
  every_container_has_its_image --removed-ok
  # The layers of images kept for containers are kept by every gc.
  "$STRATA" image prune -f >/dev/null
  every_container_has_its_image --removed-ok
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

@test "races: container prune against run: a starting container is never pruned" {
  local end=$((SECONDS + $(race_seconds)))
  touch "$BATS_TEST_TMPDIR/pruning"
  (
    while [ -e "$BATS_TEST_TMPDIR/pruning" ]; do
      "$STRATA" container prune -f >/dev/null 2>&1
    done
  ) &
  local pruner=$!
  local runs=0 failed=0
  # At least 8 runs (a slow sanitizer build), and for the whole time.
  while [ "$SECONDS" -lt "$end" ] || [ "$runs" -lt 8 ]; do
    runs=$((runs + 1))
    if ! "$STRATA" run --pull never busybox true >/dev/null \
      2>"$BATS_TEST_TMPDIR/run.err"; then
      failed=$((failed + 1))
      echo "run $runs failed: $(cat "$BATS_TEST_TMPDIR/run.err")"
    fi
  done
  rm "$BATS_TEST_TMPDIR/pruning"
  wait "$pruner"
  echo "runs $runs, failed $failed"
  [ "$failed" -eq 0 ]
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

@test "races: container prune against start of created containers" {
  local end=$((SECONDS + $(race_seconds))) i=0 c
  while [ "$SECONDS" -lt "$end" ]; do
    i=$((i + 1))
    c=$("$STRATA" create --pull never busybox true) || return 1
    "$STRATA" start -a "$c" >/dev/null 2>"$BATS_TEST_TMPDIR/s.err" &
    local ps=$!
    "$STRATA" container prune -f >/dev/null 2>&1 &
    local pp=$!
    local rs=0
    wait "$ps" || rs=$?
    wait "$pp" || true
    # Either prune took it first (start: No such container), or it started.
    if [ "$rs" -ne 0 ] && ! grep -q '^Error: No such container' "$BATS_TEST_TMPDIR/s.err"; then
      echo "start exit $rs: $(cat "$BATS_TEST_TMPDIR/s.err")"
      return 1
    fi
  done
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

@test "races: rm still removes a container whose directory is gone (no lock to take)" {
  "$STRATA" create --pull never --name lost busybox true >/dev/null
  local id
  id=$("$STRATA" ps -aq --no-trunc)
  # A busy process keeps the next command from sweeping the row itself.
  mkfifo "$BATS_TEST_TMPDIR/slow"
  "$STRATA" import "$BATS_TEST_TMPDIR/slow" slow:1 >/dev/null &
  local bg=$!
  exec 7>"$BATS_TEST_TMPDIR/slow"
  head -c 10240 "$(busybox_tar)" >&7
  local w
  for w in $(seq 1 100); do # until the import is writing its blob (busy)
    [ -n "$(ls -A "$STRATA_ROOT/tmp" 2>/dev/null)" ] && break
    sleep 0.1
  done
  rm -rf "${STRATA_ROOT:?}/containers/$id"
  run --separate-stderr "$STRATA" rm lost
  assert_status 0
  assert_eq "$output" "lost"
  tail -c +10241 "$(busybox_tar)" >&7
  exec 7>&-
  wait "$bg"
  run --separate-stderr "$STRATA" ps -aq
  assert_eq "$output" ""
}
