#!/usr/bin/env bats
# A full disk (ENOSPC) through the CLI: the store lives on a small tmpfs.
# Every failed write must exit non-zero with an error that says "no space
# left on device" and names what was being written, and leave the store
# exactly as it was: same images, `system check` passes, nothing in tmp/.

load helpers

# Mounts a tmpfs of SIZE (e.g. 3m) on $BATS_TEST_TMPDIR/fs and makes it the
# store. Skips the test when mounting is not permitted.
diskfull_mount() {
  DISKFULL_MNT=$BATS_TEST_TMPDIR/fs
  mkdir -p "$DISKFULL_MNT"
  if ! mount -t tmpfs -o "size=$1" tmpfs "$DISKFULL_MNT" 2>/dev/null; then
    unset DISKFULL_MNT
    skip "cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN)"
  fi
  export STRATA_ROOT=$DISKFULL_MNT/root
  # a store on tmpfs: the automatic backend (dir; erofs cannot mount a
  # file there)
  unset STRATA_STORAGE_DRIVER
}

teardown() {
  if [ -n "${DISKFULL_MNT:-}" ]; then
    if [ -n "${DISKFULL_CONTAINERS:-}" ]; then
      "$STRATA" rm -f $("$STRATA" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
    fi
    umount "$DISKFULL_MNT" 2>/dev/null || umount -l "$DISKFULL_MNT" || true
  fi
}

# big_tar OUT BYTES: a rootfs tarball holding BYTES of incompressible data.
big_tar() {
  local dir=$BATS_TEST_TMPDIR/big-rootfs
  mkdir -p "$dir"
  head -c "$2" /dev/urandom >"$dir/big.bin"
  tar --owner=0 --group=0 --numeric-owner -C "$dir" -cf "$1" big.bin
}

# The blobs the store holds, one name a line.
blob_list() {
  ls "$STRATA_ROOT/blobs/sha256"
}

# The store still holds exactly the images in $1 (`images -q` output) and,
# when given, exactly the blobs in $2 (blob_list output): no half-stored
# image keeps its blobs. It passes its own check and left nothing in tmp/.
assert_store_unchanged() {
  run --separate-stderr "$STRATA" images -q
  assert_status 0
  assert_eq "$output" "$1"
  if [ $# -ge 2 ]; then
    assert_eq "$(blob_list)" "$2"
  fi
  run --separate-stderr "$STRATA" system check
  assert_status 0
  assert_eq "$output" "Checked $(printf '%s\n' "$1" | grep -c .) image$([ "$(printf '%s\n' "$1" | grep -c .)" = 1 ] || echo s) and $(blob_list | wc -l) blobs: no problems found."
  run find "$STRATA_ROOT/tmp" -mindepth 1
  assert_eq "$output" ""
}

@test "diskfull: import of a tarball that does not fit fails cleanly" {
  diskfull_mount 3m
  import_busybox busybox >/dev/null
  before=$("$STRATA" images -q)
  blobs=$(blob_list)
  big=$BATS_TEST_TMPDIR/big.tar
  big_tar "$big" 1500000
  run --separate-stderr "$STRATA" import "$big" big:latest
  assert_failure
  assert_eq "$output" ""
  assert_error_line 'no space left on device'
  # names the input and the file being written
  assert_contains "$stderr" "$big"
  assert_contains "$stderr" "$STRATA_ROOT/tmp/"
  assert_store_unchanged "$before" "$blobs"
  run --separate-stderr "$STRATA" image inspect big:latest
  assert_status 1
}

@test "diskfull: import from stdin that does not fit fails cleanly" {
  diskfull_mount 3m
  import_busybox busybox >/dev/null
  before=$("$STRATA" images -q)
  big=$BATS_TEST_TMPDIR/big.tar
  big_tar "$big" 1500000
  run --separate-stderr "$STRATA" import - big:latest <"$big"
  assert_failure
  assert_error_line 'no space left on device'
  assert_contains "$stderr" "$STRATA_ROOT/tmp/"
  assert_store_unchanged "$before"
}

@test "diskfull: after a failed import the space is free again" {
  diskfull_mount 3m
  import_busybox busybox >/dev/null
  big=$BATS_TEST_TMPDIR/big.tar
  big_tar "$big" 1500000
  run --separate-stderr "$STRATA" import "$big" big
  assert_failure
  # a small image still fits: the failed import gave its space back
  small=$BATS_TEST_TMPDIR/small.tar
  big_tar "$small" 300000
  run --separate-stderr "$STRATA" import "$small" small
  assert_status 0
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

@test "diskfull: load of an archive that does not fit fails cleanly" {
  # Make the archive in a roomy store first.
  big=$BATS_TEST_TMPDIR/big.tar
  big_tar "$big" 1500000
  "$STRATA" import "$big" big:latest >/dev/null
  "$STRATA" save -o "$BATS_TEST_TMPDIR/big-archive.tar" big:latest
  diskfull_mount 3m
  import_busybox busybox >/dev/null
  before=$("$STRATA" images -q)
  blobs=$(blob_list)
  run --separate-stderr "$STRATA" load -i "$BATS_TEST_TMPDIR/big-archive.tar"
  assert_failure
  assert_error_line 'no space left on device'
  assert_contains "$stderr" "$STRATA_ROOT/tmp/"
  assert_store_unchanged "$before" "$blobs"
  # from stdin as well
  run --separate-stderr "$STRATA" load <"$BATS_TEST_TMPDIR/big-archive.tar"
  assert_failure
  assert_error_line 'no space left on device'
  assert_store_unchanged "$before" "$blobs"
}

# The bytes still free on the store's file system.
free_bytes() {
  echo $(($(stat -f -c '%a * %S' "$DISKFULL_MNT")))
}

# Fills the disk so an import runs out of space at each stage in turn: while
# writing the layer blob, the config, the manifest, or the database. Each
# attempt either succeeds or fails cleanly and gives all its space back.
@test "diskfull: import fails cleanly wherever the disk fills up" {
  diskfull_mount 3m
  import_busybox busybox >/dev/null
  before=$("$STRATA" images -q)
  blobs=$(blob_list)
  src=$BATS_TEST_TMPDIR/src
  mkdir -p "$src"
  failures=0
  for pages in 0 1 2 3 4 5 6 8 10 12 16; do
    free=$(free_bytes)
    # tar adds a 512-byte header and pads to 10240 bytes.
    size=$((free - pages * 4096 - 10240))
    [ "$size" -gt 4096 ] || fail "only $free bytes free"
    head -c "$size" /dev/urandom >"$src/data.bin"
    tar --owner=0 --group=0 --numeric-owner -C "$src" -cf "$BATS_TEST_TMPDIR/t.tar" data.bin
    run --separate-stderr "$STRATA" import "$BATS_TEST_TMPDIR/t.tar" "t:p$pages"
    # Once it fits, more room fits too; stop there (the disk is then
    # nearly full).
    [ "$status" -eq 0 ] && break
    failures=$((failures + 1))
    assert_failure
    assert_error_line 'no space left on device|database or disk is full'
    assert_contains "$stderr" "$BATS_TEST_TMPDIR/t.tar"
    assert_store_unchanged "$before" "$blobs"
  done
  # at least the first attempts cannot fit
  [ "$failures" -gt 0 ]
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

# fat_container: a stopped container "fat" whose 2.5 MB of changes fit on
# an 8 MB store next to busybox's blob and unpacked tree, but leave no room
# for the 2.5 MB layer blob `commit` writes. Skips when containers cannot
# run here.
fat_container() {
  [ "$(id -u)" = 0 ] || skip "containers need root here"
  diskfull_mount 8m
  DISKFULL_CONTAINERS=1
  import_busybox busybox >/dev/null
  run --separate-stderr "$STRATA" run --name fat busybox sh -c \
    'head -c 2500000 /dev/urandom >/big.bin'
  if [ "$status" -ne 0 ]; then
    skip "cannot run a container here: $stderr"
  fi
}

@test "diskfull: commit of a container whose changes do not fit fails cleanly" {
  fat_container
  before=$("$STRATA" images -q)
  run --separate-stderr "$STRATA" commit fat fat:v1
  assert_failure
  assert_eq "$output" ""
  assert_store_unchanged "$before"
  "$STRATA" rm fat >/dev/null
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

@test "diskfull: commit on a full disk says no space left on device" {
  fat_container
  run --separate-stderr "$STRATA" commit fat fat:v1
  assert_failure
  # The import's ENOSPC, not the tar writer's broken pipe that follows it.
  assert_error_line 'no space left on device'
  assert_contains "$stderr" "$STRATA_ROOT/tmp/"
}

@test "diskfull: unpacking a layer for run on a full disk names the layer, the directory and the full disk" {
  [ "$(id -u)" = 0 ] || skip "containers need root here"
  diskfull_mount 4m
  DISKFULL_CONTAINERS=1
  # The layer fits as a blob, but not a second time as an unpacked tree.
  size=$(($(free_bytes) * 6 / 10))
  big=$BATS_TEST_TMPDIR/big.tar
  big_tar "$big" "$size"
  id=$("$STRATA" import "$big" big:latest)
  diff=sha256:$(sha256sum <"$big" | cut -d' ' -f1)
  run --separate-stderr "$STRATA" run --rm big:latest /big.bin
  assert_failure
  assert_error_line "layer 1/1 \\(diff ID $diff, chain ID $diff\\): no space left on device while unpacking it into $STRATA_ROOT/layers/${diff#sha256:} \\(.*entry \"big\\.bin\": write: No space left on device\\)"
  # nothing half-unpacked is left, and the image is intact
  run find "$STRATA_ROOT/tmp" "$STRATA_ROOT/layers" -mindepth 1 -not -name '*.lock'
  assert_eq "$output" ""
  run --separate-stderr "$STRATA" system check
  assert_status 0
  assert_eq "$("$STRATA" images -q --no-trunc)" "$id"
}
