#!/usr/bin/env bats
# strata version [--format F]            (Docker: `docker version`)
# strata info | system info [--format F] (Docker: `docker info`)

load helpers

# ---- version ---------------------------------------------------------------

@test "version: Docker's Client and Server blocks, the engine daemonless" {
  run --separate-stderr "$STRATA" version
  assert_status 0
  local want
  want=$("$STRATA" --version)
  want=${want#strata version }
  assert_match "$output" $'^Client: strata\n Version: +'"$want"$'\n'
  assert_match "$output" $'\n API version: +[^\n]+\n Go version: +(gcc|clang) '
  assert_match "$output" $'\n OS/Arch: +linux/[a-z0-9]+\n'
  assert_match "$output" $'\n\nServer: strata\n Engine \\(daemonless\\):\n  Version: +'"$want"$'\n'
  assert_contains "$output" " strata (built-in executor):"
}

@test "version: the OCI runtimes on PATH with their own --version" {
  local rt found=0
  for rt in crun runc; do
    command -v "$rt" >/dev/null || continue
    found=1
    local v
    v=$("$rt" --version | sed -n "s/^$rt version //p")
    run --separate-stderr "$STRATA" version
    assert_status 0
    assert_contains "$output" $'\n '"$rt"$':\n  Version:          '"$v"$'\n'
  done
  # and none when PATH has none
  run --separate-stderr env PATH=/nonexistent "$STRATA" version
  assert_status 0
  [[ $output != *$'\n crun:'* ]]
  [[ $output != *$'\n runc:'* ]]
  assert_contains "$output" " strata (built-in executor):"
  [ "$found" = 1 ] || skip "neither crun nor runc is installed"
}

@test "version --format: fields by Go name, json with Docker's keys" {
  run --separate-stderr "$STRATA" version --format '{{.Client.Version}}'
  assert_status 0
  assert_eq "$output" "$("$STRATA" --version | sed 's/^strata version //')"
  run --separate-stderr "$STRATA" version -f '{{.Server.Version}} {{.Client.Os}}'
  assert_status 0
  assert_match "$output" '^[0-9]+\.[0-9]+\.[0-9]+ linux$'
  run --separate-stderr "$STRATA" version --format '{{(index .Server.Components 0).Name}}'
  assert_status 0
  assert_eq "$output" "Engine (daemonless)"
  run --separate-stderr "$STRATA" version --format '{{json .}}'
  assert_status 0
  printf '%s' "$output" | python3 -m json.tool >/dev/null
  local keys
  keys=$(printf '%s' "$output" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sorted(d), "ApiVersion" in d["Client"], "APIVersion" in d["Client"], d["Server"]["Components"][0]["Name"])')
  assert_eq "$keys" "['Client', 'Server'] True False Engine (daemonless)"
  run --separate-stderr "$STRATA" version --format json
  assert_status 0
  assert_json_valid "$output"
}

@test "version: unknown flag and operands are usage errors" {
  run --separate-stderr "$STRATA" version --bogus
  assert_status 1
  assert_eq "$stderr" "unknown flag: --bogus
See 'strata version --help'."
  run --separate-stderr "$STRATA" version extra
  assert_status 1
  assert_contains "$stderr" '"strata version" accepts no arguments.'
  run --separate-stderr "$STRATA" version --format '{{.Client.Nope'
  assert_failure
}
