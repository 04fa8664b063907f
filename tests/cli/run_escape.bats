#!/usr/bin/env bats
# A container trying to get out at run time: each attempt fails with the
# errno Docker's default profile, capabilities and masked /proc give, and
# nothing on the host changes (hashes of the strata binary and of the
# host's busybox are compared before and after every test).
#
# Most attempts are made by run_escape_probe.c, compiled static and put in
# an image of its own ("escape": the busybox rootfs plus /bin/probe). It
# prints "CALL: ok" or "CALL: <errno>"; the calls it makes are harmless
# even when let through (bad magic numbers, invalid arguments).

load helpers

setup_file() {
  [ "$(id -u)" = 0 ] || return 0
  command -v gcc >/dev/null || return 0
  local d=$BATS_FILE_TMPDIR
  gcc -static -O1 -o "$d/probe" "$BATS_TEST_DIRNAME/run_escape_probe.c" || return 1
  mkdir -p "$d/rootfs" "$d/hostdir/shared"
  tar -C "$d/rootfs" -xf "$(busybox_tar)" && cp "$d/probe" "$d/rootfs/bin/probe"
  tar -C "$d/rootfs" -cf "$d/escape.tar" . || return 1
  echo host-only >"$d/hostdir/host-marker"
}

setup() {
  strata_setup
  [ "$(id -u)" = 0 ] || skip "containers need root here"
  [ -x "$BATS_FILE_TMPDIR/probe" ] || skip "gcc -static not available"
  "$STRATA" import "$BATS_FILE_TMPDIR/escape.tar" escape >/dev/null
  host_sums=$(host_state)
}

teardown() {
  [ -n "${host_sums-}" ] || return 0
  assert_eq "$(host_state)" "$host_sums"
}

# What must never change: the strata binary, the host's busybox, the
# host's hostname, its sysrq setting and its list of modules.
host_state() {
  sha256sum "$STRATA" "$BUSYBOX_BIN" | cut -d' ' -f1
  hostname
  cat /proc/sys/kernel/sysrq 2>/dev/null || true
  grep -c . /proc/modules 2>/dev/null || true
}

# probe ARGS...: `strata run --rm [OPTS] escape probe CALL [ARG]` with
# OPTS before "--".
probe() {
  local opts=()
  while [ "$#" -gt 0 ] && [ "$1" != -- ]; do
    opts+=("$1")
    shift
  done
  [ "${1-}" = -- ] && shift
  run --separate-stderr "$STRATA" run --rm "${opts[@]}" escape "$@"
}

# expect CALL ERRNO [ARG]: the probe's call fails with ERRNO.
expect() {
  probe -- probe "$1" ${3:+"$3"}
  assert_eq "$output" "$1: $2"
  assert_status 1
}

@test "escape: mount, umount, unshare, setns and namespaced clone are refused" {
  expect mount EPERM
  expect umount EPERM
  expect unshare EPERM
  expect unshare-user EPERM
  expect setns EPERM
  expect clone-newns EPERM
  # clone3's flags are out of a filter's reach: ENOSYS, libc falls back
  expect clone3 ENOSYS
  # busybox's own mount reports it too
  run --separate-stderr "$STRATA" run --rm escape busybox mount -t tmpfs none /mnt
  assert_failure
  assert_contains "$stderr" "ermission denied"
  ! grep -q " /mnt tmpfs" /proc/self/mountinfo
}

@test "escape: /proc/sys and /proc/sysrq-trigger cannot be written" {
  run --separate-stderr "$STRATA" run --rm escape sh -c \
    'echo pwned >/proc/sys/kernel/hostname'
  assert_status 1
  assert_match "$stderr" "Read-only file system"
  expect open-rw EROFS /proc/sys/kernel/hostname
  if [ -e /proc/sysrq-trigger ]; then
    run --separate-stderr "$STRATA" run --rm escape sh -c 'echo h >/proc/sysrq-trigger'
    assert_status 1
    assert_match "$stderr" "(Read-only file system|Permission denied)"
    expect open-rw EROFS /proc/sysrq-trigger
  fi
}

@test "escape: ptrace and process_vm_readv need --cap-add SYS_PTRACE" {
  # PID 1 is sh; the probe is its child.
  probe -- sh -c 'probe ptrace 1; probe ptrace-child; probe process_vm_readv 1'
  assert_eq "$output" "ptrace: EPERM
ptrace-child: EPERM
process_vm_readv: EPERM"
  probe --cap-add SYS_PTRACE -- sh -c \
    'probe ptrace 1; probe ptrace-child; probe process_vm_readv 1'
  assert_eq "$output" "ptrace: ok
ptrace-child: ok
process_vm_readv: ok"
  # each capability set has its own filter: the default one is built into
  # strata, the SYS_PTRACE one compiled and cached in the store
  n=$(ls "$STRATA_ROOT/cache/seccomp" | grep -c '\.bpf$')
  assert_eq "$n" "1"
}

@test "escape: kernel modules, keyrings, bpf, perf, kexec, reboot, clock" {
  for call in init_module finit_module delete_module keyctl add_key bpf \
    perf_event_open kexec_load reboot settime; do
    expect "$call" EPERM
  done
  # with the capability, the filter lets the call through to the kernel,
  # which refuses the bad arguments (or has no modules at all: ENOSYS)
  probe --cap-add SYS_MODULE -- probe init_module
  assert_match "$output" "^init_module: (EFAULT|ENOSYS)$"
}

@test "escape: system calls newer than the profile get ENOSYS, not EPERM" {
  expect unknown ENOSYS
}

@test "escape: no device nodes: mknod of a block or character device, /dev/sda" {
  expect mknod-blk EPERM
  expect mknod-chr EPERM
  expect mknod-blk EPERM /dev/sda
  run --separate-stderr "$STRATA" run --rm escape ls /dev/sda /dev/vda /dev/mem
  assert_status 1
  assert_contains "$stderr" "/dev/sda: No such file or directory"
  assert_contains "$stderr" "/dev/mem: No such file or directory"
  # a FIFO and an overlay whiteout (0:0) are still fine
  probe -- sh -c 'busybox mknod /tmp/f p && busybox mknod /dev/shm/w c 0 0 && echo made'
  assert_eq "$output" "made"
}

@test "escape: writing through /proc/self/exe or PID 1's exe changes no binary" {
  expect write-exe ETXTBSY self
  probe -- sh -c 'probe write-exe 1'
  assert_eq "$output" "write-exe: ETXTBSY"
  probe -- sh -c 'cat /bin/probe >/proc/self/exe'
  assert_failure
}

@test "escape: exec does not expose the strata binary through /proc/<pid>/exe" {
  "$STRATA" run -d --name watcher escape sleep 60 >/dev/null
  "$STRATA" exec watcher sh -c 'probe watch-exe 4 >/tmp/watch 2>&1 &'
  for _ in $(seq 30); do
    "$STRATA" exec watcher true
  done
  sleep 4.5
  run --separate-stderr "$STRATA" exec watcher cat /tmp/watch
  "$STRATA" rm -f watcher >/dev/null
  assert_eq "$output" "watch-exe: ok"
}

@test "escape: chroot and .. do not leave the root nor a bind mount" {
  d=$BATS_FILE_TMPDIR/hostdir
  # chroot is allowed (CAP_SYS_CHROOT, as in Docker) but climbing out of
  # a chroot ends at the container's root, which has no host marker
  expect chroot-escape ENOENT "$d/host-marker"
  probe -v "$d/shared:/data" -- sh -c \
    'cd /data/../../../..; pwd; ls /data/..; cat ../host-marker /data/../host-marker'
  assert_status 1
  assert_eq "${lines[0]}" "/"
  [[ $output != *host-only* ]]
  [ ! -e "$d/shared/../pwned" ]
}
