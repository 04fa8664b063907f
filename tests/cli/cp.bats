#!/usr/bin/env bats
# cp copies files, never layers: names that are whiteouts in an image layer
# (".wh.x", ".wh..wh..opq") are ordinary files in both directions, as in
# Docker. A container must not be able to delete or replace a host file
# next to the one the user copies out (needs root).

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

# assert_regular PATH CONTENT: PATH is a regular file holding CONTENT.
assert_regular() {
  if [ -L "$1" ] || [ ! -f "$1" ]; then
    echo "$1 is not a regular file:"
    ls -la "$1" 2>&1 || true
    return 1
  fi
  assert_eq "$(cat "$1")" "$2"
}

@test "cp out: a container's .wh.x neither deletes nor replaces the host's x" {
  "$STRATA" run --name wh busybox sh -c \
    'mkdir /d && echo theirs >/d/.wh.x && touch /d/.wh..wh..opq && echo c >/d/c'
  host=$BATS_TEST_TMPDIR/d
  mkdir "$host"
  echo mine >"$host/x"
  echo other >"$host/y"
  run --separate-stderr "$STRATA" cp wh:/d/. "$host/"
  assert_status 0
  assert_regular "$host/x" "mine"
  assert_regular "$host/y" "other"
  assert_regular "$host/.wh.x" "theirs"
  assert_regular "$host/.wh..wh..opq" ""
  assert_regular "$host/c" "c"
  # the directory itself is not made opaque either
  run python3 -c 'import os, sys; os.getxattr(sys.argv[1], "trusted.overlay.opaque")' "$host"
  assert_contains "$output" "No data available"
  [ "$status" -eq 1 ]
}

@test "cp in: a host .wh.x stays a file in the container and x stays" {
  "$STRATA" run --name whin busybox sh -c 'mkdir /d && echo kept >/d/x'
  src=$BATS_TEST_TMPDIR/src
  mkdir "$src"
  echo data >"$src/.wh.x"
  : >"$src/.wh..wh..opq"
  run --separate-stderr "$STRATA" cp "$src/." whin:/d/
  assert_status 0
  run --separate-stderr "$STRATA" cp whin:/d "$BATS_TEST_TMPDIR/back"
  assert_status 0
  assert_regular "$BATS_TEST_TMPDIR/back/x" "kept"
  assert_regular "$BATS_TEST_TMPDIR/back/.wh.x" "data"
  assert_regular "$BATS_TEST_TMPDIR/back/.wh..wh..opq" ""
  run --separate-stderr "$STRATA" diff whin
  assert_contains "$output" "A /d/.wh.x"
  assert_contains "$output" "A /d/x"
}

@test "cp in from a tar on stdin: whiteout names are files, in a running container" {
  "$STRATA" run -d --name whrun busybox sh -c 'mkdir /d && echo kept >/d/x; sleep 100'
  sleep 0.3
  src=$BATS_TEST_TMPDIR/src
  mkdir "$src"
  echo data >"$src/.wh.x"
  tar -C "$src" -cf - .wh.x | "$STRATA" cp - whrun:/d
  run --separate-stderr "$STRATA" exec whrun sh -c 'cat /d/x /d/.wh.x; ls -la /d | grep -c "^c"'
  assert_eq "$output" $'kept\ndata\n0'
}

@test "cp out: a file capability set in the container does not reach the host" {
  "$STRATA" run --name capc busybox sh -c 'echo x >/capfile'
  upper=$("$STRATA" inspect --format '{{.GraphDriver.Data.UpperDir}}' capc)
  setcap cap_sys_admin+ep "$upper/capfile"
  "$STRATA" cp capc:/capfile "$BATS_TEST_TMPDIR/capfile"
  assert_regular "$BATS_TEST_TMPDIR/capfile" "x"
  run getcap "$BATS_TEST_TMPDIR/capfile"
  assert_eq "$output" ""
}
