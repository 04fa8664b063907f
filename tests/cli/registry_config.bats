#!/usr/bin/env bats
# Registry settings from strata's config file ($STRATA_CONFIG, else
# /etc/strata/daemon.json; Docker's daemon.json keys): registry-mirrors for
# docker.io and insecure-registries; against real registries (Debian's
# docker-registry on free ports of 127.0.0.1). No internet is used: a pull
# of `busybox` must reach the mirror only.

load helpers
load ../registry/registry

setup_file() {
  command -v docker-registry >/dev/null || skip "docker-registry is not installed"
  reg_start http "$BATS_FILE_TMPDIR/mirror" || return 1
  export MIRROR=$REG MIRROR_PID=$REG_PID MIRROR_DIR=$REG_DIR
  reg_start https "$BATS_FILE_TMPDIR/tls" || return 1
  export REG REG_PID REG_DIR
}

teardown_file() {
  reg_stop
  REG_PID=$MIRROR_PID reg_stop
}

setup() {
  strata_setup
  export DOCKER_CONFIG=$BATS_TEST_TMPDIR/docker REGISTRY_AUTH_FILE=$BATS_TEST_TMPDIR/auth.json
  # Anything that tried the internet would go to this dead proxy.
  export https_proxy=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9
  export HTTPS_PROXY=$https_proxy HTTP_PROXY=$http_proxy
  export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
  export STRATA_CONFIG=$BATS_TEST_TMPDIR/daemon.json
}

@test "config: registry-mirrors serves docker.io pulls; only the mirror is asked" {
  id=$(import_busybox "$MIRROR/library/busybox:latest")
  "$STRATA" push -q "$MIRROR/library/busybox:latest" >/dev/null
  "$STRATA" rmi "$MIRROR/library/busybox:latest" >/dev/null
  proxy_start "${MIRROR##*:}"
  printf '{"registry-mirrors": ["http://%s"], "log-level": "warn"}\n' "$PROXY" >"$STRATA_CONFIG"
  run --separate-stderr "$STRATA" pull busybox
  assert_status 0
  assert_eq "${lines[0]}" "Using default tag: latest"
  assert_eq "${lines[1]}" "latest: Pulling from library/busybox"
  assert_contains "$output" "Status: Downloaded newer image for busybox:latest"
  assert_eq "${lines[${#lines[@]} - 1]}" "docker.io/library/busybox:latest"
  grep -q "^GET /v2/library/busybox/manifests/latest" "$PROXY_LOG"
  run "$STRATA" images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
  assert_eq "$output" "busybox:latest ${id:7:12}"
  # run pulls through the mirror too.
  "$STRATA" rmi busybox >/dev/null
  run --separate-stderr "$STRATA" create --pull always busybox true
  assert_status 0
  assert_contains "$stderr" "Status: Downloaded newer image for busybox:latest"
  # Without the mirror, docker.io is unreachable here: the pull fails.
  echo '{}' >"$STRATA_CONFIG"
  run --separate-stderr "$STRATA" pull -q busybox:1.36
  assert_failure
  assert_contains "$stderr" "docker.io"
}

@test "config: insecure-registries lets a self-signed HTTPS registry be used" {
  id=$(import_busybox "$REG/ins:latest")
  "$STRATA" push -q --tls-verify=false "$REG/ins:latest" >/dev/null
  "$STRATA" rmi "$REG/ins:latest" >/dev/null
  echo '{}' >"$STRATA_CONFIG"
  run --separate-stderr "$STRATA" pull -q "$REG/ins:latest"
  assert_failure
  assert_imatch "$stderr" "certificate"
  printf '{"insecure-registries": ["%s"]}\n' "$REG" >"$STRATA_CONFIG"
  run --separate-stderr "$STRATA" pull -q "$REG/ins:latest"
  assert_status 0
  run "$STRATA" images -q --no-trunc "$REG/ins:latest"
  assert_eq "$output" "$id"
  "$STRATA" rmi "$REG/ins:latest" >/dev/null
  # A CIDR works too.
  printf '{"insecure-registries": ["127.0.0.0/8"]}\n' >"$STRATA_CONFIG"
  run --separate-stderr "$STRATA" pull -q "$REG/ins:latest"
  assert_status 0
  # Another registry is not covered.
  printf '{"insecure-registries": ["127.0.0.2:5000", "10.0.0.0/8"]}\n' >"$STRATA_CONFIG"
  run --separate-stderr "$STRATA" pull -q "$REG/ins:latest"
  assert_failure
}

@test "config: a broken config file is a clear error naming it" {
  echo '{"registry-mirrors": "http://x"}' >"$STRATA_CONFIG"
  run --separate-stderr "$STRATA" pull -q "$MIRROR/x:latest"
  assert_status 1
  assert_contains "$stderr" "$STRATA_CONFIG"
  assert_contains "$stderr" "must be arrays"
  echo '{not json' >"$STRATA_CONFIG"
  run --separate-stderr "$STRATA" pull -q "$MIRROR/x:latest"
  assert_status 1
  assert_contains "$stderr" "$STRATA_CONFIG"
}

@test "config: a failing mirror falls back to the next one, then to docker.io" {
  id=$(import_busybox "$MIRROR/library/busybox:latest")
  "$STRATA" push -q "$MIRROR/library/busybox:latest" >/dev/null
  "$STRATA" rmi "$MIRROR/library/busybox:latest" >/dev/null
  dead=127.0.0.1:$(reg_free_port)
  # A mirror that lacks the image: the proxy answers 404 for its manifest.
  proxy_start "${MIRROR##*:}" --status 404 --match /manifests/ --status-times 100
  printf '{"registry-mirrors": ["http://%s", "http://%s", "http://%s"]}\n' \
    "$dead" "$PROXY" "$MIRROR" >"$STRATA_CONFIG"
  run --separate-stderr "$STRATA" pull busybox
  assert_status 0
  assert_eq "${lines[0]}" "Using default tag: latest"
  assert_eq "${lines[1]}" "latest: Pulling from library/busybox"
  assert_contains "$output" "Status: Downloaded newer image for busybox:latest"
  grep -q "^STATUS 404 for GET /v2/library/busybox/manifests/latest" "$PROXY_LOG"
  run "$STRATA" images -q --no-trunc busybox
  assert_eq "$output" "$id"
  "$STRATA" rmi busybox >/dev/null
  # Every mirror failing (refused, 404): docker.io itself is asked last,
  # here through the dead proxy, and its error is the one reported.
  printf '{"registry-mirrors": ["http://%s", "http://%s"]}\n' "$dead" "$PROXY" >"$STRATA_CONFIG"
  run --separate-stderr "$STRATA" pull -q busybox
  assert_status 1
  assert_contains "$stderr" "registry-1.docker.io"
  [ "$(grep -c "^STATUS 404 for GET /v2/library/busybox/manifests/latest" "$PROXY_LOG")" -eq 2 ]
  assert_store_empty_and_clean
}

@test "config: a mirror answering 5xx falls back too; pushes never use mirrors" {
  import_busybox "$MIRROR/library/busybox:latest" >/dev/null
  "$STRATA" push -q "$MIRROR/library/busybox:latest" >/dev/null
  "$STRATA" rmi "$MIRROR/library/busybox:latest" >/dev/null
  proxy_start "${MIRROR##*:}" --status 503 --match /v2/ --status-times 100
  printf '{"registry-mirrors": ["http://%s", "http://%s"]}\n' "$PROXY" "$MIRROR" >"$STRATA_CONFIG"
  STRATA_REGISTRY_RETRIES=2 run --separate-stderr "$STRATA" pull -q busybox
  assert_status 0
  assert_eq "$output" "docker.io/library/busybox:latest"
  grep -q "^STATUS 503 for GET /v2/" "$PROXY_LOG"
  # A push to docker.io goes to docker.io (here: the dead proxy), not to
  # a mirror.
  : >"$PROXY_LOG"
  run --separate-stderr "$STRATA" push busybox
  assert_status 1
  assert_contains "$stderr" "docker.io"
  [ ! -s "$PROXY_LOG" ]
}
