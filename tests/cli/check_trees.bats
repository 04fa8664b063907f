#!/usr/bin/env bats
# `system check` of containers and unpacked layer trees: each test breaks
# the store by hand (a container's image row deleted, a layer tree removed
# or edited, a config blob removed under a container) and checks what
# `system check` says, what `--repair` fixes or refuses, and exit codes.

load helpers

setup() {
  strata_setup
  # these tests edit unpacked directory trees by hand; the erofs backend's
  # layer files are checked in storage_driver.bats
  export STRATA_STORAGE_DRIVER=dir
  if [ "$(id -u)" != 0 ]; then
    skip "containers need root here"
  fi
  IMG=$(import_busybox busybox)
}

# sql STATEMENTS: runs SQL on the store's database with foreign keys on.
sql() {
  python3 - "$STRATA_ROOT/strata.db" "$1" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA foreign_keys=ON")
db.executescript(sys.argv[2])
db.commit()
EOF
}

# the_tree: the one unpacked layer tree of the busybox image.
the_tree() {
  local t
  t=$(ls -d "$STRATA_ROOT"/layers/*/diff)
  [ "$(echo "$t" | wc -l)" -eq 1 ] || return 1
  echo "$t"
}

@test "check: a container whose image is gone is reported, and repair says it cannot fix it" {
  "$STRATA" create --pull never --name orphan busybox true >/dev/null
  run --separate-stderr "$STRATA" system check
  assert_status 0
  sql "DELETE FROM tags WHERE image = '$IMG'; DELETE FROM images WHERE id = '$IMG';"
  run --separate-stderr "$STRATA" system check
  assert_status 1
  assert_contains "$output" "(orphan): its image $IMG is missing: it cannot start or be committed again (cannot be repaired: remove it with \`strata rm orphan\`)"
  assert_contains "$output" "1 problem found."
  run --separate-stderr "$STRATA" system check --repair
  assert_status 1
  assert_match "$output" "Not repaired: container [0-9a-f]{12}: its image is gone; remove it with"
  "$STRATA" rm orphan >/dev/null
  run --separate-stderr "$STRATA" system check --repair
  assert_status 0
}

@test "check: a missing layer tree of a container is reported and unpacked again by repair" {
  local c tree
  c=$("$STRATA" create --pull never busybox sh -c 'echo started')
  tree=$(the_tree)
  rm -rf "$tree"
  run --separate-stderr "$STRATA" system check
  assert_status 1
  assert_contains "$output" "layer 1/1 of image $IMG: its tree \`$tree\`"
  assert_contains "$output" "is missing"
  run --separate-stderr "$STRATA" system check --repair
  assert_status 0
  assert_match "$output" "Unpacked layer tree sha256:[0-9a-f]{64} again"
  assert_contains "$output" "After the repair: checked 1 image and 3 blobs: no problems found."
  run --separate-stderr "$STRATA" start -a "$c"
  assert_status 0
  assert_eq "$output" "started"
}

@test "check: a layer tree that differs from its tar is found (sampled and --deep) and repaired" {
  "$STRATA" run --rm --pull never busybox true
  local tree
  tree=$(the_tree)
  run --separate-stderr "$STRATA" system check --deep
  assert_status 0
  echo planted >"$tree/etc/planted"
  run --separate-stderr "$STRATA" system check
  assert_status 1
  assert_contains "$output" "differs from its tar sha256:"
  assert_contains "$output" ": /etc/planted: not in the tar"
  rm "$tree/etc/planted"
  printf 'x' >>"$tree/bin/busybox"
  run --separate-stderr "$STRATA" system check --deep
  assert_status 1
  assert_contains "$output" ": /bin/busybox: size differs"
  run --separate-stderr "$STRATA" system check --deep --repair
  assert_status 0
  assert_match "$output" "Unpacked layer tree sha256:[0-9a-f]{64} again"
  run --separate-stderr "$STRATA" run --rm --pull never busybox echo ok
  assert_status 0
  assert_eq "$output" "ok"
}

@test "check: repair keeps a broken image that a container uses, and says so" {
  "$STRATA" create --pull never --name user busybox true >/dev/null
  rm "$STRATA_ROOT/blobs/sha256/${IMG#sha256:}"
  run --separate-stderr "$STRATA" system check
  assert_status 1
  run --separate-stderr "$STRATA" system check --repair
  assert_status 1
  assert_contains "$output" "Not repaired: image $IMG is broken but containers use it: not removed (remove its containers, then repair again)"
  # The container still points at a stored image row.
  run --separate-stderr "$STRATA" images -q --no-trunc
  assert_eq "$output" "$IMG"
  "$STRATA" rm user >/dev/null
  run --separate-stderr "$STRATA" system check --repair
  assert_status 0
}

@test "check: a tree a running container has mounted is not replaced" {
  "$STRATA" run -d --pull never --name busy busybox sleep 30 >/dev/null
  local tree
  tree=$(the_tree)
  echo planted >"$tree/etc/planted"
  run --separate-stderr "$STRATA" system check --repair
  assert_status 1
  assert_contains "$output" "Not repaired: layer tree sha256:"
  assert_contains "$output" "is mounted by running container busy: not unpacked again (stop the container, then repair again)"
  "$STRATA" rm -f busy >/dev/null
  run --separate-stderr "$STRATA" system check --repair
  assert_status 0
  [ ! -e "$tree/etc/planted" ]
}
