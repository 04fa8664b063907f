#!/usr/bin/env bats
# pull / push against a real registry serving HTTPS with a certificate
# from a CA the test makes with openssl.

load helpers
load ../registry/registry

setup_file() {
  reg_setup_file https
}

setup() {
  reg_setup 1
}

@test "registry https: the CA in certs.d/HOST:PORT/ca.crt is trusted" {
  id=$(import_busybox "$R:latest")
  STRATA_CERTS_D=$REG_CERTS_D run --separate-stderr "$STRATA" push "$R:latest"
  assert_status 0
  "$STRATA" rmi "$R:latest" >/dev/null
  STRATA_CERTS_D=$REG_CERTS_D run --separate-stderr "$STRATA" pull -q "$R:latest"
  assert_status 0
  run "$STRATA" images -q --no-trunc "$R:latest"
  assert_eq "$output" "$id"
}

@test "registry https: an unknown CA is refused with a hint" {
  import_busybox "$R:latest" >/dev/null
  STRATA_CERTS_D=$BATS_TEST_TMPDIR/empty run --separate-stderr "$STRATA" push "$R:latest"
  assert_status 1
  assert_imatch "$stderr" "certificate"
  assert_contains "$stderr" "--tls-verify=false"
  assert_contains "$stderr" "ca.crt"
}

@test "registry https: --tls-verify=false skips verification" {
  id=$(import_busybox "$R:latest")
  STRATA_CERTS_D=$BATS_TEST_TMPDIR/empty run --separate-stderr "$STRATA" push --tls-verify=false "$R:latest"
  assert_status 0
  "$STRATA" rmi "$R:latest" >/dev/null
  STRATA_CERTS_D=$BATS_TEST_TMPDIR/empty run --separate-stderr "$STRATA" pull -q --tls-verify=false "$R:latest"
  assert_status 0
}
