#!/usr/bin/env bats
# strata pull / push against a real registry (Debian's docker-registry) in
# plain-HTTP mode on a free port of 127.0.0.1, started here and stopped by
# PID; skopeo for interop.

load helpers
load ../registry/registry # its hooks: one http registry for the whole file

setup() {
  reg_setup 3
}

# push_busybox NAME: imports busybox as NAME and pushes it; prints the ID.
push_busybox() {
  local id
  id=$(import_busybox "$1") || return 1
  "$STRATA" push "$1" >/dev/null || return 1
  echo "$id"
}

@test "registry: push then pull gives the same image, with Docker's output" {
  id=$(import_busybox "$R:latest")
  run --separate-stderr "$STRATA" push "$R:latest"
  assert_status 0
  assert_eq "${lines[0]}" "The push refers to repository [$R]"
  assert_match "${lines[1]}" '^[0-9a-f]{12}: Preparing$'
  assert_match "${lines[2]}" '^[0-9a-f]{12}: Pushed$'
  assert_match "${lines[3]}" '^latest: digest: sha256:[0-9a-f]{64} size: [0-9]+$'
  pushed=$(echo "${lines[3]}" | cut -d' ' -f3)

  "$STRATA" rmi "$R:latest" >/dev/null
  run --separate-stderr "$STRATA" pull "$R:latest"
  assert_status 0
  assert_eq "${lines[0]}" "latest: Pulling from t$BATS_TEST_NUMBER"
  assert_match "${lines[1]}" '^[0-9a-f]{12}: Pulling fs layer$'
  assert_match "$output" $'\n[0-9a-f]{12}: Pull complete\n'
  assert_eq "${lines[${#lines[@]} - 3]}" "Digest: $pushed"
  assert_eq "${lines[${#lines[@]} - 2]}" "Status: Downloaded newer image for $R:latest"
  assert_eq "${lines[${#lines[@]} - 1]}" "$R:latest"
  run "$STRATA" image inspect --format '{{.Id}} {{index .RepoDigests 0}}' "$R:latest"
  assert_eq "$output" "$id $R@$pushed"
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

@test "registry: pull NAME without a tag says Using default tag: latest first" {
  push_busybox "$R:latest" >/dev/null
  "$STRATA" rmi "$R:latest" >/dev/null
  run --separate-stderr "$STRATA" pull "$R"
  assert_status 0
  assert_eq "${lines[0]}" "Using default tag: latest"
  assert_eq "${lines[1]}" "latest: Pulling from t$BATS_TEST_NUMBER"
  assert_eq "${lines[${#lines[@]} - 1]}" "$R:latest"
  digest=$("$STRATA" image inspect --format '{{index .RepoDigests 0}}' "$R")
  # Not with -q, a tag or a digest.
  run --separate-stderr "$STRATA" pull -q "$R"
  assert_status 0
  assert_eq "$output" "$R:latest"
  run --separate-stderr "$STRATA" pull "$R:latest"
  assert_eq "${lines[0]}" "latest: Pulling from t$BATS_TEST_NUMBER"
  run --separate-stderr "$STRATA" pull "$digest"
  assert_status 0
  [[ $output != *"Using default tag"* ]]
  # A malformed reference is refused without it.
  run --separate-stderr "$STRATA" pull "$R/UPPER"
  assert_failure
  [[ $output != *"Using default tag"* ]]
}

@test "registry: a second push says Layer already exists, fast" {
  push_busybox "$R:latest" >/dev/null
  start=$(date +%s%N)
  run --separate-stderr "$STRATA" push "$R:latest"
  end=$(date +%s%N)
  assert_status 0
  assert_match "${lines[2]}" '^[0-9a-f]{12}: Layer already exists$'
  ms=$(((end - start) / 1000000))
  echo "# re-push took ${ms} ms" >&3
  # 100 ms is the target for a release build; sanitizer builds are slower.
  [ "$ms" -lt 2000 ]
}

@test "registry: pulling an unchanged tag again says Image is up to date" {
  push_busybox "$R:latest" >/dev/null
  run --separate-stderr "$STRATA" pull "$R:latest"
  assert_status 0
  # as Docker: no layer lines for an image the store already has
  assert_eq "$output" "latest: Pulling from t$BATS_TEST_NUMBER
Digest: $("$STRATA" image inspect --format '{{index .RepoDigests 0}}' "$R:latest" | cut -d@ -f2)
Status: Image is up to date for $R:latest
$R:latest"
}

@test "registry: pull by digest, -q, images --digests" {
  push_busybox "$R:v1" >/dev/null
  digest=$("$STRATA" image inspect --format '{{index .RepoDigests 0}}' "$R:v1")
  digest=${digest#*@}
  "$STRATA" rmi "$R:v1" >/dev/null
  run --separate-stderr "$STRATA" pull -q "$R@$digest"
  assert_status 0
  assert_eq "$output" "$R@$digest"
  run --separate-stderr "$STRATA" images --digests --format '{{.Tag}} {{.Digest}}'
  assert_eq "$output" "<none> $digest"
  run "$STRATA" image inspect --format '{{index .RepoDigests 0}}' "$R@$digest"
  assert_eq "$output" "$R@$digest"
}

@test "registry: a missing tag is a clear error and leaves nothing" {
  push_busybox "$R:latest" >/dev/null
  "$STRATA" rmi "$R:latest" >/dev/null
  run --separate-stderr "$STRATA" pull "$R:nope"
  assert_status 1
  assert_error_line "manifest for $R:nope not found: manifest unknown"
  run --separate-stderr "$STRATA" pull "$REG/no-such-repo:latest"
  assert_status 1
  assert_error_line "not found"
  assert_store_empty_and_clean
}

@test "registry: a blob served with a wrong digest is refused" {
  push_busybox "$R:latest" >/dev/null
  layer=$("$STRATA" image inspect --format '{{index .RepoDigests 0}}' "$R:latest")
  "$STRATA" rmi "$R:latest" >/dev/null
  manifest=$(skopeo inspect --raw --tls-verify=false "docker://$R:latest")
  blob=$(printf '%s' "$manifest" | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"])')
  f=$(reg_blob_file "$blob")
  cp "$f" "$BATS_TEST_TMPDIR/orig"
  # Same size, one byte changed.
  printf 'X' | dd of="$f" bs=1 seek=100 conv=notrunc 2>/dev/null
  run --separate-stderr "$STRATA" pull "$R:latest"
  cp "$BATS_TEST_TMPDIR/orig" "$f"
  assert_status 1
  assert_contains "$stderr" "${blob:7:12}"
  assert_imatch "$stderr" "digest"
  assert_store_empty_and_clean
}

@test "registry: the registry stopped mid-pull leaves no partial image" {
  push_busybox "$R:latest" >/dev/null
  "$STRATA" rmi "$R:latest" >/dev/null
  # 200 kB/s: the 1 MB layer takes seconds.
  proxy_start "${REG##*:}" --rate 200000
  STRATA_REGISTRY_RETRIES=2 "$STRATA" pull "$PROXY/t$BATS_TEST_NUMBER:latest" \
    >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
  pid=$!
  sleep 1.5
  proxy_stop
  status=0
  wait "$pid" || status=$?
  assert_failure
  assert_match "$(cat "$BATS_TEST_TMPDIR/err")" "^Error: pull .*layer [0-9a-f]{12}"
  assert_store_empty_and_clean
}

@test "registry: a broken transfer resumes with a Range request" {
  push_busybox "$R:latest" >/dev/null
  id=$("$STRATA" images -q --no-trunc "$R:latest")
  "$STRATA" rmi "$R:latest" >/dev/null
  proxy_start "${REG##*:}" --cut-after 400000 --cut-times 1
  run --separate-stderr "$STRATA" pull "$PROXY/t$BATS_TEST_NUMBER:latest"
  assert_status 0
  assert_contains "$output" "Retrying"
  grep -q "CUT after" "$PROXY_LOG"
  grep -qi "^range: bytes=[1-9][0-9]*-" "$PROXY_LOG"
  run "$STRATA" images -q --no-trunc "$PROXY/t$BATS_TEST_NUMBER:latest"
  assert_eq "$output" "$id"
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

@test "registry: a stalled connection times out with a clear error" {
  push_busybox "$R:latest" >/dev/null
  "$STRATA" rmi "$R:latest" >/dev/null
  proxy_start "${REG##*:}" --rate 1
  STRATA_REGISTRY_STALL_TIMEOUT=1 STRATA_REGISTRY_RETRIES=1 \
    run --separate-stderr "$STRATA" pull "$PROXY/t$BATS_TEST_NUMBER:latest"
  assert_failure
  assert_imatch "$stderr" "too slow|timed out|timeout"
  assert_store_empty_and_clean
}

@test "registry: push with strata, copy with skopeo: same digests" {
  id=$(push_busybox "$R:latest")
  digest=$("$STRATA" image inspect --format '{{index .RepoDigests 0}}' "$R:latest")
  digest=${digest#*@}
  skopeo copy -q --src-tls-verify=false "docker://$R:latest" "oci:$BATS_TEST_TMPDIR/oci:latest"
  got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$BATS_TEST_TMPDIR/oci/index.json")
  assert_eq "$got" "$digest"
  cfg=$(skopeo inspect --raw --tls-verify=false "docker://$R:latest" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["digest"])')
  assert_eq "$cfg" "$id"
}

@test "registry: push with skopeo from strata save, pull with strata: same image ID" {
  id=$(import_busybox "local/bb:latest")
  "$STRATA" save -o "$BATS_TEST_TMPDIR/bb.tar" local/bb:latest
  skopeo copy -q --dest-tls-verify=false "docker-archive:$BATS_TEST_TMPDIR/bb.tar" "docker://$R:latest"
  "$STRATA" rmi local/bb:latest >/dev/null
  run --separate-stderr "$STRATA" pull "$R:latest"
  assert_status 0
  run "$STRATA" images -q --no-trunc "$R:latest"
  assert_eq "$output" "$id"
}

@test "registry: a layer in another repository of the registry is mounted" {
  push_busybox "$R/a:latest" >/dev/null
  "$STRATA" tag "$R/a:latest" "$R/b:latest"
  run --separate-stderr "$STRATA" push "$R/b:latest"
  assert_status 0
  assert_match "${lines[2]}" "^[0-9a-f]{12}: Mounted from t$BATS_TEST_NUMBER/a$"
}

@test "registry: --compression-format zstd pushes zstd layers that pull back" {
  id=$(import_busybox "$R:latest")
  run --separate-stderr "$STRATA" push --compression-format zstd "$R:latest"
  assert_status 0
  mt=$(skopeo inspect --raw --tls-verify=false "docker://$R:latest" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["mediaType"])')
  assert_eq "$mt" "application/vnd.oci.image.layer.v1.tar+zstd"
  "$STRATA" rmi "$R:latest" >/dev/null
  run --separate-stderr "$STRATA" pull -q "$R:latest"
  assert_status 0
  run "$STRATA" images -q --no-trunc "$R:latest"
  assert_eq "$output" "$id"
}

@test "registry: a multi-platform index resolves to the platform asked for" {
  read -r amd arm < <(make_multiarch_oci "$BATS_TEST_TMPDIR/multi" "$(busybox_tar)")
  skopeo copy -q --all --dest-tls-verify=false "oci:$BATS_TEST_TMPDIR/multi:latest" "docker://$R:latest"
  run --separate-stderr "$STRATA" pull -q --platform linux/arm64 "$R:latest"
  assert_status 0
  run "$STRATA" images -q --no-trunc "$R:latest"
  assert_eq "$output" "$arm"
  run --separate-stderr "$STRATA" pull -q --platform linux/amd64 "$R:latest"
  assert_status 0
  run "$STRATA" images -q --no-trunc "$R:latest"
  assert_eq "$output" "$amd"
  run --separate-stderr "$STRATA" pull --platform linux/s390x "$R:latest"
  assert_status 1
  assert_error_line "no matching manifest for linux/s390x in the manifest list entries"
}

@test "registry: rmi of a pulled image untags its tag and its repo digest, then deletes it and its layer" {
  id=$(push_busybox "$R:latest")
  "$STRATA" rmi "$R:latest" >/dev/null
  "$STRATA" pull -q "$R:latest" >/dev/null
  digest=$("$STRATA" image inspect --format '{{index .RepoDigests 0}}' "$R:latest")
  layer=$("$STRATA" image inspect --format '{{index .RootFS.Layers 0}}' "$R:latest")
  run --separate-stderr "$STRATA" rmi "$R:latest"
  assert_status 0
  assert_eq "$output" "Untagged: $R:latest
Untagged: $digest
Deleted: $id
Deleted: $layer"
}

@test "registry: -D logs each registry request and push decision on stderr; output unchanged" {
  import_busybox "$R:latest" >/dev/null
  run --separate-stderr "$STRATA" -D push "$R:latest"
  assert_status 0
  assert_eq "${lines[0]}" "The push refers to repository [$R]"
  [[ $output != *debug* ]]
  assert_contains "$stderr" "strata: debug: registry: GET http://$REG/v2/ -> "
  assert_match "$stderr" "strata: debug: registry: HEAD http://$REG/v2/t$BATS_TEST_NUMBER/blobs/sha256:[0-9a-f]{64} -> 404"
  assert_contains "$stderr" "strata: debug: push: layer sha256:"
  assert_contains "$stderr" "no compressed form yet: compressing it"
  assert_match "$stderr" "PUT http://$REG/v2/t$BATS_TEST_NUMBER/manifests/latest -> 201"
  # --log-level debug is the same; the default level logs nothing
  run --separate-stderr "$STRATA" --log-level debug push "$R:latest"
  assert_contains "$stderr" "compressed form known: asking the registry first"
  run --separate-stderr "$STRATA" push "$R:latest"
  assert_eq "$stderr" ""
}
