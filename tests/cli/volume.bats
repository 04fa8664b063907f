#!/usr/bin/env bats
# strata volume create/ls/inspect/rm/prune and the volumes of containers
# (-v NAME:/path, anonymous volumes, --mount, --volumes-from) through the
# real binary (needs root: namespaces, overlayfs, mounts).

load helpers

setup() {
  strata_setup
  if [ "$(id -u)" != 0 ]; then
    skip "containers need root here"
  fi
  import_busybox busybox >/dev/null
}

teardown() {
  # what a -o type= volume left mounted when a test failed midway
  awk -v r="$STRATA_ROOT/volumes/" 'index($2, r) == 1 {print $2}' /proc/mounts |
    xargs -r -n1 umount -l 2>/dev/null || true
  if [ -n "${VOL_MNT:-}" ]; then
    umount "$VOL_MNT" 2>/dev/null || umount -l "$VOL_MNT" || true
  fi
}

# An image with content at /var/lib/db (owned 1:1, mode 0750) that
# declares it a VOLUME, as a database image does.
make_seeded() {
  "$STRATA" run --name seedc busybox sh -c \
    'mkdir -p /var/lib/db && echo seeded > /var/lib/db/init.txt &&
     chown -R 1:1 /var/lib/db && chmod 0750 /var/lib/db' >/dev/null
  "$STRATA" commit -c 'VOLUME /var/lib/db' seedc seeded >/dev/null
  "$STRATA" rm seedc >/dev/null
}

@test "volume create, ls, inspect, rm" {
  run --separate-stderr "$STRATA" volume create --label team=db data1
  assert_status 0
  assert_eq "$output" "data1"
  [ -d "$STRATA_ROOT/volumes/data1/_data" ]
  # an existing name is not an error (Docker)
  run --separate-stderr "$STRATA" volume create data1
  assert_status 0
  run --separate-stderr "$STRATA" volume create --name data2
  assert_status 0
  run --separate-stderr "$STRATA" volume ls
  assert_status 0
  assert_eq "$output" "$(printf 'DRIVER    VOLUME NAME\nlocal     data1\nlocal     data2')"
  run --separate-stderr "$STRATA" volume ls -q --filter label=team=db
  assert_eq "$output" "data1"
  run --separate-stderr "$STRATA" volume ls -q --filter name=a2
  assert_eq "$output" "data2"
  run --separate-stderr "$STRATA" volume ls --format '{{.Name}} {{.Driver}} {{.Scope}} {{.Labels}}'
  assert_eq "$output" "$(printf 'data1 local local team=db\ndata2 local local ')"
  run --separate-stderr "$STRATA" volume inspect data1
  assert_status 0
  assert_json_valid "$output"
  printf '%s' "$output" | STRATA_ROOT=$STRATA_ROOT python3 -c '
import json, os, sys
v = json.load(sys.stdin)[0]
assert sorted(v) == ["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"], v
assert v["Name"] == "data1" and v["Driver"] == "local" and v["Scope"] == "local", v
assert v["Labels"] == {"team": "db"}, v
assert v["Options"] is None, v
assert v["Mountpoint"] == os.environ["STRATA_ROOT"] + "/volumes/data1/_data", v
assert v["CreatedAt"].endswith("Z") and "T" in v["CreatedAt"], v'
  run --separate-stderr "$STRATA" volume inspect -f '{{.Name}}:{{.Driver}}' data2
  assert_eq "$output" "data2:local"
  run --separate-stderr "$STRATA" volume inspect nosuch
  assert_status 1
  assert_error_line 'get nosuch: no such volume'
  run --separate-stderr "$STRATA" volume rm data1 data2
  assert_status 0
  assert_eq "$output" "$(printf 'data1\ndata2')"
  [ ! -e "$STRATA_ROOT/volumes/data1" ]
  run --separate-stderr "$STRATA" volume rm nosuch
  assert_status 1
  assert_error_line 'no such volume'
  run --separate-stderr "$STRATA" volume rm -f nosuch
  assert_status 0
}

@test "volume create: bad names and options are refused in Docker's words" {
  for name in 'a/b' '_x' 'x' 'with space' '.x'; do
    run --separate-stderr "$STRATA" volume create "$name"
    assert_status 1
    assert_error_line "includes invalid characters for a local volume name, only \"\[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]\" are allowed"
  done
  run --separate-stderr "$STRATA" run --rm -v 'bad*name:/data' busybox true
  assert_status 125
  assert_error_line 'create bad\*name: "bad\*name" includes invalid characters'
  run --separate-stderr "$STRATA" volume create -o foo=bar v1
  assert_status 1
  assert_error_line 'invalid option key: "foo"'
  run --separate-stderr "$STRATA" volume create -o type=tmpfs v1
  assert_error_line 'missing required option: "device"'
  run --separate-stderr "$STRATA" volume create -d other v1
  assert_status 1
  assert_error_line 'plugin "other" not found'
  run --separate-stderr "$STRATA" volume ls -q
  assert_eq "$output" ""
  [ -z "$(ls "$STRATA_ROOT/volumes" 2>/dev/null)" ]
}

@test "volume: data written through a named volume survives rm; a new container sees it (postgres-like)" {
  run --separate-stderr "$STRATA" run --name db1 -v pgdata:/var/lib/postgresql/data busybox \
    sh -c 'echo "row 1" > /var/lib/postgresql/data/table; echo "row 2" >> /var/lib/postgresql/data/table'
  assert_status 0
  run --separate-stderr "$STRATA" inspect -f '{{json .HostConfig.Binds}} {{range .Mounts}}{{.Type}} {{.Name}} {{.Source}} {{.Destination}} {{.Driver}} {{.RW}}{{end}}' db1
  assert_eq "$output" "[\"pgdata:/var/lib/postgresql/data\"] volume pgdata $STRATA_ROOT/volumes/pgdata/_data /var/lib/postgresql/data local true"
  run --separate-stderr "$STRATA" rm db1
  assert_status 0
  run --separate-stderr "$STRATA" volume ls -q
  assert_eq "$output" "pgdata"
  run --separate-stderr "$STRATA" run --rm -v pgdata:/var/lib/postgresql/data busybox \
    cat /var/lib/postgresql/data/table
  assert_status 0
  assert_eq "$output" "$(printf 'row 1\nrow 2')"
  # a detached one, stopped and removed with -v: named volumes stay
  "$STRATA" run -d --name db2 -v pgdata:/data busybox sh -c 'echo "row 3" >> /data/table; sleep 100' >/dev/null
  "$STRATA" stop -t 1 db2 >/dev/null
  run --separate-stderr "$STRATA" rm -v db2
  assert_status 0
  run --separate-stderr "$STRATA" run --rm -v pgdata:/data:ro busybox sh -c 'cat /data/table; echo x > /data/new'
  assert_status 1
  assert_contains "$output" "row 3"
  assert_contains "$stderr" "Read-only file system"
}

@test "volume: a new empty volume gets the image's content at its path; nocopy and a full volume do not" {
  make_seeded
  run --separate-stderr "$STRATA" run --rm -v dbv:/var/lib/db seeded cat /var/lib/db/init.txt
  assert_status 0
  assert_eq "$output" "seeded"
  assert_eq "$(stat -c '%u:%g %a' "$STRATA_ROOT/volumes/dbv/_data")" "1:1 750"
  assert_eq "$(stat -c '%u:%g' "$STRATA_ROOT/volumes/dbv/_data/init.txt")" "1:1"
  # not empty any more: the image's content is not copied over it
  echo changed > "$STRATA_ROOT/volumes/dbv/_data/init.txt"
  rm -f "$STRATA_ROOT/volumes/dbv/_data/x"
  run --separate-stderr "$STRATA" run --rm -v dbv:/var/lib/db seeded cat /var/lib/db/init.txt
  assert_eq "$output" "changed"
  run --separate-stderr "$STRATA" run --rm -v empty:/var/lib/db:nocopy seeded ls -A /var/lib/db
  assert_status 0
  assert_eq "$output" ""
  run --separate-stderr "$STRATA" run --rm --mount type=volume,src=empty2,dst=/var/lib/db,volume-nocopy seeded ls -A /var/lib/db
  assert_eq "$output" ""
  # two containers created at once with one new volume: both work, the
  # image's content is copied once
  "$STRATA" create -v race:/var/lib/db seeded true >"$BATS_TEST_TMPDIR/c1" 2>&1 &
  "$STRATA" create -v race:/var/lib/db seeded true >"$BATS_TEST_TMPDIR/c2" 2>&1 &
  wait
  assert_match "$(cat "$BATS_TEST_TMPDIR/c1")" '^[0-9a-f]{64}$'
  assert_match "$(cat "$BATS_TEST_TMPDIR/c2")" '^[0-9a-f]{64}$'
  assert_eq "$(ls -A "$STRATA_ROOT/volumes/race/_data")" "init.txt"
  # an empty directory in the image: the volume takes its owner and mode
  "$STRATA" run --name e1 busybox sh -c 'mkdir -p /pg && chown 70:70 /pg && chmod 700 /pg' >/dev/null
  "$STRATA" commit -c 'VOLUME /pg' e1 emptydir >/dev/null
  run --separate-stderr "$STRATA" run --rm -v pgv:/pg emptydir ls -A /pg
  assert_status 0
  assert_eq "$output" ""
  assert_eq "$(stat -c '%u:%g %a' "$STRATA_ROOT/volumes/pgv/_data")" "70:70 700"
  # a path the image does not have: an empty volume, no error
  run --separate-stderr "$STRATA" run --rm -v other:/nowhere seeded ls -A /nowhere
  assert_status 0
  assert_eq "$output" ""
}

@test "volume: the image's VOLUME and -v /path make anonymous volumes; run --rm and rm -v remove them" {
  make_seeded
  run --separate-stderr "$STRATA" run --rm seeded cat /var/lib/db/init.txt
  assert_status 0
  assert_eq "$output" "seeded"
  run --separate-stderr "$STRATA" volume ls -q
  assert_eq "$output" ""
  run --separate-stderr "$STRATA" run --name keep -v /scratch seeded sh -c 'echo s > /scratch/f'
  assert_status 0
  run --separate-stderr "$STRATA" volume ls -q
  [ "${#lines[@]}" -eq 2 ]
  for v in "${lines[@]}"; do assert_match "$v" '^[0-9a-f]{64}$'; done
  run --separate-stderr "$STRATA" volume inspect -f '{{json .Labels}}' "${lines[0]}"
  assert_eq "$output" '{"com.docker.volume.anonymous":""}'
  run --separate-stderr "$STRATA" inspect -f '{{range .Mounts}}{{.Type}} {{.Destination}} {{.Driver}} {{len .Name}}|{{end}}' keep
  assert_contains "$output" "volume /scratch local 64|"
  assert_contains "$output" "volume /var/lib/db local 64|"
  run --separate-stderr "$STRATA" inspect -f '{{json .HostConfig.Binds}}' keep
  assert_eq "$output" "[]"
  # rm without -v keeps them; with -v they go
  "$STRATA" run --name keep2 -v /scratch busybox true >/dev/null
  "$STRATA" rm keep2 >/dev/null
  run --separate-stderr "$STRATA" volume ls -q
  [ "${#lines[@]}" -eq 3 ]
  "$STRATA" volume prune -f >/dev/null
  run --separate-stderr "$STRATA" volume ls -q
  [ "${#lines[@]}" -eq 2 ]
  run --separate-stderr "$STRATA" rm -v keep
  assert_status 0
  run --separate-stderr "$STRATA" volume ls -q
  assert_eq "$output" ""
  # a detached --rm container removes its anonymous volume at exit
  "$STRATA" run -d --rm -v /scratch busybox true >/dev/null
  for _ in $(seq 50); do
    [ -z "$("$STRATA" ps -aq)" ] && break
    sleep 0.1
  done
  "$STRATA" ps -a >/dev/null
  run --separate-stderr "$STRATA" volume ls -q
  assert_eq "$output" ""
}

@test "volume rm: a volume in use is refused with Docker's message" {
  cid=$("$STRATA" create -v busy:/data busybox true)
  run --separate-stderr "$STRATA" volume rm busy
  assert_status 1
  assert_error_line "remove busy: volume is in use - \[$cid\]"
  run --separate-stderr "$STRATA" volume rm -f busy
  assert_status 1
  run --separate-stderr "$STRATA" volume prune -a -f
  assert_status 0
  assert_eq "$output" "Total reclaimed space: 0B"
  [ -d "$STRATA_ROOT/volumes/busy/_data" ]
  run --separate-stderr "$STRATA" volume ls -q --filter dangling=true
  assert_eq "$output" ""
  run --separate-stderr "$STRATA" volume ls -q --filter dangling=false
  assert_eq "$output" "busy"
  "$STRATA" rm "$cid" >/dev/null
  run --separate-stderr "$STRATA" volume ls -q --filter dangling=true
  assert_eq "$output" "busy"
  run --separate-stderr "$STRATA" volume rm busy
  assert_status 0
}

@test "volume prune: anonymous ones only unless -a; in-use ones stay" {
  "$STRATA" volume create named >/dev/null
  "$STRATA" volume create --label keep=1 kept >/dev/null
  "$STRATA" run --name pa -v /anon busybox sh -c 'head -c 3000 /dev/zero > /anon/f' >/dev/null
  "$STRATA" rm pa >/dev/null
  anon=$("$STRATA" volume ls -q --filter label=com.docker.volume.anonymous)
  assert_match "$anon" '^[0-9a-f]{64}$'
  run --separate-stderr bash -c "echo n | '$STRATA' volume prune"
  assert_contains "$stderr" "WARNING! This will remove anonymous local volumes not used by at least one container."
  [ -d "$STRATA_ROOT/volumes/$anon" ]
  run --separate-stderr "$STRATA" volume prune -f
  assert_status 0
  assert_eq "$output" "$(printf 'Deleted Volumes:\n%s\n\nTotal reclaimed space: 3kB' "$anon")"
  run --separate-stderr "$STRATA" volume prune -a -f --filter label!=keep=1
  assert_eq "$output" "$(printf 'Deleted Volumes:\nnamed\n\nTotal reclaimed space: 0B')"
  run --separate-stderr "$STRATA" volume ls -q
  assert_eq "$output" "kept"
}

@test "volume: -v of a missing host directory creates it; --mount refuses it" {
  host=$BATS_TEST_TMPDIR/new/dir
  run --separate-stderr "$STRATA" run --rm -v "$host:/data" busybox sh -c 'echo hi > /data/f'
  assert_status 0
  assert_eq "$(cat "$host/f")" "hi"
  run --separate-stderr "$STRATA" run --rm --mount "type=bind,source=$BATS_TEST_TMPDIR/x,target=/data" busybox true
  assert_status 125
  assert_error_line "invalid mount config for type \"bind\": bind source path does not exist: $BATS_TEST_TMPDIR/x"
  [ ! -e "$BATS_TEST_TMPDIR/x" ]
  run --separate-stderr "$STRATA" run --rm --mount "type=bind,src=$host,dst=/data,readonly" busybox sh -c 'cat /data/f; touch /data/g'
  assert_status 1
  assert_eq "$output" "hi"
  run --separate-stderr "$STRATA" run --rm -v "$host:/data:ro,Z" busybox cat /data/f
  assert_status 0
  run --separate-stderr "$STRATA" run --rm -v "$host:/data:z,rshared" busybox cat /data/f
  assert_status 0
  run --separate-stderr "$STRATA" run --rm --mount "type=bind,src=$host,dst=/data,bind-propagation=rslave" busybox cat /data/f
  assert_status 0
}

@test "volume: --mount and -v errors are Docker's; nothing is created" {
  check() { # expected-message args...
    local want=$1
    shift
    run --separate-stderr "$STRATA" run --rm "$@" busybox true
    assert_status 125
    assert_error_line "$want"
  }
  check "invalid argument \"type=volume,foo=bar,dst=/d\" for \"--mount\" flag: unexpected key 'foo' in 'foo=bar'" \
    --mount type=volume,foo=bar,dst=/d
  check "invalid field 'oops' must be a key=value pair" --mount type=volume,oops,dst=/d
  check 'invalid mount config for type "volume": field Target must not be empty' --mount type=volume,src=v
  check 'invalid mount config for type "bind": field Source must not be empty' --mount type=bind,dst=/d
  check 'invalid mount config for type "foo": mount type unknown' --mount type=foo,dst=/d
  check "cannot mix 'tmpfs-\*' options with mount type 'volume'" --mount type=volume,dst=/d,tmpfs-size=1m
  check "cannot mix 'bind-\*' options with mount type 'volume'" --mount dst=/d,bind-propagation=rslave
  check 'invalid value for readonly: maybe' --mount type=volume,dst=/d,readonly=maybe
  check 'invalid mount config for type "tmpfs": field Source must not be specified' --mount type=tmpfs,src=x,dst=/d
  check "invalid mount path: 'rel' mount path must be absolute" --mount type=volume,dst=rel
  check 'invalid mode: bogus' -v v:/d:bogus
  check "invalid volume specification: 'a:b:c:d'" -v a:b:c:d
  check 'Duplicate mount point: /d' -v v1:/d -v v2:/d/
  run --separate-stderr "$STRATA" volume ls -q
  assert_eq "$output" ""
  run --separate-stderr "$STRATA" ps -aq
  assert_eq "$output" ""
}

@test "volume: --mount type=volume and type=tmpfs, --volumes-from" {
  run --separate-stderr "$STRATA" run --name src1 --mount type=volume,source=shared,target=/shared busybox sh -c 'echo from-src1 > /shared/f'
  assert_status 0
  run --separate-stderr "$STRATA" run --rm --volumes-from src1 busybox cat /shared/f
  assert_status 0
  assert_eq "$output" "from-src1"
  run --separate-stderr "$STRATA" run --rm --volumes-from src1:ro busybox touch /shared/g
  assert_status 1
  assert_contains "$stderr" "Read-only file system"
  run --separate-stderr "$STRATA" run --rm --mount type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770 busybox sh -c 'grep " /t " /proc/mounts; stat -c %a /t'
  assert_status 0
  assert_match "$output" 'tmpfs /t tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k,mode=1770'
  assert_contains "$output" "1770"
  # volume-label and volume-opt apply to a volume --mount creates
  run --separate-stderr "$STRATA" run --rm --mount type=volume,src=lv,dst=/x,volume-label=team=db,volume-opt=type=tmpfs,volume-opt=device=tmpfs busybox sh -c 'grep -c " /x tmpfs " /proc/mounts'
  assert_status 0
  assert_eq "$output" "1"
  run --separate-stderr "$STRATA" volume inspect -f '{{json .Labels}} {{json .Options}}' lv
  assert_eq "$output" '{"team":"db"} {"device":"tmpfs","type":"tmpfs"}'
  run --separate-stderr "$STRATA" run --rm --mount type=volume,src=z1,dst=/x,volume-driver=other busybox true
  assert_status 125
  assert_error_line 'error looking up volume plugin other: plugin "other" not found'
  run --separate-stderr "$STRATA" run --rm --volumes-from nosuch busybox true
  assert_status 125
  assert_error_line 'No such container: nosuch'
}

@test "volume create -o type=tmpfs: mounted with its options in the container" {
  run --separate-stderr "$STRATA" volume create -o type=tmpfs -o device=tmpfs -o o=size=2m,uid=7 tv
  assert_status 0
  run --separate-stderr "$STRATA" volume inspect -f '{{json .Options}}' tv
  assert_eq "$output" '{"device":"tmpfs","o":"size=2m,uid=7","type":"tmpfs"}'
  run --separate-stderr "$STRATA" run --rm -v tv:/mnt busybox sh -c 'grep " /mnt " /proc/mounts; stat -c %u /mnt'
  assert_status 0
  assert_match "$output" 'tmpfs /mnt tmpfs rw,.*size=2048k.*uid=7'
  # mounted on the host at _data, as Docker's local driver: containers
  # running at once share it
  "$STRATA" run -d --name tw -v tv:/mnt busybox sh -c 'echo shared > /mnt/f; sleep 100' >/dev/null
  for _ in $(seq 50); do
    [ -s "$STRATA_ROOT/volumes/tv/_data/f" ] && break
    sleep 0.1
  done
  grep -q " $STRATA_ROOT/volumes/tv/_data tmpfs " /proc/mounts
  run --separate-stderr "$STRATA" run --rm -v tv:/mnt busybox cat /mnt/f
  assert_eq "$output" "shared"
  "$STRATA" rm -f tw >/dev/null
  run --separate-stderr "$STRATA" volume rm tv
  assert_status 0
  run grep -c " $STRATA_ROOT/volumes/tv/_data " /proc/mounts
  assert_eq "$output" "0"
  [ ! -e "$STRATA_ROOT/volumes/tv" ]
  run --separate-stderr "$STRATA" volume create -o type=none -o o=bind -o "device=$BATS_TEST_TMPDIR" bv
  echo there > "$BATS_TEST_TMPDIR/seen"
  run --separate-stderr "$STRATA" run --rm -v bv:/mnt busybox cat /mnt/seen
  assert_status 0
  assert_eq "$output" "there"
}

@test "volume: a store made before volumes existed opens and gains them" {
  "$STRATA" images -q >/dev/null
  local latest
  latest=$(sqlite3 "$STRATA_ROOT/strata.db" 'PRAGMA user_version')
  # Back to schema 5: drop every table that versions 6 and later added
  # (volumes, build outputs, and whatever came after).
  local v5=" build_cache compressed containers digests file_hashes image_layers images layers remote_blobs tags "
  local t drop=""
  for t in $(sqlite3 "$STRATA_ROOT/strata.db" "SELECT name FROM sqlite_master WHERE type = 'table'"); do
    [[ $v5 == *" $t "* ]] || drop="$drop DROP TABLE $t;"
  done
  [[ $drop == *volumes* ]]
  sqlite3 "$STRATA_ROOT/strata.db" "PRAGMA foreign_keys=OFF; $drop PRAGMA user_version=5;"
  run --separate-stderr "$STRATA" images -q
  assert_status 0
  assert_match "$output" '^[0-9a-f]{12}$'
  assert_eq "$(sqlite3 "$STRATA_ROOT/strata.db" 'PRAGMA user_version')" "$latest"
  run --separate-stderr "$STRATA" run --rm -v after:/d busybox true
  assert_status 0
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

@test "system df: the Local Volumes row and -v table count volumes" {
  "$STRATA" run --rm -v free:/d busybox sh -c 'head -c 5000 /dev/zero > /d/f'
  cid=$("$STRATA" run -d -v busy:/d busybox sh -c 'head -c 2000 /dev/zero > /d/f; sleep 100')
  for _ in $(seq 50); do
    [ -s "$STRATA_ROOT/volumes/busy/_data/f" ] && [ "$(stat -c %s "$STRATA_ROOT/volumes/busy/_data/f")" = 2000 ] && break
    sleep 0.1
  done
  run --separate-stderr "$STRATA" system df --format '{{.Type}}|{{.TotalCount}}|{{.Active}}|{{.Size}}|{{.Reclaimable}}'
  assert_status 0
  assert_contains "$output" "Local Volumes|2|1|7kB|5kB (71%)"
  run --separate-stderr "$STRATA" system df -v
  assert_contains "$output" "$(printf 'VOLUME NAME   LINKS     SIZE\nbusy          1         2kB\nfree          0         5kB')"
  "$STRATA" rm -f "$cid" >/dev/null
}

@test "system check: a volume directory without a record, and a record without its directory" {
  "$STRATA" volume create kept >/dev/null
  mkdir -p "$STRATA_ROOT/volumes/stray/_data"
  rm -rf "$STRATA_ROOT/volumes/kept"
  run --separate-stderr "$STRATA" system check
  assert_status 1
  assert_contains "$output" "volume kept: recorded, but its directory volumes/kept/_data is missing"
  assert_contains "$output" "volume stray: a directory in volumes/ without a record"
  run --separate-stderr "$STRATA" system check --repair
  assert_status 0
  [ ! -e "$STRATA_ROOT/volumes/stray" ]
  [ -d "$STRATA_ROOT/volumes/kept/_data" ]
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

@test "volume: a copy-up that hits a full disk fails cleanly and leaves the volume empty" {
  VOL_MNT=$BATS_TEST_TMPDIR/fs
  mkdir -p "$VOL_MNT"
  mount -t tmpfs -o size=6m tmpfs "$VOL_MNT" || skip "cannot mount a tmpfs here"
  export STRATA_ROOT=$VOL_MNT/root
  # a store on tmpfs: the automatic backend (erofs cannot mount a file there)
  unset STRATA_STORAGE_DRIVER
  mkdir -p "$BATS_TEST_TMPDIR/big/data"
  head -c 2500000 /dev/urandom >"$BATS_TEST_TMPDIR/big/data/big.bin"
  tar --owner=0 --group=0 --numeric-owner -C "$BATS_TEST_TMPDIR/big" -cf "$BATS_TEST_TMPDIR/big.tar" data
  "$STRATA" import -c 'VOLUME /data' "$BATS_TEST_TMPDIR/big.tar" big >/dev/null
  run --separate-stderr "$STRATA" create -v full:/data big true
  assert_status 125
  assert_imatch "$stderr" "copy the image's /data into volume full: .*no space left on device"
  run --separate-stderr "$STRATA" ps -aq
  assert_eq "$output" ""
  assert_eq "$(ls -A "$STRATA_ROOT/volumes/full")" "_data"
  assert_eq "$(ls -A "$STRATA_ROOT/volumes/full/_data")" ""
  run --separate-stderr "$STRATA" system check
  assert_status 0
}
