#!/usr/bin/env bats
# exec, inspect, diff, commit, export, cp, top, rename, restart,
# container prune through the real binary (needs root).

load helpers

setup() {
  strata_setup
  if [ "$(id -u)" != 0 ]; then
    skip "containers need root here"
  fi
  import_busybox busybox >/dev/null
}

teardown() {
  "$STRATA" rm -f $("$STRATA" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
}

changes() {
  "$STRATA" run --name ch busybox sh -c \
    'echo new >/newfile; echo more >>/etc/passwd; rm /bin/wc; mkdir -p /tmp/d; touch /tmp/d/x; rm /etc/group'
}

@test "exec: sees the container's files and hostname, exit codes, -e -w -u" {
  "$STRATA" run -d --name ex -h myhost busybox sh -c 'echo inside >/marker; sleep 100'
  sleep 0.3
  run --separate-stderr "$STRATA" exec ex sh -c 'hostname; cat /marker'
  assert_status 0
  assert_eq "$output" $'myhost\ninside'
  run --separate-stderr "$STRATA" exec ex sh -c 'exit 7'
  assert_status 7
  run -127 --separate-stderr "$STRATA" exec ex nosuch
  assert_error_line 'executable file not found'
  run -126 --separate-stderr "$STRATA" exec ex /etc/passwd
  assert_error_line 'permission denied'
  run --separate-stderr "$STRATA" exec -e FOO=bar -w /tmp -u nobody ex sh -c 'echo $FOO; pwd; id -u'
  assert_status 0
  assert_eq "$output" $'bar\n/tmp\n65534'
  run --separate-stderr "$STRATA" exec ex sh -c 'grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status'
  assert_eq "$output" $'NoNewPrivs:\t1\nSeccomp:\t2'
  run --separate-stderr bash -c "echo piped | '$STRATA' exec -i ex cat"
  assert_eq "$output" "piped"
}

@test "exec --env-file: the file's variables, -e overriding them; a bad file is refused in Docker's words" {
  "$STRATA" run -d --name ef busybox sleep 100
  printf '# comment\nA=from-file\n\n  B=two words\nC=file\n' >"$BATS_TEST_TMPDIR/env"
  run --separate-stderr "$STRATA" exec --env-file "$BATS_TEST_TMPDIR/env" -e C=flag ef sh -c 'echo "$A|$B|$C"'
  assert_status 0
  assert_eq "$output" "from-file|two words|flag"
  printf 'export X=1\n' >"$BATS_TEST_TMPDIR/bad"
  run --separate-stderr "$STRATA" exec --env-file "$BATS_TEST_TMPDIR/bad" ef true
  assert_status 1
  assert_eq "$stderr" "Error: invalid env file ($BATS_TEST_TMPDIR/bad): variable 'export X' contains whitespaces"
  run --separate-stderr "$STRATA" exec --env-file "$BATS_TEST_TMPDIR/missing" ef true
  assert_status 1
  assert_contains "$stderr" "no such file or directory"
}

@test "exec -d: returns at once, the command runs on and its file is seen later" {
  "$STRATA" run -d --name exd busybox sleep 100
  sleep 0.3
  start=$(date +%s%N)
  run --separate-stderr "$STRATA" exec -d exd sh -c 'echo started; sleep 2; echo late >/late.txt'
  end=$(date +%s%N)
  assert_status 0
  assert_eq "$output" ""
  # returned long before the command's 2 s sleep ended
  [ $(( (end - start) / 1000000 )) -lt 1500 ]
  run "$STRATA" exec exd cat /late.txt
  assert_status 1
  sleep 2.5
  run --separate-stderr "$STRATA" exec exd cat /late.txt
  assert_status 0
  assert_eq "$output" "late"
  run -127 --separate-stderr "$STRATA" exec -d exd nosuch
  assert_error_line 'executable file not found'
}

@test "exec: into a stopped container fails clearly" {
  "$STRATA" run --name st busybox true
  run --separate-stderr "$STRATA" exec st true
  assert_failure
  assert_error_line 'is not running'
}

@test "diff: A/C/D lines, sorted, without strata's own mount points" {
  changes
  run --separate-stderr "$STRATA" diff ch
  assert_status 0
  assert_eq "$output" "C /bin
D /bin/wc
C /etc
D /etc/group
C /etc/passwd
A /newfile
C /tmp
A /tmp/d
A /tmp/d/x"
  "$STRATA" run --name clean busybox true
  run --separate-stderr "$STRATA" diff clean
  assert_eq "$output" ""
}

@test "commit: the new image has the changes, whiteouts included, and history" {
  changes
  run --separate-stderr "$STRATA" commit -m msg -a me ch mine:v1
  assert_status 0
  assert_match "$output" '^sha256:[0-9a-f]{64}$'
  id=$output
  run --separate-stderr "$STRATA" run --rm --entrypoint sh mine:v1 -c \
    'cat /newfile; tail -1 /etc/passwd; ls /bin/wc /etc/group 2>&1; ls /tmp/d'
  assert_eq "$output" "new
more
ls: /bin/wc: No such file or directory
ls: /etc/group: No such file or directory
x"
  run --separate-stderr "$STRATA" history --no-trunc --format '{{.CreatedBy}}|{{.Comment}}' mine:v1
  assert_eq "${lines[0]%%|*}" "sh -c echo new >/newfile; echo more >>/etc/passwd; rm /bin/wc; mkdir -p /tmp/d; touch /tmp/d/x; rm /etc/group"
  assert_eq "${lines[0]#*|}" "msg"
  assert_eq "${#lines[@]}" 2
  run --separate-stderr "$STRATA" image inspect --format '{{.Author}} {{.Parent}}' mine:v1
  assert_contains "$output" "me"
  # the layer tar carries OCI whiteouts
  "$STRATA" save -o "$BATS_TEST_TMPDIR/m.tar" mine:v1
  mkdir "$BATS_TEST_TMPDIR/x" && tar -C "$BATS_TEST_TMPDIR/x" -xf "$BATS_TEST_TMPDIR/m.tar"
  found=$(for f in "$BATS_TEST_TMPDIR"/x/blobs/sha256/*; do tar -tf "$f" 2>/dev/null; done | grep -c '\.wh\.')
  [ "$found" -eq 2 ]
}

# xattrs_of_layer ARCHIVE: "NAME KEY=HEX ..." for each entry of the image's
# top layer that has SCHILY.xattr records.
xattrs_of_layer() {
  python3 - "$1" <<'PY'
import io, json, sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    manifest = json.load(t.extractfile("manifest.json"))[0]
    layer = t.extractfile(manifest["Layers"][-1]).read()
with tarfile.open(fileobj=io.BytesIO(layer)) as l:
    for m in l:
        recs = sorted("%s=%s" % (k, v.encode("utf-8", "surrogateescape").hex())
                      for k, v in m.pax_headers.items() if "xattr" in k)
        if recs:
            print(m.name, " ".join(recs))
PY
}

@test "commit: the layer keeps user.* xattrs and file capabilities, not overlay's" {
  "$STRATA" run --name xa busybox sh -c 'echo x >/capfile; mkdir /xdir'
  upper=$("$STRATA" inspect --format '{{.GraphDriver.Data.UpperDir}}' xa)
  [ -f "$upper/capfile" ]
  setcap cap_net_raw+ep "$upper/capfile"
  python3 - "$upper" <<'PY'
import os, sys
u = sys.argv[1]
os.setxattr(u + "/capfile", "user.test", b"1")
os.setxattr(u + "/xdir", "user.dir", b"d")
os.setxattr(u + "/xdir", "trusted.overlay.opaque", b"y")
PY
  cap=$(python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "security.capability").hex())' "$upper/capfile")
  "$STRATA" commit xa withx >/dev/null
  "$STRATA" save -o "$BATS_TEST_TMPDIR/x.tar" withx
  run xattrs_of_layer "$BATS_TEST_TMPDIR/x.tar"
  assert_status 0
  assert_eq "$output" "capfile SCHILY.xattr.security.capability=$cap SCHILY.xattr.user.test=31
xdir SCHILY.xattr.user.dir=64"
  # export keeps them too
  run python3 -c '
import sys, tarfile
with tarfile.open(fileobj=sys.stdin.buffer, mode="r|") as t:
    for m in t:
        if m.name == "capfile":
            print(sorted(k for k in m.pax_headers if "xattr" in k))
' < <("$STRATA" export xa)
  assert_eq "$output" "['SCHILY.xattr.security.capability', 'SCHILY.xattr.user.test']"
  # unpacked for a new container, the capability is on the file again
  "$STRATA" create --name xb withx >/dev/null
  lower=$("$STRATA" inspect --format '{{.GraphDriver.Data.LowerDir}}' xb)
  local l=${lower%%:*}
  if [ -f "${l%/diff}/layer.erofs" ]; then
    # erofs backend: the layer is one file, mounted here in a namespace of
    # the test's own
    run unshare -m sh -c '"$3" "$1" "$2" && getcap "$2/capfile"' \
      sh "${l%/diff}/layer.erofs" "$l" "$BATS_TEST_DIRNAME/erofs_mount.py"
  else
    run getcap "$l/capfile"
  fi
  assert_contains "$output" "cap_net_raw=ep"
}

@test "commit: --pause (the default) freezes the running container through the freezer cgroup, then thaws it" {
  if [ -e /sys/fs/cgroup/freezer/tasks ]; then
    fz=/sys/fs/cgroup/freezer/strata ev=freezer.state
  elif [ -e /sys/fs/cgroup/cgroup.controllers ]; then
    fz=/sys/fs/cgroup/strata ev=cgroup.events
  elif [ -e /sys/fs/cgroup/unified/cgroup.controllers ]; then
    fz=/sys/fs/cgroup/unified/strata ev=cgroup.events
  else
    skip "this host has no freezer cgroup (no v1 freezer, no cgroup v2)"
  fi
  "$STRATA" run -d --name pz busybox sh -c 'while :; do echo tick >>/ticks; usleep 20000; done'
  sleep 0.3
  id=$("$STRATA" inspect -f '{{.Id}}' pz)
  run --separate-stderr "$STRATA" commit --pause=false pz nopause:1
  assert_status 0
  [ ! -e "$fz/$id" ]
  run --separate-stderr "$STRATA" commit pz paused:1
  assert_status 0
  # the container's processes were moved into its freezer cgroup and are
  # running again (thawed)
  [ -n "$(cat "$fz/$id/cgroup.procs")" ]
  pid=$("$STRATA" inspect -f '{{.State.Pid}}' pz)
  grep -qx "$pid" "$fz/$id/cgroup.procs"
  if [ "$ev" = freezer.state ]; then
    assert_eq "$(cat "$fz/$id/freezer.state")" THAWED
  else
    grep -qx 'frozen 0' "$fz/$id/cgroup.events"
  fi
  n1=$("$STRATA" exec pz wc -l /ticks | awk '{print $1}')
  sleep 0.3
  n2=$("$STRATA" exec pz wc -l /ticks | awk '{print $1}')
  [ "$n2" -gt "$n1" ]
  run "$STRATA" run --rm --pull never paused:1 cat /ticks
  assert_status 0
  "$STRATA" rm -f pz >/dev/null
  [ ! -e "$fz/$id" ]
}

@test "commit: --change applies to the new config" {
  "$STRATA" run --name cc busybox true
  "$STRATA" commit -c 'CMD ["echo","from-commit"]' cc withcmd >/dev/null
  run --separate-stderr "$STRATA" run --rm withcmd
  assert_eq "$output" "from-commit"
}

@test "commit: the saved image loads in podman" {
  command -v podman >/dev/null 2>&1 || skip "podman is not installed"
  changes
  "$STRATA" commit ch mine:v1 >/dev/null
  "$STRATA" save -o "$BATS_TEST_TMPDIR/m.tar" mine:v1
  run podman --root "$BATS_TEST_TMPDIR/podroot" --runroot "$BATS_TEST_TMPDIR/podrun" \
    --storage-driver vfs load -i "$BATS_TEST_TMPDIR/m.tar"
  assert_status 0
}

@test "export: the flattened file system as a tar" {
  changes
  "$STRATA" export ch | tar -t >"$BATS_TEST_TMPDIR/list"
  grep -qx 'newfile' "$BATS_TEST_TMPDIR/list"
  grep -qx 'bin/busybox' "$BATS_TEST_TMPDIR/list"
  ! grep -q 'bin/wc' "$BATS_TEST_TMPDIR/list"
  "$STRATA" export -o "$BATS_TEST_TMPDIR/e.tar" ch
  tar -tf "$BATS_TEST_TMPDIR/e.tar" | grep -qx 'tmp/d/x'
}

@test "inspect: containers in Docker's shape; lookup order and --type" {
  "$STRATA" run --name insp busybox sh -c 'exit 3' || true
  run --separate-stderr "$STRATA" inspect --format '{{.Name}} {{.State.Status}} {{.State.ExitCode}} {{.Driver}} {{.GraphDriver.Name}} {{.Path}}' insp
  assert_eq "$output" "/insp exited 3 overlay overlay sh"
  run --separate-stderr "$STRATA" container inspect insp
  assert_json_valid "$output"
  assert_contains "$output" '"UpperDir"'
  run --separate-stderr "$STRATA" inspect --format '{{.Id}}' busybox
  assert_match "$output" '^sha256:'
  run --separate-stderr "$STRATA" image inspect insp
  assert_failure
  run --separate-stderr "$STRATA" inspect --type container busybox
  assert_failure
  run --separate-stderr "$STRATA" inspect nothing
  assert_failure
  assert_error_line 'No such object: nothing'
}

@test "cp: both directions, stopped and running, '-' as tar" {
  echo hostdata >"$BATS_TEST_TMPDIR/f.txt"
  "$STRATA" run --name cps busybox sh -c 'echo c >/inside'
  "$STRATA" cp "$BATS_TEST_TMPDIR/f.txt" cps:/tmp/
  "$STRATA" cp cps:/inside "$BATS_TEST_TMPDIR/out"
  assert_eq "$(cat "$BATS_TEST_TMPDIR/out")" "c"
  run --separate-stderr "$STRATA" diff cps
  assert_contains "$output" "A /tmp/f.txt"
  "$STRATA" run -d --name cpr busybox sleep 100
  sleep 0.3
  "$STRATA" cp "$BATS_TEST_TMPDIR/f.txt" cpr:/renamed.txt
  assert_eq "$("$STRATA" exec cpr cat /renamed.txt)" "hostdata"
  "$STRATA" cp cpr:/etc "$BATS_TEST_TMPDIR/"
  [ -f "$BATS_TEST_TMPDIR/etc/passwd" ]
  assert_eq "$("$STRATA" cp cpr:/etc/passwd - | tar -t)" "passwd"
  tar -C "$BATS_TEST_TMPDIR" -cf - f.txt | "$STRATA" cp - cpr:/tmp
  assert_eq "$("$STRATA" exec cpr cat /tmp/f.txt)" "hostdata"
}

@test "cp: a symlink to /etc in the container never reaches the host's /etc" {
  name="strata-cp-escape-$$"
  echo pwned >"$BATS_TEST_TMPDIR/$name"
  "$STRATA" run --name esc busybox sh -c 'cd / && busybox ln -s /etc evil'
  "$STRATA" cp "$BATS_TEST_TMPDIR/$name" esc:/evil/
  [ ! -e "/etc/$name" ]
  "$STRATA" run -d --name esc2 busybox sh -c 'cd / && busybox ln -s /etc evil; sleep 100'
  sleep 0.3
  "$STRATA" cp "$BATS_TEST_TMPDIR/$name" esc2:/evil/
  [ ! -e "/etc/$name" ]
  assert_eq "$("$STRATA" exec esc2 cat "/etc/$name")" "pwned"
}

@test "top, rename, restart, container prune" {
  "$STRATA" run -d --name tp busybox sleep 100
  sleep 0.3
  run --separate-stderr "$STRATA" top tp
  assert_status 0
  assert_match "${lines[0]}" '^UID +PID +PPID +C +STIME +TTY +TIME +CMD$'
  assert_contains "${lines[1]}" "sleep 100"
  "$STRATA" rename tp tp2
  run --separate-stderr "$STRATA" inspect --format '{{.Name}}' tp2
  assert_eq "$output" "/tp2"
  pid1=$("$STRATA" inspect --format '{{.State.Pid}}' tp2)
  "$STRATA" restart -t 1 tp2
  pid2=$("$STRATA" inspect --format '{{.State.Pid}}' tp2)
  [ "$pid1" != "$pid2" ]
  assert_eq "$("$STRATA" inspect --format '{{.State.Status}}' tp2)" "running"
  "$STRATA" run --name gone busybox true
  run --separate-stderr "$STRATA" container prune -f
  assert_status 0
  assert_contains "$output" "Deleted Containers:"
  assert_contains "$output" "Total reclaimed space:"
  run --separate-stderr "$STRATA" ps -a --format '{{.Names}}'
  assert_eq "$output" "tp2"
}
