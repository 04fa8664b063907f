#!/usr/bin/env bats
# --cap-add / --cap-drop, --privileged and --security-opt through the real
# binary: what the container's process sees in /proc/self/status, its
# mounts and its /dev.

load helpers

setup() {
  strata_setup
  if [ "$(id -u)" != 0 ]; then
    skip "containers need root here"
  fi
  import_busybox busybox >/dev/null
}

STATUS='grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status'

# status_of ARGS...: the CapEff/CapBnd/NoNewPrivs/Seccomp lines of a
# container run with ARGS before the image.
status_of() {
  run --separate-stderr "$STRATA" run --rm "$@" busybox sh -c "$STATUS"
  assert_status 0
}

# Docker's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID
# SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
DEFAULT_CAPS=00000000a80425fb

@test "caps: the default set, no_new_privs and seccomp" {
  status_of
  assert_eq "$output" "CapEff:	$DEFAULT_CAPS
CapBnd:	$DEFAULT_CAPS
NoNewPrivs:	1
Seccomp:	2"
}

@test "caps: --cap-add with and without CAP_, any case" {
  # NET_ADMIN is bit 12, SYS_PTRACE bit 19
  status_of --cap-add NET_ADMIN --cap-add cap_sys_ptrace
  assert_contains "$output" "CapEff:	00000000a80c35fb"
  assert_contains "$output" "CapBnd:	00000000a80c35fb"
}

@test "caps: --cap-drop removes from the default set" {
  status_of --cap-drop CHOWN --cap-drop Cap_Net_Raw
  # CHOWN is bit 0, NET_RAW bit 13
  assert_contains "$output" "CapEff:	00000000a80405fa"
}

@test "caps: --cap-drop ALL keeps only what is added" {
  status_of --cap-drop ALL --cap-add CHOWN --cap-add KILL
  assert_contains "$output" "CapEff:	0000000000000021"
  assert_contains "$output" "CapBnd:	0000000000000021"
  status_of --cap-drop all
  assert_contains "$output" "CapEff:	0000000000000000"
}

@test "caps: --cap-add ALL gives every capability strata holds but the dropped" {
  host=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
  want=$(printf '%016x' $((0x$host & ~(1 << 21))))
  status_of --cap-add ALL --cap-drop SYS_ADMIN
  assert_contains "$output" "CapEff:	$want"
}

@test "caps: an unknown capability is refused" {
  run --separate-stderr "$STRATA" run --rm --cap-add NOT_A_CAP busybox true
  assert_status 125
  assert_error_line 'unknown capability: "NOT_A_CAP"'
  run --separate-stderr "$STRATA" create --cap-drop CAP_BOGUS busybox true
  assert_status 125
  run --separate-stderr "$STRATA" ps -aq
  assert_eq "$output" ""
}

@test "caps: a non-root user gets no effective capabilities" {
  run --separate-stderr "$STRATA" run --rm -u 1000 --cap-add NET_ADMIN busybox sh -c "$STATUS"
  assert_contains "$output" "CapEff:	0000000000000000"
  assert_contains "$output" "CapBnd:	00000000a80435fb"
}

@test "--privileged: all caps, no seccomp, no no_new_privs, /sys writable, host devices" {
  host=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
  status_of --privileged
  assert_eq "$output" "CapEff:	$host
CapBnd:	$host
NoNewPrivs:	0
Seccomp:	0"
  run --separate-stderr "$STRATA" run --rm --privileged busybox sh -c \
    'grep " /sys " /proc/self/mountinfo; grep -c " /proc/kcore " /proc/self/mountinfo; true'
  assert_status 0
  assert_match "${lines[0]}" ' /sys rw,'
  assert_eq "${lines[1]}" "0"
  # A device node of the host is there (and not without --privileged).
  dev=$(find /dev -maxdepth 1 \( -type b -o -type c \) \
    ! -name null ! -name zero ! -name full ! -name random ! -name urandom \
    ! -name tty ! -name console ! -name ptmx | sort | head -1)
  [ -n "$dev" ] || skip "no device node on this host"
  want=$(stat -c '%t:%T' "$dev")
  run --separate-stderr "$STRATA" run --rm --privileged busybox sh -c "ls -l $dev"
  assert_status 0
  assert_match "$output" "$((0x${want%:*})), +$((0x${want#*:}))"
  run --separate-stderr "$STRATA" run --rm busybox ls "$dev"
  assert_failure
  # mount works (CAP_SYS_ADMIN, no seccomp)
  run --separate-stderr "$STRATA" run --rm --privileged busybox sh -c \
    'mkdir -p /m && busybox mount -t tmpfs none /m && echo mounted'
  assert_eq "$output" "mounted"
}

@test "not privileged: /sys read-only, mount refused" {
  run --separate-stderr "$STRATA" run --rm busybox sh -c 'grep " /sys " /proc/self/mountinfo'
  assert_match "$output" ' /sys ro,'
  run --separate-stderr "$STRATA" run --rm busybox sh -c \
    'mkdir -p /m && busybox mount -t tmpfs none /m'
  assert_failure
  # CAP_SYS_ADMIN opens the mount group of Docker's profile: the mount is
  # made in the container's own mount namespace, the host never sees it
  run --separate-stderr "$STRATA" run --rm --cap-add SYS_ADMIN busybox sh -c \
    'mkdir -p /m && busybox mount -t tmpfs strata-sysadmin /m && echo mounted'
  assert_eq "$output" "mounted"
  ! grep -q strata-sysadmin /proc/self/mountinfo
}

@test "--security-opt seccomp=unconfined and no-new-privileges" {
  status_of --security-opt seccomp=unconfined
  assert_contains "$output" "NoNewPrivs:	1"
  assert_contains "$output" "Seccomp:	0"
  status_of --security-opt no-new-privileges=false
  assert_contains "$output" "NoNewPrivs:	0"
  assert_contains "$output" "Seccomp:	2"
  status_of --security-opt no-new-privileges --security-opt seccomp:unconfined
  assert_contains "$output" "NoNewPrivs:	1"
  assert_contains "$output" "Seccomp:	0"
  # with the filter and without no_new_privs, setuid binaries keep working:
  # the filter is still enforced
  run --separate-stderr "$STRATA" run --rm --security-opt no-new-privileges=false \
    busybox busybox mount -t tmpfs none /mnt
  assert_failure
  run --separate-stderr "$STRATA" run --rm --security-opt bogus=1 busybox true
  assert_status 125
  assert_error_line 'invalid --security-opt'
}

@test "seccomp: the default profile is compiled into strata; another is compiled once, cached in the store and reused" {
  # the default capabilities' profile: the program built with strata, so a
  # new store compiles nothing, and the filter is on
  run --separate-stderr "$STRATA" run --rm busybox sh -c "$STATUS"
  assert_status 0
  assert_contains "$output" "Seccomp:	2"
  run --separate-stderr "$STRATA" run --rm busybox busybox mount -t tmpfs none /mnt
  assert_failure
  n=$(ls "$STRATA_ROOT/cache/seccomp" 2>/dev/null | grep -c '\.bpf$' || true)
  assert_eq "$n" "0"
  # SYS_ADMIN opens more calls: another profile, compiled and cached once
  "$STRATA" run --rm --cap-add SYS_ADMIN busybox true
  n=$(ls "$STRATA_ROOT/cache/seccomp" | grep -c '\.bpf$')
  assert_eq "$n" "1"
  "$STRATA" run --rm --cap-add SYS_ADMIN busybox true
  n=$(ls "$STRATA_ROOT/cache/seccomp" | grep -c '\.bpf$')
  assert_eq "$n" "1"
  # a damaged cache entry is ignored and rewritten, never loaded
  f=$(ls "$STRATA_ROOT"/cache/seccomp/*.bpf)
  printf 'garbage' >"$f"
  run --separate-stderr "$STRATA" run --rm --cap-add SYS_ADMIN busybox sh -c "$STATUS"
  assert_status 0
  assert_contains "$output" "Seccomp:	2"
  [ "$(stat -c %s "$f")" -gt 100 ]
}
