#!/usr/bin/env bats
# strata info (system info) and strata version, in Docker's layouts.

load helpers

@test "version: Docker's Client and Server blocks; --format fields and json" {
  run --separate-stderr "$STRATA" version
  assert_status 0
  assert_eq "${lines[0]}" "Client:"
  assert_match "${lines[1]}" "^ Version: +$("$STRATA" --version | awk '{print $3}')$"
  assert_contains "$output" $'\nServer: strata'
  assert_contains "$output" ' Engine (daemonless):'
  run --separate-stderr "$STRATA" version --format '{{.Client.Version}}|{{.Server.Version}}|{{.Client.ApiVersion}}'
  assert_eq "$output" "$("$STRATA" --version | awk '{print $3}')|$("$STRATA" --version | awk '{print $3}')|1.50"
  run --separate-stderr "$STRATA" version -f json
  python3 -c 'import json,sys; d = json.loads(sys.argv[1]); assert d["Server"]["Components"][0]["Name"] == "Engine (daemonless)"' "$output"
  if command -v crun >/dev/null; then
    assert_contains "$output" '"Name":"crun"'
  fi
  run --separate-stderr "$STRATA" version --bogus
  assert_status 1
  assert_contains "$stderr" "unknown flag: --bogus"
}

@test "info: counts follow the store; Storage Driver, Docker Root Dir and host facts" {
  run --separate-stderr "$STRATA" info --format '{{.Containers}} {{.Images}}'
  assert_status 0
  assert_eq "$output" "0 0"
  import_busybox busybox >/dev/null
  import_busybox --change 'ENV A=1' other >/dev/null
  run --separate-stderr "$STRATA" info --format '{{.Images}} {{.DockerRootDir}}'
  assert_eq "$output" "2 $STRATA_ROOT"
  if [ "$(id -u)" = 0 ]; then
    "$STRATA" create --pull never --name c1 busybox true >/dev/null
    "$STRATA" run -d --pull never --name c2 busybox sleep 100 >/dev/null
    run --separate-stderr "$STRATA" info --format '{{.Containers}} {{.ContainersRunning}} {{.ContainersPaused}} {{.ContainersStopped}}'
    assert_eq "$output" "2 1 0 1"
    "$STRATA" rm -f c1 c2 >/dev/null
  fi
  # the driver is the store's layer backend
  want=$(cat "$STRATA_ROOT/storage-driver")
  [ "$want" = dir ] && want=overlay2
  run --separate-stderr "$STRATA" info --format '{{.Driver}}'
  assert_eq "$output" "$want"
  run --separate-stderr "$STRATA" info
  assert_status 0
  assert_contains "$output" $'Server:\n Containers: 0\n  Running: 0\n  Paused: 0\n  Stopped: 0\n Images: 2\n'
  assert_contains "$output" " Storage Driver: $want"
  assert_contains "$output" " Docker Root Dir: $STRATA_ROOT"
  assert_contains "$output" " Kernel Version: $(uname -r)"
  assert_contains "$output" " CPUs: $(nproc)"
  assert_match "$(grep '^ Total Memory:' <<<"$output")" '^ Total Memory: [0-9.]+GiB$'
  run --separate-stderr "$STRATA" info -f json
  python3 -c '
import json, sys
d = json.loads(sys.argv[1])
for k in ("Containers", "ContainersRunning", "Images", "Driver", "DriverStatus", "KernelVersion", "OperatingSystem", "NCPU", "MemTotal", "DockerRootDir", "SecurityOptions", "CgroupVersion"):
    assert k in d, k
' "$output"
  # system info is the same command
  run --separate-stderr "$STRATA" system info --format '{{.Images}}'
  assert_eq "$output" "2"
}

@test "info and version are in strata --help" {
  run --separate-stderr "$STRATA" --help
  assert_match "$(grep '^  info ' <<<"$output")" 'Display system-wide information'
  assert_match "$(grep '^  version ' <<<"$output")" 'Show the strata version information'
}
