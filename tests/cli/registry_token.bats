#!/usr/bin/env bats
# Bearer token auth: the registry's `auth: token` mode with a token issuer
# the test runs (tests/registry/token_issuer.py, RS256 via openssl).

load helpers
load ../registry/registry

setup_file() {
  reg_setup_file token
}

setup() {
  reg_setup 1
}

token_requests() {
  if [ -f "$REG_DIR/token.log" ]; then
    wc -l <"$REG_DIR/token.log"
  else
    echo 0
  fi
}

@test "registry token: anonymous push is refused clearly" {
  import_busybox "$R:latest" >/dev/null
  run --separate-stderr "$STRATA" push "$R:latest"
  assert_status 1
  assert_error_line "unauthorized.*strata login"
}

@test "registry token: a bad password is refused by the token service" {
  run --separate-stderr "$STRATA" login -u "$REG_USER" --password-stdin "$REG" <<<"nope"
  assert_status 1
  assert_error_line "token.*unauthorized"
}

@test "registry token: login, push and pull with one token each" {
  run --separate-stderr "$STRATA" login -u "$REG_USER" --password-stdin "$REG" <<<"$REG_PASS"
  assert_status 0
  id=$(import_busybox "$R:latest")
  before=$(token_requests)
  run --separate-stderr "$STRATA" push "$R:latest"
  assert_status 0
  after=$(token_requests)
  # One token for the whole push: every blob and the manifest reuse it.
  assert_eq "$((after - before))" 1
  "$STRATA" rmi "$R:latest" >/dev/null
  before=$(token_requests)
  run --separate-stderr "$STRATA" pull -q "$R:latest"
  assert_status 0
  after=$(token_requests)
  assert_eq "$((after - before))" 1
  run "$STRATA" images -q --no-trunc "$R:latest"
  assert_eq "$output" "$id"
}
