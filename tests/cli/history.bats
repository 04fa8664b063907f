#!/usr/bin/env bats
# strata history [OPTIONS] IMAGE

load helpers

# expected_history ID_CELL CREATED SIZE COMMENT: the table Docker prints for
# a one-entry history (an imported image: CREATED BY is empty).
expected_history() {
  printf 'IMAGE\tCREATED\tCREATED BY\tSIZE\tCOMMENT\n%s\t%s\t\t%s\t%s\n' "$@" | tabwriter
}

@test "history: an imported image has one row, laid out like docker history" {
  id=$(import_busybox busybox:latest)
  short=$(short_id "$id")
  run --separate-stderr "$STRATA" history busybox
  assert_status 0
  [ "${#lines[@]}" -eq 2 ]
  # Header for a one-row table with a 12-hex ID: IMAGE pads to 15.
  assert_match "${lines[0]}" '^IMAGE {10}CREATED +CREATED BY   SIZE      COMMENT$'
  [[ ${lines[1]} =~ ^$short\ {3}(.*\ ago)\ + ]]
  created=${BASH_REMATCH[1]}
  assert_match "$created" "$CREATED_RECENTLY"
  size=$("$STRATA" images --format '{{.Size}}' busybox)
  assert_busybox_size "$size"
  assert_eq "$output" "$(expected_history "$short" "$created" "$size" "Imported from -")"
}

@test "history: the comment is 'Imported from -' for stdin too" {
  run --separate-stderr "$STRATA" import - busybox:latest <"$(busybox_tar)"
  assert_status 0
  run --separate-stderr "$STRATA" history --format '{{.Comment}}' busybox
  assert_status 0
  assert_eq "$output" "Imported from -"
}

@test "history: --message shows up as the COMMENT" {
  import_busybox -m 'my rootfs' busybox:latest >/dev/null
  run --separate-stderr "$STRATA" history --format '{{.Comment}}' busybox
  assert_status 0
  assert_eq "$output" "my rootfs"
}

@test "history: -q prints the short image ID" {
  id=$(import_busybox busybox:latest)
  run --separate-stderr "$STRATA" history -q busybox
  assert_status 0
  assert_eq "$output" "$(short_id "$id")"
  run --separate-stderr "$STRATA" history --quiet busybox
  assert_eq "$output" "$(short_id "$id")"
}

@test "history: --no-trunc prints the full ID" {
  id=$(import_busybox busybox:latest)
  run --separate-stderr "$STRATA" history -q --no-trunc busybox
  assert_status 0
  assert_eq "$output" "$id"
  run --separate-stderr "$STRATA" history --no-trunc busybox
  assert_status 0
  [ "${#lines[@]}" -eq 2 ]
  [[ ${lines[1]} =~ ^$id\ {3}(.*\ ago)\ + ]]
  created=${BASH_REMATCH[1]}
  size=$("$STRATA" images --format '{{.Size}}' busybox)
  assert_eq "$output" "$(expected_history "$id" "$created" "$size" "Imported from -")"
}

@test "history: --format '{{.ID}}|{{.Size}}'" {
  id=$(import_busybox busybox:latest)
  run --separate-stderr "$STRATA" history --format '{{.ID}}|{{.Size}}' busybox
  assert_status 0
  assert_eq "${output%%|*}" "$(short_id "$id")"
  assert_busybox_size "${output#*|}"
  run --separate-stderr "$STRATA" history --format '{{.CreatedSince}}|{{.CreatedBy}}|' busybox
  assert_status 0
  assert_match "${output%%|*}" "$CREATED_RECENTLY"
  assert_eq "${output#*|}" "|"
}

@test "history: by ID" {
  id=$(import_busybox busybox:latest)
  run --separate-stderr "$STRATA" history -q "$(short_id "$id")"
  assert_status 0
  assert_eq "$output" "$(short_id "$id")"
}

@test "history: an unknown image fails" {
  run --separate-stderr "$STRATA" history nope
  assert_failure
  assert_eq "$output" ""
  assert_contains "$stderr" "No such image: nope"
}

@test "history: image history is an alias" {
  id=$(import_busybox busybox:latest)
  run --separate-stderr "$STRATA" image history -q busybox
  assert_status 0
  assert_eq "$output" "$(short_id "$id")"
}

@test "history: an image committed from a local image shows the parent's ID on the parent's step; elsewhere <missing>" {
  [ "$(id -u)" = 0 ] || skip "containers need root here"
  base=$(import_busybox --change 'CMD ["sh"]' base)
  "$STRATA" run --name c1 --pull never base sh -c 'echo x >/f'
  child=$("$STRATA" commit c1 child)
  run --separate-stderr "$STRATA" history --no-trunc --format '{{.ID}}' child
  assert_status 0
  assert_eq "${lines[0]}" "$child"
  assert_eq "${lines[1]}" "$base"
  # in a store that only has the child, the base's step is <missing>
  "$STRATA" save -o "$BATS_TEST_TMPDIR/child.tar" child
  export STRATA_ROOT=$BATS_TEST_TMPDIR/other
  "$STRATA" load -q -i "$BATS_TEST_TMPDIR/child.tar" >/dev/null
  run --separate-stderr "$STRATA" history --format '{{.ID}}' child
  assert_eq "${lines[0]}" "$(short_id "$child")"
  assert_eq "${lines[1]}" "<missing>"
}
