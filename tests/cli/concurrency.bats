#!/usr/bin/env bats
# Several strata processes on one store at once: parallel imports, tag racing
# rmi, import racing prune. Every command either succeeds or fails with a
# clear error, and the store stays consistent (system check, no tag pointing
# at a missing image).

load helpers

# other_tar: busybox_tar plus one more file, so its layer differs.
other_tar() {
  local out=$BATS_TEST_TMPDIR/other.tar
  if [ ! -s "$out" ]; then
    mkdir -p "$BATS_TEST_TMPDIR/extra/etc" &&
      echo "the other tarball" >"$BATS_TEST_TMPDIR/extra/etc/other" &&
      cp "$(busybox_tar)" "$out" &&
      tar --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$BATS_TEST_TMPDIR/extra" \
        -rf "$out" etc/other || return 1
  fi
  echo "$out"
}

# clean_outcome NAME RC STDERR_FILE: RC is 0, or a clean failure (1..125, not
# a crash) whose stderr starts with "Error: " and says something.
clean_outcome() {
  local name=$1 rc=$2 err=$3 first
  [ "$rc" -eq 0 ] && return 0
  first=$(head -n1 "$err")
  if [ "$rc" -ge 126 ] || ! [[ $first =~ ^Error:\ .{5,} ]]; then
    echo "$name: exit $rc without a clear error; stderr:"
    cat "$err"
    return 1
  fi
}

# store_consistent: system check passes, every tag points at an image that
# inspects, and every listed image inspects.
store_consistent() {
  run --separate-stderr "$STRATA" system check
  if [ "$status" -ne 0 ]; then
    echo "system check failed: $output $stderr"
    return 1
  fi
  local refs ids
  refs=$("$STRATA" images --format '{{.Repository}}:{{.Tag}}' | grep -v '^<none>:<none>$') || true
  ids=$("$STRATA" images -a -q --no-trunc) || return 1
  local r
  for r in $refs; do
    "$STRATA" image inspect --format '{{.Id}}' "$r" >/dev/null || {
      echo "tag $r points at an image that does not inspect"
      return 1
    }
  done
  if [ -n "$ids" ]; then
    # shellcheck disable=SC2086
    "$STRATA" image inspect $ids >/dev/null || {
      echo "a listed image does not inspect: $ids"
      return 1
    }
  fi
}

@test "concurrency: two imports of different tarballs in parallel both succeed" {
  local a b round
  a=$(busybox_tar)
  b=$(other_tar)
  for round in 1 2 3 4 5; do
    "$STRATA" import --change "LABEL round=$round" "$a" par/a:r$round \
      >"$BATS_TEST_TMPDIR/a.out" 2>"$BATS_TEST_TMPDIR/a.err" &
    local pa=$!
    "$STRATA" import --change "LABEL round=$round" "$b" par/b:r$round \
      >"$BATS_TEST_TMPDIR/b.out" 2>"$BATS_TEST_TMPDIR/b.err" &
    local pb=$!
    local ra=0 rb=0
    wait "$pa" || ra=$?
    wait "$pb" || rb=$?
    if [ "$ra" -ne 0 ] || [ "$rb" -ne 0 ]; then
      echo "round $round: import a exit $ra: $(cat "$BATS_TEST_TMPDIR/a.err")"
      echo "round $round: import b exit $rb: $(cat "$BATS_TEST_TMPDIR/b.err")"
      return 1
    fi
    local ida idb
    ida=$(cat "$BATS_TEST_TMPDIR/a.out")
    idb=$(cat "$BATS_TEST_TMPDIR/b.out")
    assert_match "$ida" '^sha256:[0-9a-f]{64}$'
    assert_match "$idb" '^sha256:[0-9a-f]{64}$'
    [ "$ida" != "$idb" ]
    assert_eq "$("$STRATA" image inspect --format '{{.Id}}' par/a:r$round)" "$ida"
    assert_eq "$("$STRATA" image inspect --format '{{.Id}}' par/b:r$round)" "$idb"
  done
  run --separate-stderr "$STRATA" images --format '{{.Repository}}:{{.Tag}}'
  assert_status 0
  assert_eq "$(printf '%s\n' "$output" | sort)" \
    "$(printf 'par/a:r%s\n' 1 2 3 4 5; printf 'par/b:r%s\n' 1 2 3 4 5)"
  store_consistent
}

@test "concurrency: the same tarball imported twice in parallel (one layer blob) both succeed" {
  local a
  a=$(busybox_tar)
  "$STRATA" import "$a" same/x:1 >"$BATS_TEST_TMPDIR/1.out" 2>"$BATS_TEST_TMPDIR/1.err" &
  local p1=$!
  "$STRATA" import "$a" same/x:2 >"$BATS_TEST_TMPDIR/2.out" 2>"$BATS_TEST_TMPDIR/2.err" &
  local p2=$!
  local r1=0 r2=0
  wait "$p1" || r1=$?
  wait "$p2" || r2=$?
  if [ "$r1" -ne 0 ] || [ "$r2" -ne 0 ]; then
    echo "import 1 exit $r1: $(cat "$BATS_TEST_TMPDIR/1.err")"
    echo "import 2 exit $r2: $(cat "$BATS_TEST_TMPDIR/2.err")"
    return 1
  fi
  "$STRATA" image inspect same/x:1 same/x:2 >/dev/null
  assert_eq "$("$STRATA" image inspect --format '{{json .RootFS.Layers}}' same/x:1)" \
    "$("$STRATA" image inspect --format '{{json .RootFS.Layers}}' same/x:2)"
  store_consistent
}

@test "concurrency: tag racing rmi of the same image (20 rounds) leaves no tag on a missing image" {
  local tar i
  tar=$(busybox_tar)
  for i in $(seq 1 20); do
    local id
    id=$("$STRATA" import --change "LABEL round=$i" "$tar" race/victim:latest)
    local pt pr rt=0 rr=0
    # Alternate which one starts first.
    if [ $((i % 2)) -eq 1 ]; then
      "$STRATA" tag race/victim:latest "race/alias:$i" >"$BATS_TEST_TMPDIR/tag.out" 2>"$BATS_TEST_TMPDIR/tag.err" &
      pt=$!
      "$STRATA" rmi race/victim:latest >"$BATS_TEST_TMPDIR/rmi.out" 2>"$BATS_TEST_TMPDIR/rmi.err" &
      pr=$!
    else
      "$STRATA" rmi race/victim:latest >"$BATS_TEST_TMPDIR/rmi.out" 2>"$BATS_TEST_TMPDIR/rmi.err" &
      pr=$!
      "$STRATA" tag race/victim:latest "race/alias:$i" >"$BATS_TEST_TMPDIR/tag.out" 2>"$BATS_TEST_TMPDIR/tag.err" &
      pt=$!
    fi
    wait "$pt" || rt=$?
    wait "$pr" || rr=$?
    echo "round $i: tag exit $rt, rmi exit $rr"
    clean_outcome "round $i: tag" "$rt" "$BATS_TEST_TMPDIR/tag.err"
    clean_outcome "round $i: rmi" "$rr" "$BATS_TEST_TMPDIR/rmi.err"
    # race/victim:latest is gone either way when rmi succeeded.
    if [ "$rr" -eq 0 ]; then
      run "$STRATA" image inspect race/victim:latest
      assert_failure
    fi
    if [ "$rt" -eq 0 ]; then
      # The tag was made, so the image must still be there, whole.
      assert_eq "$("$STRATA" image inspect --format '{{.Id}}' "race/alias:$i")" "$id"
    else
      run "$STRATA" image inspect "race/alias:$i"
      assert_failure
    fi
    store_consistent
    # Start the next round from an empty store.
    "$STRATA" image prune -a -f >/dev/null
  done
}

@test "concurrency: import racing image prune -a never leaves a half image" {
  local a i
  a=$(other_tar)
  for i in $(seq 1 8); do
    "$STRATA" import --change "LABEL round=$i" "$a" "prune/race:$i" \
      >"$BATS_TEST_TMPDIR/imp.out" 2>"$BATS_TEST_TMPDIR/imp.err" &
    local pi=$!
    "$STRATA" image prune -a -f >"$BATS_TEST_TMPDIR/pr.out" 2>"$BATS_TEST_TMPDIR/pr.err" &
    local pp=$!
    local ri=0 rp=0
    wait "$pi" || ri=$?
    wait "$pp" || rp=$?
    echo "round $i: import exit $ri, prune exit $rp"
    clean_outcome "round $i: import" "$ri" "$BATS_TEST_TMPDIR/imp.err"
    clean_outcome "round $i: prune" "$rp" "$BATS_TEST_TMPDIR/pr.err"
    store_consistent
    # Whatever survived is whole: save streams every blob.
    if "$STRATA" image inspect "prune/race:$i" >/dev/null 2>&1; then
      "$STRATA" save "prune/race:$i" >/dev/null
    fi
  done
}
