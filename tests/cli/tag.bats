#!/usr/bin/env bats
# strata tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]

load helpers

# Every "repository:tag ID" row of `images`, sorted.
tag_rows() {
  "$STRATA" images --format '{{.Repository}}:{{.Tag}} {{.ID}}' | sort
}

@test "tag: SRC DST adds a second name for the same image, silently" {
  id=$(import_busybox busybox:latest)
  run --separate-stderr "$STRATA" tag busybox:latest busybox:v1
  assert_status 0
  assert_eq "$output" ""
  short=$(short_id "$id")
  assert_eq "$(tag_rows)" "busybox:latest $short
busybox:v1 $short"
}

@test "tag: a target without a tag means :latest" {
  id=$(import_busybox busybox:1)
  run --separate-stderr "$STRATA" tag busybox:1 mybox
  assert_status 0
  run --separate-stderr "$STRATA" image inspect --format '{{.Id}}' mybox:latest
  assert_status 0
  assert_eq "$output" "$id"
}

@test "tag: by short ID, full ID and bare hex" {
  id=$(import_busybox busybox:latest)
  short=$(short_id "$id")
  run --separate-stderr "$STRATA" tag "$short" byshort:1
  assert_status 0
  run --separate-stderr "$STRATA" tag "$id" byfull:1
  assert_status 0
  run --separate-stderr "$STRATA" tag "${id#sha256:}" byhex:1
  assert_status 0
  assert_eq "$(tag_rows)" "busybox:latest $short
byfull:1 $short
byhex:1 $short
byshort:1 $short"
}

@test "tag: a registry name with a port is listed in short form" {
  id=$(import_busybox busybox:latest)
  run --separate-stderr "$STRATA" tag busybox localhost:5000/team/app:v1
  assert_status 0
  run --separate-stderr "$STRATA" images --format '{{.Repository}} {{.Tag}}' localhost:5000/team/app
  assert_status 0
  assert_eq "$output" "localhost:5000/team/app v1"
  run --separate-stderr "$STRATA" images localhost:5000/team/app
  assert_status 0
  assert_match "${lines[1]}" "^localhost:5000/team/app   v1        $(short_id "$id")   "
  run --separate-stderr "$STRATA" image inspect --format '{{json .RepoTags}}' "$id"
  assert_eq "$(printf '%s' "$output" | python3 -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin))))')" \
    "busybox:latest localhost:5000/team/app:v1"
}

@test "tag: docker.io/library names are listed in Docker's short form" {
  id=$(import_busybox busybox:latest)
  run --separate-stderr "$STRATA" tag busybox docker.io/library/busybox:full
  assert_status 0
  run --separate-stderr "$STRATA" tag busybox docker.io/team/app:1
  assert_status 0
  run --separate-stderr "$STRATA" tag busybox index.docker.io/library/busybox:idx
  assert_status 0
  short=$(short_id "$id")
  assert_eq "$(tag_rows)" "busybox:full $short
busybox:idx $short
busybox:latest $short
team/app:1 $short"
}

@test "tag: an uppercase repository is refused, saying it must be lowercase" {
  import_busybox busybox:latest >/dev/null
  run --separate-stderr "$STRATA" tag busybox Busybox:v1
  assert_failure
  assert_error_line 'lowercase|uppercase|upper-case|lower-case'
  run --separate-stderr "$STRATA" images -q
  [ "${#lines[@]}" -eq 1 ]
}

@test "tag: bad characters in the tag are refused, naming the tag" {
  import_busybox busybox:latest >/dev/null
  run --separate-stderr "$STRATA" tag busybox 'busybox:ta!g'
  assert_failure
  assert_error_line 'tag'
  run --separate-stderr "$STRATA" tag busybox 'busybox:-lead'
  assert_failure
  assert_error_line 'tag'
  run --separate-stderr "$STRATA" images -q
  [ "${#lines[@]}" -eq 1 ]
}

@test "tag: a 128-character tag is fine, 129 is refused naming the tag" {
  import_busybox busybox:latest >/dev/null
  t128=$(printf 'a%.0s' $(seq 128))
  t129=${t128}b
  run --separate-stderr "$STRATA" tag busybox "busybox:$t128"
  assert_status 0
  run --separate-stderr "$STRATA" tag busybox "busybox:$t129"
  assert_failure
  assert_error_line 'tag'
  run --separate-stderr "$STRATA" images --format '{{.Tag}}'
  assert_eq "$(printf '%s\n' "$output" | sort)" "$t128
latest"
}

@test "tag: a target with a digest is refused" {
  id=$(import_busybox busybox:latest)
  run --separate-stderr "$STRATA" tag busybox "busybox@$id"
  assert_failure
  assert_error_line 'digest'
}

@test "tag: an unknown source image fails" {
  run --separate-stderr "$STRATA" tag nope busybox:1
  assert_failure
  assert_contains "$stderr" "No such image: nope"
  assert_store_empty_and_clean
}

@test "tag: moving a tag to another image leaves the old one dangling" {
  old=$(import_busybox busybox:latest)
  new=$(import_busybox -m new other:latest)
  run --separate-stderr "$STRATA" tag other busybox
  assert_status 0
  run --separate-stderr "$STRATA" image inspect --format '{{.Id}}' busybox
  assert_eq "$output" "$new"
  run --separate-stderr "$STRATA" images --filter dangling=true -q
  assert_eq "$output" "$(short_id "$old")"
  run --separate-stderr "$STRATA" image inspect --format '{{json .RepoTags}}' "$old"
  assert_status 0
  assert_eq "$output" "[]"
}

@test "tag: wrong number of arguments is a usage error" {
  run --separate-stderr "$STRATA" tag onlyone
  assert_failure
  assert_imatch "$stderr" 'argument'
  run --separate-stderr "$STRATA" tag a b c
  assert_failure
  assert_imatch "$stderr" 'argument'
}

@test "tag: 300 tags keep the SQLite WAL small (each command re-reads it)" {
  import_busybox busybox >/dev/null
  local wal=$STRATA_ROOT/strata.db-wal max=0 size i
  for i in $(seq 300); do
    "$STRATA" tag busybox "many$i:v1"
    size=$(stat -c %s "$wal" 2>/dev/null || echo 0)
    [ "$size" -gt "$max" ] && max=$size
  done
  # strata keeps it under 1 MiB (plus what one command writes); it used
  # to grow by ~14 kB per tag
  if [ "$max" -ge $((1536 * 1024)) ]; then
    echo "strata.db-wal reached $max bytes"
    return 1
  fi
  run --separate-stderr "$STRATA" images --format '{{.Repository}}'
  assert_eq "$(printf '%s\n' "$output" | grep -c '^many')" 300
  run --separate-stderr "$STRATA" system check
  assert_status 0
}
