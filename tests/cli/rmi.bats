#!/usr/bin/env bats
# strata rmi [-f] IMAGE...   (Docker: `docker rmi`, `docker image rm`)

load helpers

# assert_deleted_lines FROM ID: lines[FROM] is "Deleted: ID" and any later
# lines are further "Deleted: sha256:..." records (Docker also lists the
# layers it released).
assert_deleted_lines() {
  local from=$1 id=$2 i
  assert_eq "${lines[from]}" "Deleted: $id"
  for ((i = from + 1; i < ${#lines[@]}; i++)); do
    assert_match "${lines[i]}" '^Deleted: sha256:[0-9a-f]{64}$'
  done
}

# Files under the store's blob and layer directories (those that exist).
store_files() {
  local d
  for d in "$STRATA_ROOT/blobs" "$STRATA_ROOT/layers"; do
    [ -d "$d" ] && find "$d" -mindepth 1 \( -type f -o -type l \) -print
  done | sort
  return 0
}

@test "rmi: by name prints Untagged: then Deleted:" {
  id=$(import_busybox busybox:latest)
  run --separate-stderr "$STRATA" rmi busybox:latest
  assert_status 0
  assert_eq "${lines[0]}" "Untagged: busybox:latest"
  assert_deleted_lines 1 "$id"
  assert_store_empty_and_clean
  run --separate-stderr "$STRATA" image inspect "$id"
  assert_status 1
}

@test "rmi: a short name means :latest" {
  id=$(import_busybox busybox:latest)
  run --separate-stderr "$STRATA" rmi busybox
  assert_status 0
  assert_eq "${lines[0]}" "Untagged: busybox:latest"
  assert_deleted_lines 1 "$id"
}

@test "rmi: one tag of an image with two only untags it" {
  id=$(import_busybox busybox:latest)
  "$STRATA" tag busybox:latest busybox:v1
  run --separate-stderr "$STRATA" rmi busybox:v1
  assert_status 0
  assert_eq "$output" "Untagged: busybox:v1"
  run --separate-stderr "$STRATA" images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
  assert_eq "$output" "busybox:latest $(short_id "$id")"
  run --separate-stderr "$STRATA" image inspect --format '{{.Id}}' busybox:latest
  assert_eq "$output" "$id"
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

@test "rmi: by ID, an image in several repositories needs -f" {
  id=$(import_busybox busybox:latest)
  "$STRATA" tag busybox:latest other:latest
  short=$(short_id "$id")
  run --separate-stderr "$STRATA" rmi "$short"
  assert_failure
  assert_eq "$output" ""
  assert_contains "$stderr" "conflict: unable to delete $short (must be forced) - image is referenced in multiple repositories"
  run --separate-stderr "$STRATA" images -q
  [ "${#lines[@]}" -eq 2 ]

  run --separate-stderr "$STRATA" rmi -f "$short"
  assert_status 0
  assert_eq "$(printf '%s\n' "${lines[@]:0:2}" | sort)" "Untagged: busybox:latest
Untagged: other:latest"
  assert_deleted_lines 2 "$id"
  assert_store_empty_and_clean
}

@test "rmi: by ID, a single-tag image is untagged and deleted" {
  id=$(import_busybox busybox:latest)
  run --separate-stderr "$STRATA" rmi "$(short_id "$id")"
  assert_status 0
  assert_eq "${lines[0]}" "Untagged: busybox:latest"
  assert_deleted_lines 1 "$id"
  assert_store_empty_and_clean
}

@test "rmi: by full ID" {
  id=$(import_busybox busybox:latest)
  run --separate-stderr "$STRATA" rmi "$id"
  assert_status 0
  assert_eq "${lines[0]}" "Untagged: busybox:latest"
  assert_deleted_lines 1 "$id"
}

@test "rmi: an unknown image fails with Docker's message" {
  run --separate-stderr "$STRATA" rmi nope
  assert_status 1
  assert_eq "$output" ""
  assert_eq "$stderr" "Error: No such image: nope"
}

@test "rmi: moving a tag makes the old image dangling; rmi of it prints only Deleted:" {
  old=$(import_busybox busybox:latest)
  new=$(import_busybox -m new busybox:latest)
  [ "$old" != "$new" ]
  run --separate-stderr "$STRATA" images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
  assert_eq "$(printf '%s\n' "$output" | sort)" "<none>:<none> $(short_id "$old")
busybox:latest $(short_id "$new")"
  run --separate-stderr "$STRATA" rmi "$(short_id "$old")"
  assert_status 0
  assert_deleted_lines 0 "$old"
  run --separate-stderr "$STRATA" images --no-trunc -q
  assert_eq "$output" "$new"
}

@test "rmi: several images at once" {
  a=$(import_busybox -m a a:1)
  b=$(import_busybox -m b b:1)
  keep=$(import_busybox -m keep keep:1)
  run --separate-stderr "$STRATA" rmi a:1 b:1
  assert_status 0
  assert_contains "$output" "Untagged: a:1"
  assert_contains "$output" "Untagged: b:1"
  assert_contains "$output" "Deleted: $a"
  assert_contains "$output" "Deleted: $b"
  run --separate-stderr "$STRATA" images --no-trunc -q
  assert_eq "$output" "$keep"
}

@test "rmi: an unknown name among several: the others go, exit 1" {
  id=$(import_busybox busybox:latest)
  run --separate-stderr "$STRATA" rmi nope busybox
  assert_status 1
  assert_contains "$stderr" "No such image: nope"
  assert_eq "${lines[0]}" "Untagged: busybox:latest"
  assert_deleted_lines 1 "$id"
  assert_store_empty_and_clean
}

@test "rmi: image rm is an alias" {
  id=$(import_busybox busybox:latest)
  run --separate-stderr "$STRATA" image rm busybox
  assert_status 0
  assert_eq "${lines[0]}" "Untagged: busybox:latest"
  assert_deleted_lines 1 "$id"
}

@test "rmi: no argument is a usage error" {
  run --separate-stderr "$STRATA" rmi
  assert_failure
  assert_contains "$stderr" "requires at least 1 argument"
}

@test "rmi: a layer shared by two images survives deleting one; nothing is left after both" {
  a=$(import_busybox -m a a:1)
  before_b=$(store_files)
  b=$(import_busybox -m b b:1)
  [ "$a" != "$b" ]
  run --separate-stderr "$STRATA" image inspect --format '{{json .RootFS.Layers}}' a:1 b:1
  assert_status 0
  [ "${lines[0]}" = "${lines[1]}" ]
  layers=${lines[0]}

  run --separate-stderr "$STRATA" rmi a:1
  assert_status 0
  run --separate-stderr "$STRATA" system check
  assert_status 0
  run --separate-stderr "$STRATA" image inspect --format '{{json .RootFS.Layers}}' b:1
  assert_status 0
  assert_eq "$output" "$layers"
  # b's files are all still there: everything a had except its own config
  # and manifest is shared. b's config blob is named by b's ID.
  [ -n "$before_b" ]
  after=$(store_files)
  [ -n "$after" ]
  if [ -d "$STRATA_ROOT/blobs/sha256" ]; then
    [ -e "$STRATA_ROOT/blobs/sha256/${b#sha256:}" ]
  fi

  run --separate-stderr "$STRATA" rmi b:1
  assert_status 0
  assert_store_empty_and_clean
  run store_files
  assert_eq "$output" ""
}

@test "rmi: after a mix of tags and removals the store checks clean" {
  a=$(import_busybox busybox:latest)
  "$STRATA" tag busybox:latest busybox:1
  "$STRATA" tag busybox:latest other:2
  b=$(import_busybox -m b busybox:latest)
  "$STRATA" rmi busybox:1 >/dev/null
  "$STRATA" rmi -f "$(short_id "$a")" >/dev/null
  run --separate-stderr "$STRATA" system check
  assert_status 0
  run --separate-stderr "$STRATA" images --no-trunc -q
  assert_eq "$output" "$b"
  "$STRATA" rmi busybox >/dev/null
  assert_store_empty_and_clean
  run store_files
  assert_eq "$output" ""
}
