#!/usr/bin/env bats
# strata system df [-v] [--format F]   (Docker: `docker system df`)
# strata system check [--repair]       (podman: `podman system check`)

load helpers

# busybox_sizes PRECISION: both renderings of the busybox layer's size
# (files only, files + symlinks), space-separated.
busybox_sizes() {
  local reg all
  read -r reg all < <(tar_content_size "$(busybox_tar)")
  if [ "$1" = 4 ]; then
    echo "$(human_size4 "$reg") $(human_size4 "$all")"
  else
    echo "$(docker_size "$reg") $(docker_size "$all")"
  fi
}

# assert_one_of VALUE "A B": VALUE is A or B.
assert_one_of() {
  local v
  for v in $2; do
    [ "$1" = "$v" ] && return 0
  done
  echo "|$1| is none of: $2"
  return 1
}

# The biggest file in blobs/sha256: the busybox layer.
layer_blob_file() {
  find "$STRATA_ROOT/blobs/sha256" -type f -printf '%s %p\n' | sort -n |
    tail -1 | cut -d' ' -f2
}

# ---- system df ------------------------------------------------------------

@test "system df: an empty store" {
  run --separate-stderr "$STRATA" system df
  assert_status 0
  assert_eq "$output" "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE
Images          0         0         0B        0B
Containers      0         0         0B        0B
Local Volumes   0         0         0B        0B
Build Cache     0         0         0B        0B"
}

@test "system df: two images sharing a layer count it once" {
  import_busybox --change 'ENV A=1' one:latest >/dev/null
  import_busybox --change 'ENV A=2' two:latest >/dev/null
  run --separate-stderr "$STRATA" system df --format '{{.Type}}|{{.TotalCount}}|{{.Active}}|{{.Size}}|{{.Reclaimable}}'
  assert_status 0
  assert_eq "${#lines[@]}" 4
  IFS='|' read -r type total active size reclaimable <<<"${lines[0]}"
  assert_eq "$type" Images
  assert_eq "$total" 2
  assert_eq "$active" 0
  assert_one_of "$size" "$(busybox_sizes 4)"
  assert_eq "$reclaimable" "$size (100%)"
  assert_eq "${lines[1]}" "Containers|0|0|0B|0B"
  assert_eq "${lines[2]}" "Local Volumes|0|0|0B|0B"
  assert_eq "${lines[3]}" "Build Cache|0|0|0B|0B"
  # The default table has Docker's layout.
  run --separate-stderr "$STRATA" system df
  assert_status 0
  assert_table_layout "$output"
  assert_match "${lines[1]}" "^Images +2 +0 +$size +$size \(100%\)$"
}

@test "system df: a second, different image adds its own layer" {
  import_busybox one:latest >/dev/null
  d=$BATS_TEST_TMPDIR/small
  mkdir -p "$d/data"
  head -c 5000 /dev/zero >"$d/data/file"
  tar --mtime=@0 --owner=0 --group=0 -C "$d" -cf "$BATS_TEST_TMPDIR/s.tar" data
  "$STRATA" import "$BATS_TEST_TMPDIR/s.tar" small:latest >/dev/null
  read -r reg all < <(tar_content_size "$(busybox_tar)")
  run --separate-stderr "$STRATA" system df --format '{{.Size}}'
  assert_one_of "${lines[0]}" "$(human_size4 $((reg + 5000))) $(human_size4 $((all + 5000)))"
}

@test "system df -v: shared and unique size per image" {
  a=$(import_busybox --change 'ENV A=1' one:latest)
  b=$(import_busybox --change 'ENV A=2' two:latest)
  run --separate-stderr "$STRATA" system df -v
  assert_status 0
  assert_eq "${lines[0]}" "Images space usage:"
  assert_match "${lines[1]}" '^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE +SHARED SIZE +UNIQUE SIZE +CONTAINERS$'
  # Newest first, like `images`.
  IFS=$'\t' read -r repo tag id created size shared unique containers \
    < <(printf '%s\n' "${lines[2]}" | table_cells)
  assert_eq "$repo" two
  assert_eq "$tag" latest
  assert_eq "$id" "$(short_id "$b")"
  assert_match "$created" "$CREATED_RECENTLY"
  assert_busybox_size "$size"
  assert_one_of "$shared" "$(busybox_sizes 4)"
  assert_eq "$unique" 0B
  assert_eq "$containers" 0
  assert_match "${lines[3]}" "^one +latest +$(short_id "$a") "
  # The images table is laid out like Docker's.
  table=$(printf '%s\n' "$output" | sed -n '3,5p')
  assert_table_layout "$table"
  assert_contains "$output" $'\n\nContainers space usage:\n\nCONTAINER ID   IMAGE     COMMAND   LOCAL VOLUMES   SIZE      CREATED   STATUS    NAMES\n'
  assert_contains "$output" $'\n\nLocal Volumes space usage:\n\nVOLUME NAME   LINKS     SIZE\n'
  assert_contains "$output" $'\n\nBuild cache usage: 0B\n\nCACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED'
}

@test "system df: the build cache: each step's layer and each RUN cache mount, Docker's rows; builder prune empties it" {
  [ "$(id -u)" = 0 ] || skip "RUN needs root here"
  import_busybox busybox >/dev/null
  ctx=$BATS_TEST_TMPDIR/ctx
  mkdir -p "$ctx"
  head -c 300000 /dev/urandom >"$ctx/big"
  printf 'FROM busybox\nCOPY big /big\nRUN --mount=type=cache,target=/c echo cached >/c/x && echo y >/y\nENV A=1\n' >"$ctx/Dockerfile"
  "$STRATA" build -q -t app "$ctx" >/dev/null
  run "$STRATA" system df --format '{{.Type}}|{{.TotalCount}}|{{.Active}}|{{.Size}}|{{.Reclaimable}}'
  assert_status 0
  # COPY's and RUN's layers (ENV made none) and the cache mount; all of
  # it reclaimable as Docker counts it (no build is using it), no share
  assert_eq "${lines[3]}" "Build Cache|3|0|300kB|300kB"
  run "$STRATA" system df -v
  assert_status 0
  assert_contains "$output" $'\n\nBuild cache usage: 300kB\n\nCACHE ID       CACHE TYPE        SIZE      CREATED'
  mapfile -t rows < <(sed -n '/^CACHE ID/,$p' <<<"$output" | tail -n +2)
  [ "${#rows[@]}" -eq 3 ]
  assert_match "${rows[0]}" '^[0-9a-f]{12} +regular +300kB +.* ago +.* ago +[0-9]+ +true$'
  assert_match "${rows[1]}" '^[0-9a-f]{12} +regular +2B +.* ago +.* ago +[0-9]+ +true$'
  assert_match "${rows[2]}" '^[0-9a-f]{12} +exec\.cachemount +7B +.* ago +.* ago +1 +false$'
  run "$STRATA" system df -v --format '{{range .BuildCache}}{{.CacheType}} {{.Shared}};{{end}}'
  assert_eq "$output" "regular true;regular true;exec.cachemount false;"
  # untagged, the steps' layers are the cache's alone: not shared
  "$STRATA" rmi app >/dev/null
  run "$STRATA" system df -v --format '{{range .BuildCache}}{{.Shared}};{{end}}'
  assert_eq "$output" "false;false;false;"
  "$STRATA" builder prune -af >/dev/null
  run "$STRATA" system df --format '{{.Type}}|{{.TotalCount}}|{{.Size}}'
  assert_eq "${lines[3]}" "Build Cache|0|0B"
}

@test "system df -v: a dangling image shows <none>" {
  import_busybox --change 'ENV A=1' app:latest >/dev/null
  import_busybox --change 'ENV A=2' app:latest >/dev/null
  run --separate-stderr "$STRATA" system df -v --format '{{range .Images}}{{.Repository}}:{{.Tag}} {{.UniqueSize}};{{end}}'
  assert_status 0
  assert_eq "$output" "app:latest 0B;<none>:<none> 0B;"
}

@test "system df --format json: one object per type" {
  import_busybox busybox:latest >/dev/null
  run --separate-stderr "$STRATA" system df --format json
  assert_status 0
  assert_eq "${#lines[@]}" 4
  for l in "${lines[@]}"; do
    assert_json_valid "$l"
  done
  assert_match "${lines[0]}" '^\{"Active":"0","Reclaimable":"[0-9.]+[kM]?B \(100%\)","Size":"[0-9.]+[kM]?B","TotalCount":"1","Type":"Images"\}$'
}

@test "system df: usage" {
  run --separate-stderr "$STRATA" system df --help
  assert_status 0
  assert_contains "$output" "Usage:  strata system df [OPTIONS]"
  run --separate-stderr "$STRATA" system df extra
  assert_status 1
}

# ---- system check -----------------------------------------------------------

@test "system check: a healthy store passes" {
  import_busybox busybox:latest >/dev/null
  import_busybox --change 'ENV A=1' other:latest >/dev/null
  run --separate-stderr "$STRATA" system check
  assert_status 0
  assert_eq "$output" "Checked 2 images and 5 blobs: no problems found."
}

@test "system check: an empty store passes" {
  run --separate-stderr "$STRATA" system check
  assert_status 0
  assert_eq "$output" "Checked 0 images and 0 blobs: no problems found."
}

@test "system check: a corrupted blob fails, naming it; --repair fixes" {
  import_busybox busybox:latest >/dev/null
  f=$(layer_blob_file)
  hex=$(basename "$f")
  printf 'X' | dd of="$f" bs=1 seek=1000 conv=notrunc status=none
  run --separate-stderr "$STRATA" system check
  assert_status 1
  assert_contains "$output" "blob sha256:$hex is corrupt"
  assert_match "$output" "image sha256:[0-9a-f]{64}: layer 1 blob sha256:$hex is corrupt"
  assert_match "${lines[-1]}" '^Checked 1 image and 3 blobs: [0-9]+ problems found\.$'
  run --separate-stderr "$STRATA" system check --repair
  assert_status 0
  assert_match "$output" 'Removed image sha256:[0-9a-f]{64}'
  assert_contains "$output" "Removed reference busybox:latest"
  assert_eq "${lines[-1]}" "After the repair: checked 0 images and 0 blobs: no problems found."
  assert_store_empty_and_clean
}

@test "system check: a deleted layer blob fails; --repair keeps healthy images" {
  import_busybox busybox:latest >/dev/null
  f=$(layer_blob_file)
  hex=$(basename "$f")
  d=$BATS_TEST_TMPDIR/small
  mkdir -p "$d/data"
  echo hello >"$d/data/file"
  tar --mtime=@0 --owner=0 --group=0 -C "$d" -cf "$BATS_TEST_TMPDIR/s.tar" data
  small=$("$STRATA" import "$BATS_TEST_TMPDIR/s.tar" small:latest)
  rm "$f"
  run --separate-stderr "$STRATA" system check
  assert_status 1
  assert_match "$output" "layer 1 blob sha256:$hex is missing"
  run --separate-stderr "$STRATA" system check --repair
  assert_status 0
  run --separate-stderr "$STRATA" system check
  assert_status 0
  run --separate-stderr "$STRATA" images -q --no-trunc
  assert_eq "$output" "$small"
}

@test "system check: a missing config fails; --repair fixes" {
  id=$(import_busybox busybox:latest)
  rm "$STRATA_ROOT/blobs/sha256/${id#sha256:}"
  run --separate-stderr "$STRATA" system check
  assert_status 1
  assert_contains "$output" "image $id: config blob $id is missing"
  run --separate-stderr "$STRATA" system check --repair
  assert_status 0
  assert_store_empty_and_clean
}

@test "system check: unreferenced blobs are garbage, not problems" {
  import_busybox busybox:latest >/dev/null
  printf 'left behind by a crash' >"$BATS_TEST_TMPDIR/g"
  hex=$(sha256sum "$BATS_TEST_TMPDIR/g" | cut -d' ' -f1)
  cp "$BATS_TEST_TMPDIR/g" "$STRATA_ROOT/blobs/sha256/$hex"
  run --separate-stderr "$STRATA" system check
  assert_status 0
  assert_contains "$output" "no problems found"
  assert_contains "$output" "1 unreferenced blob (22B) can be reclaimed"
  run --separate-stderr "$STRATA" system check --repair
  assert_status 0
  assert_contains "$output" "Reclaimed 22B of unreferenced blobs"
  [ ! -e "$STRATA_ROOT/blobs/sha256/$hex" ]
  run --separate-stderr "$STRATA" system check
  assert_eq "$output" "Checked 1 image and 3 blobs: no problems found."
}

@test "system check: a stray file among the blobs is a problem" {
  import_busybox busybox:latest >/dev/null
  echo notes >"$STRATA_ROOT/blobs/sha256/README"
  run --separate-stderr "$STRATA" system check
  assert_status 1
  assert_contains "$output" "stray file \`blobs/sha256/README\` is not a blob"
  run --separate-stderr "$STRATA" system check --repair
  assert_status 0
  [ ! -e "$STRATA_ROOT/blobs/sha256/README" ]
  run --separate-stderr "$STRATA" images -q
  assert_eq "${#lines[@]}" 1
}

# db_exec SQL: runs SQL on the store's database behind strata's back.
db_exec() {
  python3 -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript(sys.argv[2])
db.commit()
' "$STRATA_ROOT/strata.db" "$1"
}

@test "system check: images that are each other's parents are reported; --repair cuts the cycle" {
  a=$(import_busybox a:latest)
  b=$(import_busybox --change 'ENV B=1' b:latest)
  c=$(import_busybox --change 'ENV C=1' c:latest)
  db_exec "UPDATE images SET parent = '$b' WHERE id = '$a';
           UPDATE images SET parent = '$a' WHERE id = '$b';
           UPDATE images SET parent = '$a' WHERE id = '$c';"
  # nothing can remove them: rmi only untags, by ID it refuses
  run --separate-stderr "$STRATA" rmi -f a:latest
  assert_eq "$output" "Untagged: a:latest"
  run --separate-stderr "$STRATA" rmi -f "$a"
  assert_failure
  assert_error_line 'dependent child images'
  run --separate-stderr "$STRATA" system check
  assert_status 1
  first=$(printf '%s\n%s\n' "$a" "$b" | sort | head -1)
  other=$(printf '%s\n%s\n' "$a" "$b" | sort | tail -1)
  assert_contains "$output" "image $first: parent cycle (no image on it can be removed): $first -> $other -> $first"
  assert_eq "${lines[-1]}" "Checked 3 images and 7 blobs: 1 problem found."
  run --separate-stderr "$STRATA" system check --repair
  assert_status 0
  assert_contains "$output" "Cut the parent link of image $first (a parent cycle)"
  assert_eq "${lines[-1]}" "After the repair: checked 3 images and 7 blobs: no problems found."
  # every image can go now
  run --separate-stderr "$STRATA" rmi -f c:latest
  assert_status 0
  run --separate-stderr "$STRATA" image prune -a -f
  assert_status 0
  assert_store_empty_and_clean
}

@test "system check: usage" {
  run --separate-stderr "$STRATA" system check --help
  assert_status 0
  assert_contains "$output" "Usage:  strata system check [OPTIONS]"
  run --separate-stderr "$STRATA" system check --bogus
  assert_status 1
}

@test "system df and ps -s: containers' writable layers, Docker's sizes (hard links once, symlinks by target length)" {
  if [ "$(id -u)" != 0 ]; then
    skip "containers need root here"
  fi
  import_busybox busybox:latest >/dev/null
  isz=$("$STRATA" image inspect --format '{{.Size}}' busybox)
  # 5 (f, and f2 the same file) + 3 (g) + 4 (the link's target "abcd")
  "$STRATA" run --name w1 busybox sh -c 'printf 12345 >/f; printf abc >/g; ln /f /f2; ln -s abcd /l; mkdir /d' >/dev/null
  "$STRATA" run -d --name up busybox sh -c 'printf 1234567 >/f; sleep 60' >/dev/null
  for _ in $(seq 50); do
    "$STRATA" exec up test -s /f && break
    sleep 0.1
  done
  run --separate-stderr "$STRATA" ps -a -s --format '{{.Names}} {{.Size}}'
  assert_status 0
  assert_eq "$output" "up 7B (virtual $(docker_size $((isz + 7))))
w1 12B (virtual $(docker_size $((isz + 12))))"
  # -s adds Docker's SIZE column at the end of the default table
  run --separate-stderr "$STRATA" ps -a -s
  assert_match "${lines[0]}" '^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES +SIZE$'
  assert_match "${lines[2]}" " w1 +12B \(virtual [0-9.]+MB\)$"
  # the template alone asks for sizes, as Docker's does
  run --separate-stderr "$STRATA" ps -a -f name=w1 --format '{{.Size}}'
  assert_eq "$output" "12B (virtual $(docker_size $((isz + 12))))"
  run --separate-stderr "$STRATA" system df --format '{{.Type}}|{{.TotalCount}}|{{.Active}}|{{.Size}}|{{.Reclaimable}}'
  assert_eq "${lines[1]}" "Containers|2|1|19B|12B (63%)"
  run --separate-stderr "$STRATA" system df -v
  assert_status 0
  w1=$("$STRATA" ps -aq -f name=w1)
  up=$("$STRATA" ps -aq -f name=up)
  section=$(printf '%s\n' "$output" | sed -n '/^Containers space usage:$/,/^Local Volumes/p' | sed -n '3,5p')
  assert_match "$(sed -n 1p <<<"$section")" '^CONTAINER ID +IMAGE +COMMAND +LOCAL VOLUMES +SIZE +CREATED +STATUS +NAMES$'
  assert_match "$(sed -n 2p <<<"$section")" "^$up +busybox +\"sh -c 'printf 12345…\" +0 +7B +.* ago +Up .* +up$"
  assert_match "$(sed -n 3p <<<"$section")" "^$w1 +busybox +\"sh -c 'printf 12345…\" +0 +12B +.* ago +Exited \(0\) .* ago +w1$"
  assert_table_layout "$section"
  run --separate-stderr "$STRATA" system df -v --format '{{range .Containers}}{{.Names}}:{{.Size}}:{{.LocalVolumes}};{{end}}'
  assert_eq "$output" "up:7B:0;w1:12B:0;"
  "$STRATA" rm -f up >/dev/null
  run --separate-stderr "$STRATA" system df --format '{{.Type}}|{{.TotalCount}}|{{.Active}}|{{.Size}}|{{.Reclaimable}}'
  assert_eq "${lines[1]}" "Containers|1|0|12B|12B (100%)"
  "$STRATA" create --name v2 -v named1:/x -v /y busybox true >/dev/null
  run --separate-stderr "$STRATA" system df -v --format '{{range .Containers}}{{.Names}}:{{.LocalVolumes}};{{end}}'
  assert_eq "$output" "v2:2;w1:0;"
}
