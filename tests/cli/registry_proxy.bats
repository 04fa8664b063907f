#!/usr/bin/env bats
# HTTP_PROXY / HTTPS_PROXY / NO_PROXY for registry requests, through a
# logging forwarding proxy (tests/registry/httpproxy.py) on 127.0.0.1 in
# front of real registries (one HTTP, one HTTPS).

load helpers
load ../registry/registry

setup_file() {
  command -v docker-registry >/dev/null || skip "docker-registry is not installed"
  reg_start https "$BATS_FILE_TMPDIR/secure" || return 1
  export SREG=$REG SREG_PID=$REG_PID SREG_CERTS_D=$REG_CERTS_D
  reg_start http "$BATS_FILE_TMPDIR/registry" || return 1
  export REG REG_PID REG_DIR
}

teardown_file() {
  reg_stop
  REG_PID=$SREG_PID reg_stop
}

setup() {
  reg_setup 1
  unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy no_proxy NO_PROXY
  local port
  port=$(reg_free_port)
  HPROXY=127.0.0.1:$port
  HPROXY_LOG=$BATS_TEST_TMPDIR/proxy.log
  : >"$HPROXY_LOG"
  python3 "$REG_TOOLS_DIR/httpproxy.py" "$port" "$HPROXY_LOG" >/dev/null 2>&1 &
  HPROXY_PID=$!
  reg_wait_port "$port"
}

teardown() {
  kill "$HPROXY_PID" 2>/dev/null
  wait "$HPROXY_PID" 2>/dev/null || true
}

@test "proxy: HTTP_PROXY (upper case, as Docker users write it) carries push and pull" {
  id=$(import_busybox "$R:latest")
  HTTP_PROXY=http://$HPROXY run --separate-stderr "$STRATA" push "$R:latest"
  assert_status 0
  grep -q "^PUT http://$REG/v2/t$BATS_TEST_NUMBER/manifests/latest " "$HPROXY_LOG"
  "$STRATA" rmi "$R:latest" >/dev/null
  : >"$HPROXY_LOG"
  HTTP_PROXY=http://$HPROXY run --separate-stderr "$STRATA" pull -q "$R:latest"
  assert_status 0
  grep -q "^GET http://$REG/v2/t$BATS_TEST_NUMBER/manifests/latest " "$HPROXY_LOG"
  grep -q "^GET http://$REG/v2/t$BATS_TEST_NUMBER/blobs/sha256:" "$HPROXY_LOG"
  assert_eq "$("$STRATA" images -q --no-trunc "$R:latest")" "$id"
}

@test "proxy: NO_PROXY naming the registry bypasses the proxy" {
  import_busybox "$R:latest" >/dev/null
  HTTP_PROXY=http://$HPROXY NO_PROXY=127.0.0.1 run --separate-stderr "$STRATA" push "$R:latest"
  assert_status 0
  assert_eq "$(cat "$HPROXY_LOG")" ""
  # the proxy is really consulted without NO_PROXY: a dead proxy fails it
  HTTP_PROXY=http://127.0.0.1:1 run --separate-stderr "$STRATA" pull -q "$R:latest"
  assert_status 1
  HTTP_PROXY=http://127.0.0.1:1 no_proxy=127.0.0.1 run --separate-stderr "$STRATA" pull -q "$R:latest"
  assert_status 0
}

@test "proxy: HTTPS_PROXY tunnels to an HTTPS registry with CONNECT" {
  RS=$SREG/t$BATS_TEST_NUMBER
  import_busybox "$RS:latest" >/dev/null
  HTTPS_PROXY=http://$HPROXY STRATA_CERTS_D=$SREG_CERTS_D run --separate-stderr "$STRATA" push "$RS:latest"
  assert_status 0
  grep -q "^CONNECT $SREG " "$HPROXY_LOG"
  # an http:// proxy setting does not apply to https
  : >"$HPROXY_LOG"
  HTTP_PROXY=http://$HPROXY STRATA_CERTS_D=$SREG_CERTS_D run --separate-stderr "$STRATA" pull -q "$RS:latest"
  assert_status 0
  assert_eq "$(cat "$HPROXY_LOG")" ""
}
