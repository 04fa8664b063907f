#!/usr/bin/env bats
# --runtime: the bundle strata generates (containers/<id>/config.json and
# its overlay root) run by crun and runc from Debian must give the
# container the same view as strata's own executor: mounts, capabilities,
# seccomp, environment, working directory, user, groups, hostname.

load helpers

setup_file() {
  [ "$(id -u)" = 0 ] || return 0
  hybrid_cgroups_for_crun
}

setup() {
  strata_setup
  if [ "$(id -u)" != 0 ]; then
    skip "containers need root here"
  fi
  import_busybox busybox >/dev/null
}

# What a container sees, one fact per line. (/dev/core, the /proc/kcore
# link, is left out: crun always makes it, runc only where /proc/kcore
# exists.)
PROBE='echo "uid=$(id -u) gid=$(id -g) groups=$(id -G)"; echo "cwd=$(pwd)"
echo "hostname=$(hostname)"; env | grep -v "^HOSTNAME=" | sort
grep -E "^(CapEff|CapBnd|CapPrm|NoNewPrivs|Seccomp):" /proc/self/status
awk "{print \"mount \" \$5}" /proc/self/mountinfo | sort
ls /dev | grep -vx core | sort | tr "\n" " "; echo; echo pid=$$'

# view RUNTIME_ARGS...: the probe's output with the given extra flags.
view() {
  run --separate-stderr "$STRATA" run --rm -u 1000:1000 -w /work -h probe \
    -e FOO=bar -e "SPACE=a b" "$@" busybox sh -c "$PROBE"
  assert_status 0
}

need() {
  command -v "$1" >/dev/null || skip "$1 is not installed (apt-get install $1)"
}

@test "--runtime crun: same view as the built-in executor" {
  need crun
  view
  builtin=$output
  view --runtime crun
  assert_eq "$output" "$builtin"
  # and it really was crun: its state directory was used and emptied
  [ -d "$STRATA_ROOT/runtime/crun" ]
  [ -z "$(ls -A "$STRATA_ROOT/runtime/crun")" ]
}

@test "--runtime runc: same view as the built-in executor" {
  need runc
  view
  builtin=$output
  view --runtime runc
  assert_eq "$output" "$builtin"
  [ -z "$(ls -A "$STRATA_ROOT/runtime/runc")" ]
}

@test "--runtime runc: the same mount options too" {
  need runc
  opts='awk "{print \$5, \$6}" /proc/self/mountinfo | sort'
  run --separate-stderr "$STRATA" run --rm busybox sh -c "$opts"
  assert_status 0
  builtin=$output
  run --separate-stderr "$STRATA" run --rm --runtime runc busybox sh -c "$opts"
  assert_status 0
  assert_eq "$output" "$builtin"
}

@test "--runtime: root, privileged and capability flags agree too" {
  need crun
  for flags in "--cap-add NET_ADMIN --cap-drop CHOWN" \
    "--security-opt seccomp=unconfined" "--read-only --tmpfs /scratch"; do
    # shellcheck disable=SC2086
    run --separate-stderr "$STRATA" run --rm -h same $flags busybox sh -c "$PROBE"
    assert_status 0
    builtin=$output
    # shellcheck disable=SC2086
    run --separate-stderr "$STRATA" run --rm -h same --runtime crun $flags busybox sh -c "$PROBE"
    assert_status 0
    assert_eq "$output" "$builtin"
  done
}

@test "--runtime: exit code, stdin, detached life cycle, nothing left" {
  need crun
  run --separate-stderr "$STRATA" run --rm --runtime crun busybox sh -c 'exit 7'
  assert_status 7
  run --separate-stderr bash -c "echo hi | '$STRATA' run --rm -i --runtime crun busybox cat"
  assert_eq "$output" "hi"
  run --separate-stderr "$STRATA" run -d --name rt --runtime crun busybox sh -c 'echo logged; sleep 30'
  assert_status 0
  id=$output
  sleep 0.3
  run --separate-stderr "$STRATA" ps --format '{{.Names}} {{.Status}}'
  assert_match "$output" '^rt Up '
  run --separate-stderr "$STRATA" logs rt
  assert_eq "$output" "logged"
  # the recorded PID is the container's init itself (strata is its
  # subreaper), so kill reaches it and nothing outlives it
  pid=$(pgrep -f 'sleep 30' | while read -r p; do
    [ "$(cat /proc/"$p"/cgroup 2>/dev/null | grep -c "$id")" -gt 0 ] && echo "$p"
  done | head -1)
  run --separate-stderr "$STRATA" kill rt
  assert_status 0
  run --separate-stderr "$STRATA" wait rt
  assert_eq "$output" "137"
  if [ -n "$pid" ]; then
    ! kill -0 "$pid" 2>/dev/null
  fi
  "$STRATA" rm rt
  [ -z "$(ls -A "$STRATA_ROOT/runtime/crun")" ]
  run crun --root "$STRATA_ROOT/runtime/crun" list -q
  assert_eq "$output" ""
}

@test "--runtime crun: the test host has no controller left on cgroup v2" {
  # what setup_file's hybrid_cgroups_for_crun must achieve on a hybrid host
  local u=/sys/fs/cgroup/unified/cgroup.controllers
  [ -e "$u" ] && [ ! -e /sys/fs/cgroup/cgroup.controllers ] || skip "not a hybrid cgroup host"
  assert_eq "$(cat "$u")" ""
}

@test "--runtime crun: a hybrid cgroup host crun refuses gets an error that says what to do" {
  need crun
  fake=$BATS_TEST_TMPDIR/cgroup
  mkdir -p "$fake/unified"
  printf 'hugetlb misc\n' >"$fake/unified/cgroup.controllers"
  STRATA_TEST_CGROUP_ROOT=$fake run --separate-stderr "$STRATA" run --rm --runtime crun busybox true
  assert_status 125
  assert_error_line "^crun cannot run on this host: .*hybrid.*\\($fake/unified: hugetlb misc\\)"
  assert_contains "$stderr" "for c in hugetlb misc; do mkdir -p $fake/\$c && mount -t cgroup -o \$c cgroup $fake/\$c; done"
  assert_contains "$stderr" "--runtime runc"
  run --separate-stderr "$STRATA" ps -aq
  assert_eq "$output" ""
  # no controller left on v2, or a pure v2 host: crun is started as usual
  : >"$fake/unified/cgroup.controllers"
  STRATA_TEST_CGROUP_ROOT=$fake run --separate-stderr "$STRATA" run --rm --runtime crun busybox echo ran
  assert_status 0
  assert_eq "$output" "ran"
  printf 'hugetlb\n' >"$fake/unified/cgroup.controllers"
  printf 'cpu memory\n' >"$fake/cgroup.controllers"
  STRATA_TEST_CGROUP_ROOT=$fake run --separate-stderr "$STRATA" run --rm --runtime crun busybox echo ran
  assert_status 0
  # and runc, which handles hybrid hosts, is never refused
  if command -v runc >/dev/null; then
    rm "$fake/cgroup.controllers"
    STRATA_TEST_CGROUP_ROOT=$fake run --separate-stderr "$STRATA" run --rm --runtime runc busybox echo ran
    assert_status 0
  fi
}

@test "--runtime: an unknown runtime is refused at create" {
  run --separate-stderr "$STRATA" run --rm --runtime no-such-runtime busybox true
  assert_status 125
  assert_error_line 'unknown or invalid runtime name: no-such-runtime'
  run --separate-stderr "$STRATA" ps -aq
  assert_eq "$output" ""
}

@test "--runtime: config.json is a bundle crun and runc run as is" {
  need crun
  "$STRATA" create --name bundle1 busybox sh -c 'echo from-bundle' >/dev/null
  id=$("$STRATA" ps -aq --no-trunc)
  bundle=$STRATA_ROOT/containers/$id
  python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); assert c["ociVersion"] and c["root"]["path"] and c["process"]["args"]' "$bundle/config.json"
  # Mount the overlay in a private mount namespace and run crun directly.
  lower=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["annotations"]["io.strata.overlay.lowerdirs"])' "$bundle/config.json")
  # erofs backend: each lower is the mount point of its layer.erofs (a
  # file-backed mount, with the blob as device for a tar index)
  local attach="" l
  for l in ${lower//:/ }; do
    [ -f "${l%/diff}/layer.erofs" ] && attach="$attach $BATS_TEST_DIRNAME/erofs_mount.py ${l%/diff}/layer.erofs $l &&"
  done
  run unshare -m sh -c "mount --make-rprivate / &&$attach mount -t overlay overlay -o lowerdir=$lower,upperdir=$bundle/upper,workdir=$bundle/work $bundle/merged && crun --root $BATS_TEST_TMPDIR/crun run --bundle $bundle direct-$$"
  assert_status 0
  assert_eq "$output" "from-bundle"
}
