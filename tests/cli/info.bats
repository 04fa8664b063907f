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

@test "version: Git commit is the commit built, when known" {
  run --separate-stderr "$STRATA" version --format '{{.Client.GitCommit}} {{.Server.GitCommit}}'
  assert_status 0
  local c=${output%% *}
  assert_eq "${output#* }" "$c"
  [ -n "$c" ] || skip "built outside git"
  assert_match "$c" '^[0-9a-f]{7,}$'
  git -C "$REPO_ROOT" cat-file -e "$c^{commit}"
  run --separate-stderr "$STRATA" version
  assert_contains "$output" $'\n Git commit:        '"$c"$'\n'
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

# ---- info ------------------------------------------------------------------

# info_field NAME: the value of " NAME: value" in `strata info`.
info_field() {
  "$STRATA" info | sed -n "s/^ *$1: //p" | head -1
}

@test "info: Docker's layout, counts of an empty store, the root given" {
  run --separate-stderr "$STRATA" info
  assert_status 0
  assert_match "$output" $'^Client: strata\n Version: +[0-9.]+\n Context: +default\n Debug Mode: false\n\nServer:\n Containers: 0\n  Running: 0\n  Paused: 0\n  Stopped: 0\n Images: 0\n Server Version: [0-9.]+\n Storage Driver: '
  assert_contains "$output" $'\n Docker Root Dir: '"$STRATA_ROOT"$'\n'
  assert_contains "$output" $'\n Logging Driver: json-file\n Cgroup Driver: cgroupfs\n Cgroup Version: '
  assert_contains "$output" $'\n Plugins:\n  Volume: local\n  Network: bridge host null\n'
  assert_contains "$output" $'\n Default Runtime: strata\n'
  assert_contains "$output" $'\n Security Options:\n  seccomp\n   Profile: builtin\n'
  assert_contains "$output" $'\n Kernel Version: '"$(uname -r)"$'\n'
  assert_contains "$output" $'\n Operating System: '"$(. /etc/os-release && echo "$PRETTY_NAME")"$'\n'
  assert_contains "$output" $'\n OSType: linux\n Architecture: '"$(uname -m)"$'\n CPUs: '"$(nproc)"$'\n'
  assert_contains "$output" $'\n Name: '"$(hostname)"$'\n'
  assert_match "$output" $'\n Total Memory: [0-9.]+[KMGT]iB\n'
  assert_match "$output" $'\n Live Restore Enabled: false$'
  # the same command under system
  run --separate-stderr "$STRATA" system info
  assert_status 0
  assert_contains "$output" $'\n Docker Root Dir: '"$STRATA_ROOT"$'\n'
  # --root wins over $STRATA_ROOT
  run --separate-stderr "$STRATA" --root "$BATS_TEST_TMPDIR/other" info --format '{{.DockerRootDir}}'
  assert_status 0
  assert_eq "$output" "$BATS_TEST_TMPDIR/other"
}

@test "info: Total Memory and Cgroup Version from the host" {
  local kb want
  kb=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)
  want=$(python3 -c "
b=$kb*1024.0; u=['B','KiB','MiB','GiB','TiB']; i=0
while b>=1024 and i<len(u)-1: b/=1024; i+=1
print(('%.4g' % b) + u[i])")
  assert_eq "$(info_field 'Total Memory')" "$want"
  run --separate-stderr "$STRATA" info --format '{{.MemTotal}} {{.NCPU}}'
  assert_eq "$output" "$((kb * 1024)) $(nproc)"
  if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
    assert_eq "$(info_field 'Cgroup Version')" 2
  else
    assert_eq "$(info_field 'Cgroup Version')" 1
  fi
}

@test "info: container and image counts follow create, start, pause and import" {
  [ "$(id -u)" = 0 ] || skip "containers need root here"
  import_busybox busybox >/dev/null
  run --separate-stderr "$STRATA" info --format '{{.Images}} {{.Containers}}'
  assert_status 0
  assert_eq "$output" "1 0"
  # a second tag of the same image is not a second image
  "$STRATA" tag busybox other:v1
  import_busybox --change 'ENV X=1' second >/dev/null
  "$STRATA" create --pull never --name c1 busybox true >/dev/null
  "$STRATA" create --pull never --name c2 busybox true >/dev/null
  "$STRATA" run -d --pull never --name r1 busybox sleep 60 >/dev/null
  run --separate-stderr "$STRATA" info --format '{{.Images}} {{.Containers}} {{.ContainersRunning}} {{.ContainersPaused}} {{.ContainersStopped}}'
  assert_status 0
  assert_eq "$output" "2 3 1 0 2"
  run --separate-stderr "$STRATA" info
  assert_contains "$output" $'\n Containers: 3\n  Running: 1\n  Paused: 0\n  Stopped: 2\n Images: 2\n'
  if "$STRATA" pause r1 >/dev/null 2>&1; then
    assert_eq "$("$STRATA" info --format '{{.ContainersRunning}} {{.ContainersPaused}}')" "0 1"
    "$STRATA" unpause r1 >/dev/null
  fi
  "$STRATA" rm -f r1 >/dev/null
  "$STRATA" start c1 >/dev/null
  assert_eq "$("$STRATA" info --format '{{.Containers}} {{.ContainersRunning}} {{.ContainersStopped}}')" "2 0 2"
}

@test "info: Storage Driver is the store's recorded backend" {
  [ "$(id -u)" = 0 ] || skip "containers need root here"
  STRATA_STORAGE_DRIVER=dir "$STRATA" import "$(busybox_tar)" busybox >/dev/null
  STRATA_STORAGE_DRIVER=dir "$STRATA" run --rm --pull never busybox true
  assert_eq "$(cat "$STRATA_ROOT/storage-driver")" dir
  assert_eq "$(info_field 'Storage Driver')" overlay2
  run --separate-stderr "$STRATA" info --format '{{.Driver}}'
  assert_eq "$output" overlay2
  # the backing file system of the root, by Docker's name
  local fs want
  fs=$(stat -f -c %T "$STRATA_ROOT")
  case $fs in
  ext2/ext3) want=extfs ;;
  *) want=$fs ;;
  esac
  assert_eq "$(info_field 'Backing Filesystem')" "$want"
  # a store recorded as erofs says erofs (the recorded file is what counts)
  local other=$BATS_TEST_TMPDIR/erofs-root
  mkdir -p "$other"
  echo erofs >"$other/storage-driver"
  run --separate-stderr "$STRATA" --root "$other" info --format '{{.Driver}}'
  assert_status 0
  assert_eq "$output" erofs
}

@test "info --format: json with Docker's keys, the same ID every time" {
  run --separate-stderr "$STRATA" info --format '{{json .}}'
  assert_status 0
  printf '%s' "$output" | python3 -m json.tool >/dev/null
  local keys
  keys=$(printf '%s' "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
want = ["ID", "Containers", "ContainersRunning", "ContainersPaused",
        "ContainersStopped", "Images", "Driver", "DriverStatus",
        "LoggingDriver", "CgroupDriver", "CgroupVersion", "KernelVersion",
        "OperatingSystem", "OSType", "Architecture", "NCPU", "MemTotal",
        "DockerRootDir", "Name", "ServerVersion", "SecurityOptions",
        "Runtimes", "DefaultRuntime", "RegistryConfig", "LiveRestoreEnabled"]
print(" ".join(k for k in want if k not in d) or "all",
      type(d["Containers"]).__name__, type(d["MemTotal"]).__name__,
      d["DriverStatus"][0][0], d["SecurityOptions"][0], d["LiveRestoreEnabled"])')
  assert_eq "$keys" "all int int Backing Filesystem name=seccomp,profile=builtin False"
  run --separate-stderr "$STRATA" info --format json
  assert_status 0
  assert_json_valid "$output"
  local id
  id=$("$STRATA" info --format '{{.ID}}')
  assert_match "$id" '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
  assert_eq "$(info_field ID)" "$id"
  # another store is another engine
  [ "$("$STRATA" --root "$BATS_TEST_TMPDIR/r2" info --format '{{.ID}}')" != "$id" ]
}

@test "info: insecure registries and mirrors from the settings file" {
  export STRATA_CONFIG=$BATS_TEST_TMPDIR/daemon.json
  printf '{"insecure-registries": ["myreg:5000", "10.0.0.0/8"], "registry-mirrors": ["https://mirror.example:5000"]}\n' >"$STRATA_CONFIG"
  run --separate-stderr "$STRATA" info
  assert_status 0
  assert_contains "$output" $'\n Insecure Registries:\n  myreg:5000\n  127.0.0.0/8\n  10.0.0.0/8\n Registry Mirrors:\n  https://mirror.example:5000\n Live Restore Enabled: false'
  run --separate-stderr "$STRATA" info --format '{{json .RegistryConfig.Mirrors}} {{json .RegistryConfig.InsecureRegistryCIDRs}}'
  assert_status 0
  assert_eq "$output" '["https://mirror.example:5000"] ["127.0.0.0/8","10.0.0.0/8"]'
  # no file: only loopback, no mirrors line
  export STRATA_CONFIG=
  run --separate-stderr "$STRATA" info
  assert_contains "$output" $'\n Insecure Registries:\n  127.0.0.0/8\n Live Restore Enabled: false'
  [[ $output != *"Registry Mirrors"* ]]
}

@test "info: security options say rootless for a non-root user" {
  [ "$(id -u)" = 0 ] || skip "needs root to switch user"
  command -v setpriv >/dev/null || skip "no setpriv"
  # a store the user can reach: bats's own directory is root's alone
  local root
  root=$(mktemp -d /tmp/strata-info-XXXXXX)
  chmod 755 "$root"
  chown 65534:65534 "$root"
  run --separate-stderr setpriv --reuid 65534 --regid 65534 --clear-groups \
    "$STRATA" --root "$root" info --format '{{json .SecurityOptions}}'
  rm -rf "$root"
  assert_status 0
  assert_eq "$output" '["name=seccomp,profile=builtin","name=rootless"]'
  run --separate-stderr "$STRATA" info --format '{{json .SecurityOptions}}'
  assert_eq "$output" '["name=seccomp,profile=builtin"]'
}

@test "info: usage errors, help, and both commands in --help and completion" {
  run --separate-stderr "$STRATA" info --bogus
  assert_status 1
  assert_eq "$stderr" "unknown flag: --bogus
See 'strata info --help'."
  run --separate-stderr "$STRATA" system info extra
  assert_status 1
  assert_contains "$stderr" '"strata info" accepts no arguments.'
  run --separate-stderr "$STRATA" info --format '{{.Nope'
  assert_failure
  run --separate-stderr "$STRATA" info --help
  assert_status 0
  assert_contains "$output" "Usage:  strata info [OPTIONS]"
  run --separate-stderr "$STRATA" --help
  assert_contains "$output" $'\n  info        Display system-wide information\n'
  assert_contains "$output" $'\n  version     Show the strata version information\n'
  # a group's commands: names padded to 11 as cobra pads them
  run --separate-stderr "$STRATA" system
  assert_contains "$output" $'\n  info        Display system-wide information\n'
  run --separate-stderr "$STRATA" completion bash
  assert_status 0
  assert_match "$output" "_strata_commands='[^']* info [^']*version"
  assert_contains "$output" "_strata_flags_info='-f --format -h --help'"
  assert_contains "$output" "_strata_flags_version='-f --format -h --help'"
  assert_contains "$output" "_strata_sub_system+=' info'"
}
