#!/usr/bin/env bats
# Registry faults through a misbehaving proxy (tests/registry/tcpproxy.py)
# in front of a real registry (Debian's docker-registry, plain HTTP on a
# free port of 127.0.0.1): 429 and 5xx answers with Retry-After, truncated
# answers. strata retries what is worth retrying, says what went wrong
# (which layer, which registry, what to do), and never leaves a partial
# image, tag or blob behind.

load helpers
load ../registry/registry # its hooks: one http registry for the whole file

setup() {
  reg_setup 3
  ID=$(import_busybox "$R:latest")
  "$STRATA" push -q "$R:latest" >/dev/null
  # The layer's blob digest, to aim faults at it.
  LAYER=$(skopeo inspect --raw --tls-verify=false "docker://$R:latest" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"])')
  "$STRATA" rmi "$R:latest" >/dev/null
  IMAGES_BEFORE=$("$STRATA" images -q)
}

# assert_nothing_left: no image, tag or partial blob; system check passes.
assert_nothing_left() {
  run --separate-stderr "$STRATA" images -q
  assert_eq "$output" "$IMAGES_BEFORE"
  run --separate-stderr "$STRATA" system check
  assert_status 0
  [ -z "$(ls -A "$STRATA_ROOT/tmp" 2>/dev/null)" ] || {
    echo "left in tmp/: $(ls -A "$STRATA_ROOT/tmp")"
    return 1
  }
}

ms_now() { date +%s%3N; }

@test "faults: 429 with Retry-After on a layer is waited for, then the pull succeeds" {
  proxy_start "${REG##*:}" --status 429 --status-times 2 --retry-after 1 --match "$LAYER"
  start=$(ms_now)
  run --separate-stderr "$STRATA" pull "$PROXY/t$BATS_TEST_NUMBER:latest"
  elapsed=$(($(ms_now) - start))
  assert_status 0
  assert_match "$output" $'[0-9a-f]{12}: Retrying \\(attempt 2\\): HTTP status 429\n'
  assert_match "$output" $'[0-9a-f]{12}: Retrying \\(attempt 3\\): HTTP status 429\n'
  [ "$(grep -c '^STATUS 429' "$PROXY_LOG")" -eq 2 ]
  # Retry-After: 1, twice.
  [ "$elapsed" -ge 2000 ] || { echo "took $elapsed ms"; return 1; }
  run "$STRATA" images -q --no-trunc "$PROXY/t$BATS_TEST_NUMBER:latest"
  assert_eq "$output" "$ID"
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

@test "faults: 503 with Retry-After on the manifest is retried" {
  proxy_start "${REG##*:}" --status 503 --match /manifests/ --retry-after 1
  start=$(ms_now)
  run --separate-stderr "$STRATA" pull -q "$PROXY/t$BATS_TEST_NUMBER:latest"
  elapsed=$(($(ms_now) - start))
  assert_status 0
  grep -q '^STATUS 503 for GET /v2/t[0-9]*/manifests/latest' "$PROXY_LOG"
  [ "$elapsed" -ge 1000 ] || { echo "took $elapsed ms"; return 1; }
  run "$STRATA" images -q --no-trunc "$PROXY/t$BATS_TEST_NUMBER:latest"
  assert_eq "$output" "$ID"
}

@test "faults: 500 without Retry-After backs off; persistent 500 gives up clearly" {
  proxy_start "${REG##*:}" --status 500 --status-times 100 --match "$LAYER"
  run --separate-stderr "$STRATA" pull "$PROXY/t$BATS_TEST_NUMBER:latest"
  assert_failure
  [ "$(grep -c '^STATUS 500' "$PROXY_LOG")" -eq 3 ]
  # Names the image, the layer, the registry, and says what to do.
  assert_match "$stderr" "^Error: pull $PROXY/t$BATS_TEST_NUMBER:latest: layer [0-9a-f]{12}: get blob sha256:[0-9a-f]{64}"
  assert_contains "$stderr" "HTTP 500 from $PROXY, 3 attempts"
  assert_contains "$stderr" "try again later"
  assert_nothing_left
}

@test "faults: persistent 429 on the manifest gives up with Docker's words" {
  proxy_start "${REG##*:}" --status 429 --status-times 100 --match /manifests/
  run --separate-stderr "$STRATA" pull "$PROXY/t$BATS_TEST_NUMBER:latest"
  assert_failure
  assert_contains "$stderr" "toomanyrequests"
  assert_contains "$stderr" "HTTP 429 from $PROXY, 3 attempts"
  assert_nothing_left
}

@test "faults: a Retry-After longer than strata waits fails at once and says so" {
  proxy_start "${REG##*:}" --status 503 --status-times 100 --retry-after 3600 --match "$LAYER"
  start=$(ms_now)
  run --separate-stderr "$STRATA" pull "$PROXY/t$BATS_TEST_NUMBER:latest"
  elapsed=$(($(ms_now) - start))
  assert_failure
  [ "$(grep -c '^STATUS 503' "$PROXY_LOG")" -eq 1 ]
  [ "$elapsed" -lt 5000 ] || { echo "took $elapsed ms"; return 1; }
  assert_contains "$stderr" "asks to retry after 3600 s"
  assert_nothing_left
}

@test "faults: a truncated layer is resumed; truncated every time, it fails clearly" {
  # Once: resumed (Range) and complete.
  proxy_start "${REG##*:}" --cut-after 300000 --cut-times 1
  run --separate-stderr "$STRATA" pull "$PROXY/t$BATS_TEST_NUMBER:latest"
  assert_status 0
  assert_contains "$output" "Retrying (attempt 2): connection closed before the end ("
  "$STRATA" rmi "$PROXY/t$BATS_TEST_NUMBER:latest" >/dev/null
  proxy_stop
  # Every time: gives up, nothing left.
  proxy_start "${REG##*:}" --cut-after 300000 --cut-times 100
  run --separate-stderr "$STRATA" pull "$PROXY/t$BATS_TEST_NUMBER:latest"
  assert_failure
  assert_match "$stderr" "^Error: pull $PROXY/t$BATS_TEST_NUMBER:latest: layer [0-9a-f]{12} from $PROXY: "
  assert_contains "$stderr" "gave up after 3 attempts; check the network and the registry, then pull again"
  assert_nothing_left
}

@test "faults: a truncated manifest answer is retried" {
  # The cut lands inside the first answer that is longer than 40 bytes.
  proxy_start "${REG##*:}" --cut-after 40 --cut-times 1
  run --separate-stderr "$STRATA" pull -q "$PROXY/t$BATS_TEST_NUMBER:latest"
  assert_status 0
  grep -q "CUT after 40" "$PROXY_LOG"
  run "$STRATA" images -q --no-trunc "$PROXY/t$BATS_TEST_NUMBER:latest"
  assert_eq "$output" "$ID"
}
