#!/usr/bin/env bats
# login / logout and Basic auth against a real registry with htpasswd.

load helpers
load ../registry/registry

setup_file() {
  reg_setup_file basic
}

setup() {
  reg_setup 1
}

@test "registry basic: push without credentials says to log in" {
  import_busybox "$R:latest" >/dev/null
  run --separate-stderr "$STRATA" push "$R:latest"
  assert_status 1
  assert_error_line "unauthorized: authentication required .*strata login"
}

@test "registry basic: a bad password is refused and nothing is stored" {
  run --separate-stderr "$STRATA" login -u "$REG_USER" --password-stdin "$REG" <<<"wrong"
  assert_status 1
  assert_error_line "unauthorized.*refused the credentials of user \"$REG_USER\""
  [ ! -e "$DOCKER_CONFIG/config.json" ]
}

@test "registry basic: login stores base64 user:password; push, pull; logout" {
  run --separate-stderr "$STRATA" login -u "$REG_USER" --password-stdin "$REG" <<<"$REG_PASS"
  assert_status 0
  assert_eq "$output" "Login Succeeded"
  auth=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["auths"][sys.argv[2]]["auth"])' \
    "$DOCKER_CONFIG/config.json" "$REG")
  assert_eq "$(printf '%s' "$auth" | base64 -d)" "$REG_USER:$REG_PASS"
  [ "$(stat -c %a "$DOCKER_CONFIG/config.json")" = 600 ]
  id=$(import_busybox "$R:latest")
  run --separate-stderr "$STRATA" push "$R:latest"
  assert_status 0
  "$STRATA" rmi "$R:latest" >/dev/null
  run --separate-stderr "$STRATA" pull -q "$R:latest"
  assert_status 0
  run "$STRATA" images -q --no-trunc "$R:latest"
  assert_eq "$output" "$id"
  run --separate-stderr "$STRATA" logout "$REG"
  assert_eq "$output" "Removing login credentials for $REG"
  run --separate-stderr "$STRATA" logout "$REG"
  assert_eq "$output" "Not logged in to $REG"
  run --separate-stderr "$STRATA" pull -q "$R:latest"
  assert_status 1
}

@test "registry basic: login keeps the other keys of config.json" {
  mkdir -p "$DOCKER_CONFIG"
  echo '{"auths":{"other:5000":{"auth":"eDp5"}},"psFormat":"table {{.ID}}"}' >"$DOCKER_CONFIG/config.json"
  run --separate-stderr "$STRATA" login -u "$REG_USER" -p "$REG_PASS" "$REG"
  assert_status 0
  assert_contains "$stderr" "WARNING! Using --password via the CLI is insecure"
  python3 - "$DOCKER_CONFIG/config.json" "$REG" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
assert c["psFormat"] == "table {{.ID}}", c
assert c["auths"]["other:5000"]["auth"] == "eDp5", c
assert sys.argv[2] in c["auths"], c
PY
}

@test "registry basic: credentials from REGISTRY_AUTH_FILE (containers auth.json)" {
  b=$(printf '%s' "$REG_USER:$REG_PASS" | base64 -w0)
  printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$REG" "$b" >"$REGISTRY_AUTH_FILE"
  import_busybox "$R:latest" >/dev/null
  run --separate-stderr "$STRATA" push "$R:latest"
  assert_status 0
}

@test "registry basic: credentials from a docker-credential helper" {
  mkdir -p "$BATS_TEST_TMPDIR/bin" "$DOCKER_CONFIG"
  cat >"$BATS_TEST_TMPDIR/bin/docker-credential-strata-test" <<EOF
#!/bin/sh
[ "\$1" = get ] || exit 1
read -r server
echo "\$server" >"$BATS_TEST_TMPDIR/helper-asked"
printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}\n' "\$server" "$REG_USER" "$REG_PASS"
EOF
  chmod +x "$BATS_TEST_TMPDIR/bin/docker-credential-strata-test"
  printf '{"credHelpers":{"%s":"strata-test"}}\n' "$REG" >"$DOCKER_CONFIG/config.json"
  import_busybox "$R:latest" >/dev/null
  PATH=$BATS_TEST_TMPDIR/bin:$PATH run --separate-stderr "$STRATA" push "$R:latest"
  assert_status 0
  assert_eq "$(cat "$BATS_TEST_TMPDIR/helper-asked")" "$REG"
}
