#!/usr/bin/env bats
# pull -a (tags/list with Link pagination), Docker manifest lists and OCI
# indexes pushed by skopeo, platform variants; against a real registry
# (Debian's docker-registry, plain HTTP on a free port of 127.0.0.1).

load helpers
load ../registry/registry # its hooks: one http registry for the whole file

@test "pull -a: every tag, following the registry's Link pages" {
  declare -A ids
  for t in v1 v2 v3 v4 v5; do
    ids[$t]=$(import_busybox -c "ENV TAG=$t" "$R:$t")
    "$STRATA" push -q "$R:$t" >/dev/null
  done
  "$STRATA" rmi "$R:v1" "$R:v2" "$R:v3" "$R:v4" "$R:v5" >/dev/null
  # The registry here does not paginate; the proxy does it for it, from
  # the registry's list, as distribution v3 and Docker Hub do.
  proxy_start "${REG##*:}" --page-tags 100
  P=$PROXY/t$BATS_TEST_NUMBER
  STRATA_REGISTRY_PAGE=2 run --separate-stderr "$STRATA" pull -a "$P"
  assert_status 0
  # Three pages of two: the next ones asked for with ?last=.
  [ "$(grep -c "^GET /v2/t$BATS_TEST_NUMBER/tags/list" "$PROXY_LOG")" -eq 3 ]
  grep -q "^GET /v2/t$BATS_TEST_NUMBER/tags/list?.*last=v4" "$PROXY_LOG"
  assert_eq "${lines[0]}" "v1: Pulling from t$BATS_TEST_NUMBER"
  assert_contains "$output" "v5: Pulling from t$BATS_TEST_NUMBER"
  [ "$(grep -c '^Digest: sha256:' <<<"$output")" -eq 5 ]
  assert_eq "${lines[${#lines[@]} - 2]}" "Status: Downloaded newer image for $P"
  assert_eq "${lines[${#lines[@]} - 1]}" "$P"
  for t in v1 v2 v3 v4 v5; do
    run "$STRATA" images -q --no-trunc "$P:$t"
    assert_eq "$output" "${ids[$t]}"
  done
  # Again: nothing new.
  run --separate-stderr "$STRATA" pull -a -q "$P"
  assert_status 0
  assert_eq "$output" "$P"
  run --separate-stderr "$STRATA" pull -a "$P"
  assert_contains "$output" "Status: Image is up to date for $P"
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

@test "pull -a: a tag or an unknown repository is refused" {
  run --separate-stderr "$STRATA" pull -a "$R:v1"
  assert_status 1
  assert_error_line "tag can't be used with --all-tags/-a"
  run --separate-stderr "$STRATA" pull -a "$REG/nothing-here"
  assert_status 1
  assert_error_line "name unknown|not found"
  assert_store_empty_and_clean
}

@test "pull: a Docker manifest list (schema 2) from skopeo resolves to the platform" {
  read -r amd arm < <(make_multiarch_oci "$BATS_TEST_TMPDIR/multi" "$(busybox_tar)")
  skopeo copy -q --all --format v2s2 --dest-tls-verify=false \
    "oci:$BATS_TEST_TMPDIR/multi:latest" "docker://$R:latest"
  mt=$(skopeo inspect --raw --tls-verify=false "docker://$R:latest" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["mediaType"])')
  assert_eq "$mt" "application/vnd.docker.distribution.manifest.list.v2+json"
  run --separate-stderr "$STRATA" pull --platform linux/arm64 "$R:latest"
  assert_status 0
  list=$(skopeo inspect --raw --tls-verify=false "docker://$R:latest" | sha256sum | cut -d' ' -f1)
  # The repo digest is the list's, as Docker records it.
  assert_contains "$output" "Digest: sha256:$list"
  run "$STRATA" images -q --no-trunc "$R:latest"
  # skopeo converted the configs' media type, not their bytes.
  assert_eq "$output" "$arm"
  run "$STRATA" image inspect --format '{{.Architecture}} {{index .RepoDigests 0}}' "$R:latest"
  assert_eq "$output" "arm64 $R@sha256:$list"
  run --separate-stderr "$STRATA" pull -q --platform linux/amd64 "$R:latest"
  assert_status 0
  run "$STRATA" images -q --no-trunc "$R:latest"
  assert_eq "$output" "$amd"
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

@test "pull: platform variants arm/v6, arm/v7, arm64/v8, amd64 in one OCI index" {
  read -r v6 v7 arm64 amd < <(make_multiarch_oci "$BATS_TEST_TMPDIR/multi" \
    "$(busybox_tar)" linux/arm/v6 linux/arm/v7 linux/arm64/v8 linux/amd64)
  skopeo copy -q --all --dest-tls-verify=false \
    "oci:$BATS_TEST_TMPDIR/multi:latest" "docker://$R:latest"
  check() {
    run --separate-stderr "$STRATA" pull -q --platform "$1" "$R:latest"
    assert_status 0
    run "$STRATA" images -q --no-trunc "$R:latest"
    assert_eq "$output" "$2"
  }
  check linux/arm/v7 "$v7"
  check linux/arm/v6 "$v6"
  # linux/arm means arm/v7 (containerd's normalization), not the first arm.
  check linux/arm "$v7"
  check linux/arm64 "$arm64"
  check linux/arm64/v8 "$arm64"
  check linux/amd64 "$amd"
  run --separate-stderr "$STRATA" pull --platform linux/arm/v5 "$R:latest"
  assert_status 1
  assert_error_line "no matching manifest for linux/arm/v5 in the manifest list entries"
}
