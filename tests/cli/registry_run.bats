#!/usr/bin/env bats
# run / create pull their image from a real registry (Debian's
# docker-registry, plain HTTP on a free port of 127.0.0.1) as Docker's
# --pull missing|never|always says.

load helpers
load ../registry/registry # its hooks: one http registry for the whole file

setup() {
  reg_setup
  # The image is in the registry, not in the store.
  import_busybox "$R:latest" >/dev/null
  "$STRATA" push -q "$R:latest" >/dev/null
  ID=$("$STRATA" images -q --no-trunc "$R:latest")
  "$STRATA" rmi "$R:latest" >/dev/null
}

need_root() {
  [ "$(id -u)" = 0 ] || skip "containers need root here"
}

@test "run: a missing image is pulled first, Docker's notice on stderr" {
  need_root
  run --separate-stderr "$STRATA" run --rm "$R" echo hello
  assert_status 0
  assert_eq "$output" "hello"
  assert_eq "$(printf '%s\n' "$stderr" | head -1)" "Unable to find image '$R:latest' locally"
  assert_contains "$stderr" "latest: Pulling from t$BATS_TEST_NUMBER"
  assert_match "$stderr" $'\n[0-9a-f]{12}: Pull complete\n'
  assert_contains "$stderr" "Status: Downloaded newer image for $R:latest"
  run "$STRATA" images -q --no-trunc "$R:latest"
  assert_eq "$output" "$ID"
  # Now it is there: no notice, no pull.
  run --separate-stderr "$STRATA" run --rm "$R" echo again
  assert_status 0
  assert_eq "$output" "again"
  assert_eq "$stderr" ""
}

@test "create: pulls a missing image; stdout is only the container ID" {
  need_root
  run --separate-stderr "$STRATA" create "$R:latest" true
  assert_status 0
  assert_match "$output" '^[0-9a-f]{64}$'
  assert_contains "$stderr" "Unable to find image '$R:latest' locally"
  run "$STRATA" images -q --no-trunc "$R:latest"
  assert_eq "$output" "$ID"
}

@test "run --pull never: a missing image fails with 125 and pulls nothing" {
  run --separate-stderr "$STRATA" run --pull never --rm "$R" true
  assert_status 125
  assert_error_line "No such image: $R:latest"
  [[ $stderr != *"Unable to find image"* ]]
  run --separate-stderr "$STRATA" create --pull=never "$R" true
  assert_status 125
  assert_store_empty_and_clean
}

@test "run --pull always: re-checks the registry, says Image is up to date" {
  need_root
  run --separate-stderr "$STRATA" run --pull always --rm "$R" true
  assert_status 0
  [[ $stderr != *"Unable to find image"* ]]
  assert_contains "$stderr" "Status: Downloaded newer image for $R:latest"
  run --separate-stderr "$STRATA" run --pull always --rm "$R" echo ok
  assert_status 0
  assert_eq "$output" "ok"
  assert_contains "$stderr" "latest: Pulling from t$BATS_TEST_NUMBER"
  assert_contains "$stderr" "Status: Image is up to date for $R:latest"
}

@test "run --pull: a bad value is refused with 125" {
  run --separate-stderr "$STRATA" run --pull sometimes "$R" true
  assert_status 125
  assert_error_line 'invalid pull option'
  assert_store_empty_and_clean
}

@test "run: a missing image in no registry fails with 125 and leaves nothing" {
  run --separate-stderr "$STRATA" run --rm "$REG/nothing-here:v1" true
  assert_status 125
  assert_contains "$stderr" "Unable to find image '$REG/nothing-here:v1' locally"
  assert_match "$stderr" $'\nError: .*not found'
  [[ $stderr == *"Error: "*"$REG"* ]]
  assert_store_empty_and_clean
}

@test "build: a missing FROM image is pulled; --pull fetches a newer one and the steps miss, explained" {
  need_root
  local ctx=$BATS_TEST_TMPDIR/ctx
  mkdir -p "$ctx"
  printf 'FROM %s\nRUN echo built >/b\n' "$R" >"$ctx/Dockerfile"
  run --separate-stderr "$STRATA" build --progress plain -t built:1 "$ctx"
  assert_status 0
  run "$STRATA" images -q --no-trunc "$R:latest"
  assert_eq "$output" "$ID"
  # a new image behind the same tag in the registry
  import_busybox --change 'ENV NEWER=1' "$R:latest" >/dev/null
  "$STRATA" push -q "$R:latest" >/dev/null
  local newer
  newer=$("$STRATA" images -q --no-trunc "$R:latest")
  [ "$newer" != "$ID" ]
  "$STRATA" tag "$ID" "$R:latest" # locally the old one again
  # without --pull the local base is used: every step cached
  run --separate-stderr "$STRATA" build --progress plain -t built:2 "$ctx"
  assert_status 0
  assert_contains "$stderr" "CACHED"
  # --pull asks the registry: the newer base, and the RUN misses because of it
  run --separate-stderr "$STRATA" build --pull --progress plain -t built:3 "$ctx"
  assert_status 0
  assert_contains "$stderr" "base image changed"
  run "$STRATA" images -q --no-trunc "$R:latest"
  assert_eq "$output" "$newer"
}
