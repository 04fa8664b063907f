#!/usr/bin/env bats
# Output that must match Docker's, field by field (issue 8): ps COMMAND
# quoting, rmi messages and statuses, inspect key sets, logs --since/--until,
# exit times.

load helpers

setup() {
  strata_setup
  if [ "$(id -u)" != 0 ]; then
    skip "containers need root here"
  fi
  import_busybox busybox >/dev/null
}

@test "ps COMMAND is quoted as Go's %q: inner quotes and backslashes escaped" {
  "$STRATA" create --name q1 busybox echo 'say "hi"' >/dev/null
  run --separate-stderr "$STRATA" ps -a --no-trunc --format '{{.Command}}'
  assert_status 0
  # Docker's daemon wraps an argument holding a space in single quotes.
  [ "$output" = "\"echo 'say \\\"hi\\\"'\"" ]
  run --separate-stderr "$STRATA" ps -a --format '{{.Command}}'
  [ "$output" = "\"echo 'say \\\"hi\\\"'\"" ]
  "$STRATA" create --name q2 busybox echo 'a"bcdefghijklmnopqrstuvwxyz' >/dev/null
  run --separate-stderr "$STRATA" ps -a -f name=q2 --format '{{.Command}}'
  [ "$output" = '"echo a\"bcdefghijklm…"' ]
}

@test "rmi -f of a name that does not exist prints the error and exits 0, as Docker" {
  run --separate-stderr "$STRATA" rmi -f nope:1
  assert_status 0
  assert_contains "$stderr" "No such image: nope:1"
  run --separate-stderr "$STRATA" rmi nope:1
  assert_status 1
  # any other failure among them still fails
  "$STRATA" tag busybox other:1
  "$STRATA" run -d --name up busybox sleep 30 >/dev/null
  id=$("$STRATA" image inspect --format '{{.Id}}' busybox)
  run --separate-stderr "$STRATA" rmi -f nope:1 "$id"
  assert_status 1
  "$STRATA" rm -f up >/dev/null
}

@test "rmi names the container that uses the image; by ID: stopped needs -f, running cannot be forced" {
  id=$("$STRATA" image inspect --format '{{.Id}}' busybox)
  short=${id#sha256:}
  short=${short:0:12}
  "$STRATA" create --name st busybox true >/dev/null
  ct=$("$STRATA" ps -aq -f name=st)
  run --separate-stderr "$STRATA" rmi busybox
  assert_status 1
  assert_contains "$stderr" "conflict: unable to remove repository reference \"busybox\" (must force) - container $ct is using its referenced image $short"
  run --separate-stderr "$STRATA" rmi "$short"
  assert_status 1
  assert_contains "$stderr" "conflict: unable to delete $short (must be forced) - image is being used by stopped container $ct"
  "$STRATA" run -d --name up busybox sleep 30 >/dev/null
  up=$("$STRATA" ps -q -f name=up)
  run --separate-stderr "$STRATA" rmi -f "$short"
  assert_status 1
  assert_contains "$stderr" "conflict: unable to delete $short (cannot be forced) - image is being used by running container $up"
  # by name and forced: untagged, the container goes on
  run --separate-stderr "$STRATA" rmi -f busybox
  assert_status 0
  assert_eq "$output" "Untagged: busybox:latest"
  run --separate-stderr "$STRATA" exec up true
  assert_status 0
  "$STRATA" rm -f up >/dev/null
}

@test "rmi -f of an image a stopped container uses: Untagged, Deleted; the container keeps its layers and starts; ps shows the image ID" {
  id=$(import_busybox --change 'LABEL v=used' used:1)
  "$STRATA" run --name st used:1 sh -c 'cat /f 2>/dev/null; echo kept >/f' >/dev/null
  run --separate-stderr "$STRATA" rmi -f used:1
  assert_status 0
  # the container holds the layers: no layer is freed, so no layer line
  assert_eq "$output" "Untagged: used:1
Deleted: $id"
  run --separate-stderr "$STRATA" image inspect "$id"
  assert_status 1
  assert_contains "$stderr" "No such image"
  run --separate-stderr "$STRATA" images -q --no-trunc
  assert_eq "$output" "$("$STRATA" image inspect --format '{{.Id}}' busybox)"
  run --separate-stderr "$STRATA" rmi "$id"
  assert_status 1
  run --separate-stderr "$STRATA" ps -a -f name=st --format '{{.Image}}'
  assert_eq "$output" "$(short_id "$id")"
  run --separate-stderr "$STRATA" ps -a -f name=st --no-trunc --format '{{.Image}}'
  assert_eq "$output" "$id"
  run --separate-stderr "$STRATA" inspect --format '{{.Image}} {{.Config.Image}}' st
  assert_eq "$output" "$id used:1"
  # its file system is intact: the upper layer and the image's files
  run --separate-stderr "$STRATA" start -a st
  assert_status 0
  assert_eq "$output" "kept"
  run --separate-stderr "$STRATA" system check
  assert_status 0
  # busybox shares the layer with the hidden image: deleting busybox frees
  # no layer while the container exists
  bid=$("$STRATA" image inspect --format '{{.Id}}' busybox)
  run --separate-stderr "$STRATA" rmi busybox
  assert_eq "$output" "Untagged: busybox:latest
Deleted: $bid"
  # the last user gone, the image and its layers go too
  "$STRATA" rm st >/dev/null
  assert_store_empty_and_clean
  run find "$STRATA_ROOT/blobs" "$STRATA_ROOT/layers" -mindepth 1 -type f
  assert_eq "$output" ""
}

@test "rmi -f of a used image, then the same image again (load): it is an image again" {
  id=$(import_busybox --change 'LABEL v=again' again:1)
  "$STRATA" save -o "$BATS_TEST_TMPDIR/a.tar" again:1
  "$STRATA" create --name st again:1 true >/dev/null
  "$STRATA" rmi -f again:1 >/dev/null
  run --separate-stderr "$STRATA" load -i "$BATS_TEST_TMPDIR/a.tar"
  assert_status 0
  run --separate-stderr "$STRATA" image inspect --format '{{.Id}} {{.RepoTags}}' "$id"
  assert_status 0
  assert_eq "$output" "$id [again:1]"
  run --separate-stderr "$STRATA" ps -a -f name=st --format '{{.Image}}'
  assert_eq "$output" "again:1"
  "$STRATA" rmi -f again:1 >/dev/null
  run --separate-stderr "$STRATA" tag "$id" again:2
  assert_status 1
  run --separate-stderr "$STRATA" ps -a -f name=st --format '{{.Image}}'
  assert_eq "$output" "$(short_id "$id")"
  "$STRATA" rm st >/dev/null
  run --separate-stderr "$STRATA" system check
  assert_status 0
  run --separate-stderr "$STRATA" load -i "$BATS_TEST_TMPDIR/a.tar"
  assert_status 0
  run --separate-stderr "$STRATA" image inspect --format '{{.Id}}' again:1
  assert_eq "$output" "$id"
}

@test "rmi prints a Deleted: line for each layer it frees (chain IDs, top first), none for a shared one" {
  "$STRATA" run --name mk busybox sh -c 'echo one >/one' >/dev/null
  "$STRATA" commit mk two:1 >/dev/null
  "$STRATA" rm mk >/dev/null
  id=$("$STRATA" image inspect --format '{{.Id}}' two:1)
  d0=$("$STRATA" image inspect --format '{{index .RootFS.Layers 0}}' two:1)
  d1=$("$STRATA" image inspect --format '{{index .RootFS.Layers 1}}' two:1)
  chain1="sha256:$(printf '%s %s' "$d0" "$d1" | sha256sum | cut -d' ' -f1)"
  run --separate-stderr "$STRATA" rmi two:1
  assert_status 0
  # layer 0 is busybox's: still used, not listed
  assert_eq "$output" "Untagged: two:1
Deleted: $id
Deleted: $chain1"
  bid=$("$STRATA" image inspect --format '{{.Id}}' busybox)
  run --separate-stderr "$STRATA" rmi busybox
  assert_eq "$output" "Untagged: busybox:latest
Deleted: $bid
Deleted: $d0"
  assert_store_empty_and_clean
}

@test "container inspect: Docker's key set; Config.Env is the image's and -e only; Mode ro; HostConfig.Tmpfs" {
  "$STRATA" import --change 'ENV A=1' "$(busybox_tar)" envimg >/dev/null
  mkdir -p "$BATS_TEST_TMPDIR/v"
  "$STRATA" create --name c1 -e B=2 -v "$BATS_TEST_TMPDIR/v:/v:ro" \
    --tmpfs /run:size=1m envimg sh >/dev/null
  run --separate-stderr "$STRATA" inspect --format \
    '{{json .AppArmorProfile}} {{json .ExecIDs}} {{json .MountLabel}} {{json .ProcessLabel}}' c1
  assert_status 0
  assert_eq "$output" '"" null "" ""'
  run --separate-stderr "$STRATA" inspect --format '{{json .Config}}' c1
  assert_eq "$output" "{\"Hostname\":\"${output:13:12}\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,\"AttachStdout\":true,\"AttachStderr\":true,\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":[\"A=1\",\"B=2\"],\"Cmd\":[\"sh\"],\"Image\":\"envimg\",\"Volumes\":null,\"WorkingDir\":\"/\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":{}}"
  run --separate-stderr "$STRATA" inspect --format '{{json .Mounts}} {{json .HostConfig.Tmpfs}}' c1
  assert_eq "$output" "[{\"Type\":\"bind\",\"Source\":\"$BATS_TEST_TMPDIR/v\",\"Destination\":\"/v\",\"Mode\":\"ro\",\"RW\":false,\"Propagation\":\"rprivate\"}] {\"/run\":\"size=1m\"}"
  # the process still gets HOSTNAME, HOME and PATH
  run --separate-stderr "$STRATA" start -a c1 </dev/null
  "$STRATA" run --rm envimg sh -c 'echo $HOSTNAME$HOME$PATH$A' | grep -q '/usr/local/sbin.*1$'
  # -d -i: stdin open, nothing attached
  "$STRATA" run -d -i --name c2 envimg sleep 30 >/dev/null
  run --separate-stderr "$STRATA" inspect --format '{{.Config.AttachStdin}} {{.Config.AttachStdout}} {{.Config.OpenStdin}} {{.Config.StdinOnce}}' c2
  assert_eq "$output" "false false true false"
  "$STRATA" rm -f c2 >/dev/null
}

@test "logs --since/--until: timestamps, unix times and durations bound the records" {
  "$STRATA" run -d --name lg busybox sh -c 'echo one; sleep 1.2; echo two' >/dev/null
  "$STRATA" wait lg >/dev/null
  run --separate-stderr "$STRATA" logs -t lg
  assert_status 0
  t2=${lines[1]%% *}
  run --separate-stderr "$STRATA" logs --since "$t2" lg
  assert_eq "$output" "two"
  run --separate-stderr "$STRATA" logs --until "$t2" lg
  assert_eq "$output" $'one\ntwo'
  t1=${lines[0]%% *}
  run --separate-stderr "$STRATA" logs --until "${t2:0:19}Z" lg
  [ "${t1:0:19}" = "${t2:0:19}" ] || assert_eq "$output" "one"
  run --separate-stderr "$STRATA" logs --since 1h lg
  assert_eq "$output" $'one\ntwo'
  run --separate-stderr "$STRATA" logs --until 1h lg
  assert_eq "$output" ""
  run --separate-stderr "$STRATA" logs --since "$(($(date +%s) + 60))" lg
  assert_eq "$output" ""
  run --separate-stderr "$STRATA" logs --since bogus lg
  assert_status 1
  assert_contains "$stderr" "bogus"
}

@test "exit time: the monitor records when the container exited, not when ps noticed" {
  "$STRATA" run -d --name ex busybox sleep 1 >/dev/null
  sleep 4
  run --separate-stderr "$STRATA" ps -a -f name=ex --format '{{.Status}}'
  assert_status 0
  [[ "$output" =~ ^Exited\ \(0\)\ [3-5]\ seconds\ ago$ ]] || {
    echo "status: $output"
    false
  }
  run --separate-stderr "$STRATA" inspect --format '{{.State.StartedAt}} {{.State.FinishedAt}}' ex
  started=$(date -d "${output% *}" +%s%N)
  finished=$(date -d "${output#* }" +%s%N)
  ran=$(((finished - started) / 1000000))
  [ "$ran" -ge 900 ] && [ "$ran" -lt 2500 ] || {
    echo "ran ${ran} ms: $output"
    false
  }
}

@test "-u: supplementary groups hold the primary group (and a named user's /etc/group entries), as Docker" {
  "$STRATA" run --name mk busybox sh -c 'echo app:x:1000:1000::/:/bin/sh >>/etc/passwd
    echo app:x:1000: >>/etc/group; echo extra:x:2000:root,app >>/etc/group'
  "$STRATA" commit mk users >/dev/null
  groups() {
    run --separate-stderr "$STRATA" run --rm -u "$1" users sh -c \
      'grep "^Groups:" /proc/self/status'
    assert_status 0
    output=$(echo $output)
  }
  groups 1000:1000
  assert_eq "$output" "Groups: 1000"
  groups app
  assert_eq "$output" "Groups: 1000 2000"
  groups app:extra
  assert_eq "$output" "Groups: 2000"
}

@test "image inspect: GraphDriver names the layer directories the store uses, in Docker's key order" {
  "$STRATA" run --name mk busybox touch /new
  "$STRATA" commit mk two >/dev/null
  "$STRATA" run --rm two true
  run --separate-stderr "$STRATA" image inspect --format '{{.GraphDriver.Name}} {{.GraphDriver.Data.UpperDir}} {{.GraphDriver.Data.LowerDir}}' two
  assert_status 0
  read -r name upper lower <<<"$output"
  if [ "$(cat "$STRATA_ROOT/storage-driver")" = erofs ]; then
    # one file per layer; diff/ is its mount point, empty on the host
    assert_eq "$name" erofs
    [ -f "${upper%/diff}/layer.erofs" ]
    [ -f "${lower%/diff}/layer.erofs" ]
  else
    assert_eq "$name" overlay
    [ -f "$upper/new" ]
    [ -x "$lower/bin/busybox" ]
  fi
  case $upper$lower in "$STRATA_ROOT"/layers/*/diff"$STRATA_ROOT"/layers/*/diff) ;; *) false ;; esac
  run --separate-stderr "$STRATA" image inspect two
  keys=$(printf '%s' "$output" | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)[0]))')
  assert_eq "$keys" "Id RepoTags RepoDigests Parent Comment Created DockerVersion Author Architecture Os Size GraphDriver RootFS Metadata Config"
}

@test "image inspect: Config has Docker 28.3's key set: eight keys always (null or \"\"), the others only when set, sorted; {{json .Config}} as Docker's CLI re-encodes it" {
  import_busybox busybox:plain >/dev/null
  # a template sees the Go type: empty keys left out, the type's order
  run --separate-stderr "$STRATA" image inspect --format '{{json .Config}}' busybox:plain
  assert_status 0
  assert_eq "$output" '{}'
  import_busybox -c 'CMD ["sh"]' -c 'ENV A=b' -c 'EXPOSE 80' -c 'STOPSIGNAL SIGTERM' \
    -c 'LABEL k=v' -c 'USER nobody' -c 'WORKDIR /tmp' -c 'VOLUME /data' busybox:full >/dev/null
  run --separate-stderr "$STRATA" image inspect --format '{{json .Config}}' busybox:full
  assert_eq "$output" '{"User":"nobody","ExposedPorts":{"80/tcp":{}},"Env":["A=b"],"Cmd":["sh"],"Volumes":{"/data":{}},"WorkingDir":"/tmp","Labels":{"k":"v"},"StopSignal":"SIGTERM"}'
  # fields still read as the type's zero values, and range/len see them
  run --separate-stderr "$STRATA" image inspect --format '[{{.Config.User}}] {{len .Config}} {{json .Config.Entrypoint}}' busybox:plain
  assert_eq "$output" '[] 8 null'
  # the plain output is the API's JSON: the eight keys always, sorted,
  # Config the last key
  run --separate-stderr "$STRATA" image inspect busybox:plain
  printf '%s' "$output" | python3 -c '
import json, sys
o = json.load(sys.stdin)[0]
assert list(o)[-1] == "Config", list(o)
assert o["Config"] == {"Cmd": None, "Entrypoint": None, "Env": None, "Labels": None, "OnBuild": None, "User": "", "Volumes": None, "WorkingDir": ""}, o["Config"]
'
  run --separate-stderr "$STRATA" image inspect busybox:full
  printf '%s' "$output" | python3 -c '
import json, sys
o = json.load(sys.stdin)[0]
assert list(o["Config"]) == sorted(o["Config"]), list(o["Config"])
'
}
