#!/usr/bin/env bats
# Layer backends (layer/backend.h): a store's backend is chosen once and
# recorded in <root>/storage-driver; the erofs backend keeps one file per
# layer and mounts it only inside private mount namespaces. Each test picks
# its backend with STRATA_STORAGE_DRIVER and checks what a user would: the
# files in the store, what a container sees, `system check`, and the host's
# mount table.

load helpers

setup() {
  strata_setup
  if [ "$(id -u)" != 0 ]; then
    skip "containers and erofs mounts need root here"
  fi
  unset STRATA_STORAGE_DRIVER
}

# the_layer: the one layer directory (layers/<chain hex>) of the store.
the_layer() {
  local t
  t=$(ls -d "$STRATA_ROOT"/layers/[0-9a-f]*[0-9a-f])
  [ "$(echo "$t" | wc -l)" -eq 1 ] || return 1
  echo "$t"
}

# strata_mounts: the lines of the host's mount table that name the store.
strata_mounts() {
  grep -F "$STRATA_ROOT" /proc/self/mountinfo || true
  grep -c ' - erofs ' /proc/self/mountinfo || true
}

@test "storage driver: the backend is recorded when the store gets its first layer and kept" {
  erofs_or_skip
  import_busybox busybox >/dev/null
  STRATA_STORAGE_DRIVER=dir "$STRATA" run --rm --pull never busybox true
  assert_eq "$(cat "$STRATA_ROOT/storage-driver")" "dir"
  # without the variable the store keeps what it recorded, not the
  # automatic choice (erofs on this machine)
  "$STRATA" run --rm --pull never busybox true
  assert_eq "$(cat "$STRATA_ROOT/storage-driver")" "dir"
  [ -f "$(the_layer)/diff/bin/busybox" ]
  [ ! -e "$(the_layer)/layer.erofs" ]
  run --separate-stderr "$STRATA" image inspect -f '{{.GraphDriver.Name}}' busybox
  assert_status 0
  assert_eq "$output" "overlay"
  # asking a store with layers for the other backend is an error that says so
  STRATA_STORAGE_DRIVER=erofs run --separate-stderr "$STRATA" run --rm --pull never busybox true
  assert_failure
  assert_contains "$stderr" "STRATA_STORAGE_DRIVER asks for the erofs storage driver, but the store $STRATA_ROOT holds layers of the dir driver"
  assert_eq "$(cat "$STRATA_ROOT/storage-driver")" "dir"
  # once its layers are gone, the store follows the request
  "$STRATA" rmi busybox >/dev/null
  [ -z "$(ls "$STRATA_ROOT/layers" | grep -E '^[0-9a-f]{64}$')" ]
  import_busybox busybox >/dev/null
  STRATA_STORAGE_DRIVER=erofs "$STRATA" run --rm --pull never busybox true
  assert_eq "$(cat "$STRATA_ROOT/storage-driver")" "erofs"
  [ -f "$(the_layer)/layer.erofs" ]
}

@test "storage driver: daemon.json storage-driver chooses it; overlay2 means directories; a bad value is refused" {
  erofs_or_skip
  import_busybox busybox >/dev/null
  printf '{"storage-driver": "overlay2"}\n' >"$BATS_TEST_TMPDIR/daemon.json"
  STRATA_CONFIG=$BATS_TEST_TMPDIR/daemon.json "$STRATA" run --rm --pull never busybox true
  assert_eq "$(cat "$STRATA_ROOT/storage-driver")" "dir"
  export STRATA_ROOT=$BATS_TEST_TMPDIR/root2
  import_busybox busybox >/dev/null
  printf '{"storage-driver": "erofs"}\n' >"$BATS_TEST_TMPDIR/daemon.json"
  STRATA_CONFIG=$BATS_TEST_TMPDIR/daemon.json "$STRATA" run --rm --pull never busybox true
  assert_eq "$(cat "$STRATA_ROOT/storage-driver")" "erofs"
  export STRATA_ROOT=$BATS_TEST_TMPDIR/root3
  import_busybox busybox >/dev/null
  printf '{"storage-driver": "btrfs"}\n' >"$BATS_TEST_TMPDIR/daemon.json"
  STRATA_CONFIG=$BATS_TEST_TMPDIR/daemon.json run --separate-stderr "$STRATA" run --rm --pull never busybox true
  assert_failure
  assert_contains "$stderr" "\"storage-driver\" in the settings file: unknown storage driver \"btrfs\""
  [ ! -e "$STRATA_ROOT/layers" ] || [ -z "$(ls "$STRATA_ROOT/layers" | grep -v '^l$')" ]
}

@test "storage driver: a store made before backends were recorded stays a directory store" {
  erofs_or_skip
  import_busybox busybox >/dev/null
  STRATA_STORAGE_DRIVER=dir "$STRATA" run --rm --pull never busybox true
  rm "$STRATA_ROOT/storage-driver"
  "$STRATA" run --rm --pull never busybox true
  assert_eq "$(cat "$STRATA_ROOT/storage-driver")" "dir"
}

@test "storage driver: erofs keeps one file per layer and no file of the image under layers/" {
  erofs_or_skip
  export STRATA_STORAGE_DRIVER=erofs
  import_busybox busybox >/dev/null
  "$STRATA" run --rm --pull never busybox true
  local layer
  layer=$(the_layer)
  [ -f "$layer/layer.erofs" ]
  [ -d "$layer/diff" ]
  # the mount point is empty on the host: nothing of the image is a file here
  assert_eq "$(ls -A "$layer/diff")" ""
  assert_eq "$(find "$STRATA_ROOT/layers" -mindepth 1 -not -type l | sed "s|$STRATA_ROOT/layers/||" | sort | tr '\n' ' ')" \
    "$(basename "$layer") $(basename "$layer").lock $(basename "$layer")/diff $(basename "$layer")/layer.erofs l "
  run --separate-stderr "$STRATA" image inspect -f '{{.GraphDriver.Name}}' busybox
  assert_eq "$output" "erofs"
  # the layer's blob is an uncompressed tar: layer.erofs only indexes it
  # (a few KiB of tree), the data is read from the blob
  local blob
  blob=$("$STRATA" image inspect -f '{{index .RootFS.Layers 0}}' busybox)
  blob=$STRATA_ROOT/blobs/sha256/${blob#sha256:}
  [ "$(stat -c %s "$blob")" -gt 1000000 ]
  [ "$(stat -c %s "$layer/layer.erofs")" -lt 65536 ]
  run --separate-stderr "$STRATA" run --rm --pull never busybox sh -c 'md5sum </bin/busybox'
  assert_status 0
  assert_eq "${output%% *}" "$(tar -xOf "$(busybox_tar)" bin/busybox | md5sum | cut -d' ' -f1)"
}

# image_signature: every path of the image under / (proc, sys, dev and the
# per-container /etc/hostname, hosts and resolv.conf left out) with type,
# mode, owner, size (not for directories: it is the file system's) and,
# for files, an md5 of the content, as the container sees it.
image_signature() {
  "$STRATA" run --rm --pull never "$1" sh -c '
    find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /etc/hostname -o -path /etc/hosts -o -path /etc/resolv.conf \) -prune -o -print | sort |
    while read -r f; do
      s=$(stat -c "%n %F %a %u:%g" "$f")
      if [ ! -d "$f" ]; then s="$s $(stat -c %s "$f")"; fi
      if [ -f "$f" ] && [ ! -L "$f" ]; then s="$s $(md5sum <"$f" | cut -c1-32)"; fi
      if [ -L "$f" ]; then s="$s -> $(readlink "$f")"; fi
      echo "$s"
    done'
}

# layered_image: busybox plus a layer adding /o/old, then one that deletes
# a file (a whiteout), replaces /o (rm -rf and mkdir) and adds files
# with an owner, a symlink and a hard link; prints nothing.
layered_image() {
  import_busybox busybox >/dev/null
  "$STRATA" run --name mk1 --pull never busybox sh -c 'mkdir /o; echo old >/o/old'
  "$STRATA" commit mk1 step1 >/dev/null
  "$STRATA" run --name mk --pull never step1 sh -c \
    'rm /bin/ls; rm -rf /o; mkdir /o; echo new >/o/new; mkdir -p /data/d; echo hi >/data/d/f; chmod 0640 /data/d/f; chown 12:34 /data/d/f; ln -s d/f /data/link; ln /data/d/f /data/hard'
  "$STRATA" commit mk layered >/dev/null
  "$STRATA" rm mk mk1 >/dev/null
}

@test "storage driver: a container sees the same files with both backends (whiteouts, a replaced directory, owners, links)" {
  erofs_or_skip
  export STRATA_STORAGE_DRIVER=dir
  layered_image
  local a b
  a=$(image_signature layered)
  export STRATA_ROOT=$BATS_TEST_TMPDIR/root-erofs STRATA_STORAGE_DRIVER=erofs
  layered_image
  b=$(image_signature layered)
  assert_eq "$(cat "$STRATA_ROOT/storage-driver")" "erofs"
  [ "$(ls "$STRATA_ROOT"/layers/*/layer.erofs | wc -l)" -eq 3 ]
  [ -n "$a" ]
  assert_contains "$a" "/data/d/f regular file 640 12:34 3"
  assert_contains "$a" "/o/new regular file 644 0:0 4"
  if [[ $a == *"/bin/ls "* ]]; then
    echo "the whiteout of /bin/ls is not applied" >&2
    return 1
  fi
  assert_eq "$b" "$a"
}

@test "storage driver: a conversion killed with SIGKILL leaves no half layer, and the next start removes its temporary file" {
  erofs_or_skip
  export STRATA_STORAGE_DRIVER=erofs
  mkdir -p "$BATS_TEST_TMPDIR/big/data"
  local i
  for i in 1 2 3 4 5 6; do
    head -c 40000000 /dev/urandom >"$BATS_TEST_TMPDIR/big/data/f$i"
  done
  tar --owner=0 --group=0 --numeric-owner -C "$BATS_TEST_TMPDIR/big" -cf "$BATS_TEST_TMPDIR/big.tar" data
  rm -rf "$BATS_TEST_TMPDIR/big"
  "$STRATA" import -c 'CMD ["/data"]' "$BATS_TEST_TMPDIR/big.tar" big >/dev/null
  rm "$BATS_TEST_TMPDIR/big.tar"
  "$STRATA" create --name c1 big >/dev/null 2>"$BATS_TEST_TMPDIR/err" &
  local pid=$! found=
  for _ in $(seq 1 2000); do
    if compgen -G "$STRATA_ROOT/tmp/layer-*/layer.erofs.tmp-*" >/dev/null; then
      found=1
      break
    fi
    sleep 0.01
  done
  kill -KILL "$pid"
  wait "$pid" || true
  [ -n "$found" ] || { echo "never saw the conversion's temporary file" >&2; return 1; }
  # nothing under the final name, the garbage only under tmp/
  if ls "$STRATA_ROOT"/layers/*/layer.erofs 2>/dev/null; then
    echo "a layer file appeared under its final name" >&2
    return 1
  fi
  compgen -G "$STRATA_ROOT/tmp/layer-*/layer.erofs.tmp-*" >/dev/null
  # the next command that has the store alone empties tmp/
  "$STRATA" images >/dev/null
  run compgen -G "$STRATA_ROOT/tmp/layer-*"
  assert_failure
  run --separate-stderr "$STRATA" system check
  assert_status 0
  # the conversion starts again and completes
  run --separate-stderr "$STRATA" create --name c2 big
  assert_status 0
  [ -f "$(the_layer)/layer.erofs" ]
  run --separate-stderr "$STRATA" system check --deep
  assert_status 0
}

@test "storage driver: system check --deep finds a corrupted layer.erofs and --repair writes it again" {
  erofs_or_skip
  export STRATA_STORAGE_DRIVER=erofs
  import_busybox busybox >/dev/null
  "$STRATA" run --rm --pull never busybox true
  local img
  img=$(the_layer)/layer.erofs
  run --separate-stderr "$STRATA" system check --deep
  assert_status 0
  local good
  good=$(md5sum <"$img")
  # a byte in the middle of the image (file data), where only a byte
  # comparison can notice
  local size
  size=$(stat -c %s "$img")
  printf 'Z' | dd of="$img" bs=1 seek=$((size / 2)) conv=notrunc status=none
  [ "$(md5sum <"$img")" != "$good" ]
  run --separate-stderr "$STRATA" system check --deep
  assert_status 1
  assert_contains "$output" "differs from its tar sha256:"
  assert_contains "$output" "layer.erofs differs at byte $((size / 2))"
  run --separate-stderr "$STRATA" system check --deep --repair
  assert_status 0
  assert_match "$output" "Unpacked layer tree sha256:[0-9a-f]{64} again"
  assert_eq "$(md5sum <"$img")" "$good"
  run --separate-stderr "$STRATA" system check --deep
  assert_status 0
  run --separate-stderr "$STRATA" run --rm --pull never busybox echo ok
  assert_eq "$output" "ok"
}

@test "storage driver: nothing stays mounted on the host after run, create with a volume, cp, export, diff, commit and build" {
  erofs_or_skip
  export STRATA_STORAGE_DRIVER=erofs
  import_busybox busybox >/dev/null
  local before
  before=$(strata_mounts)
  "$STRATA" run --rm --pull never busybox true
  "$STRATA" run --name c1 --pull never -v vol:/etc busybox sh -c 'echo x >/x'
  [ -n "$("$STRATA" volume ls -q)" ]
  "$STRATA" cp c1:/etc/passwd "$BATS_TEST_TMPDIR/passwd"
  grep -q '^root:' "$BATS_TEST_TMPDIR/passwd"
  "$STRATA" export c1 | tar -t | grep -qx 'bin/busybox'
  "$STRATA" diff c1 | grep -qx 'A /x'
  "$STRATA" commit c1 c1img >/dev/null
  "$STRATA" rm c1 >/dev/null
  "$STRATA" run --rm --pull never -u nobody c1img sh -c 'cat /x'
  mkdir -p "$BATS_TEST_TMPDIR/ctx"
  printf 'FROM busybox\nRUN echo b >/b\nCOPY --chown=nobody f /f\n' >"$BATS_TEST_TMPDIR/ctx/Dockerfile"
  echo f >"$BATS_TEST_TMPDIR/ctx/f"
  "$STRATA" build -q -t built "$BATS_TEST_TMPDIR/ctx" >/dev/null
  run --separate-stderr "$STRATA" run --rm --pull never built cat /b
  assert_eq "$output" "b"
  assert_eq "$(strata_mounts)" "$before"
}
