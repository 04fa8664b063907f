#!/usr/bin/env bats
# A pulled layer stored once (issue 10): where layers are mounted as tar
# indexes (the erofs backend), a pull keeps each compressed layer as its
# uncompressed tar only, under its diff ID; the blob it came as is checked
# while it downloads but never written. save, push (back to the same
# registry, to another repository, to another registry), run, system check
# and a second pull sharing the layer all work from the tar. The directory
# backend keeps the compressed blob as before.

load helpers
load ../registry/registry

setup_file() {
  # a second, empty registry: a push there has no blob to mount
  reg_start http "$BATS_FILE_TMPDIR/registry2" || return 1
  REG2=$REG REG2_PID=$REG_PID
  REG_PID=
  reg_setup_file http
  export REG2 REG2_PID
}

teardown_file() {
  reg_stop
  REG_PID=$REG2_PID reg_stop
}

setup() {
  reg_setup 1
  unset STRATA_STORAGE_DRIVER
}

# push_layered NAME KIB...: a store of its own builds NAME on busybox with
# one COPY layer per KIB (a file of that many KiB of random bytes under
# /data/N/) and pushes it (push compresses the layers with gzip); prints
# the layers' digests in the registry, one per line, bottom first.
push_layered() {
  local name=$1 ctx=$BATS_TEST_TMPDIR/ctx-$RANDOM i=0
  shift
  export STRATA_ROOT=$BATS_TEST_TMPDIR/pusher
  mkdir -p "$ctx"
  "$STRATA" image inspect busybox >/dev/null 2>&1 || import_busybox busybox >/dev/null || return 1
  echo "FROM busybox" >"$ctx/Dockerfile"
  for kib; do
    head -c $((kib * 1024)) /dev/urandom >"$ctx/f$i"
    echo "COPY f$i /data/$i/" >>"$ctx/Dockerfile"
    i=$((i + 1))
  done
  "$STRATA" build -q -t "$name" "$ctx" >/dev/null || return 1
  "$STRATA" push -q "$name" >/dev/null || return 1
  curl -s --noproxy '*' -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://${name%%/*}/v2/$(repo_path "$name")/manifests/${name##*:}" |
    python3 -c 'import json,sys; [print(l["digest"]) for l in json.load(sys.stdin)["layers"]]'
}

# repo_path HOST:PORT/PATH:TAG -> PATH
repo_path() {
  local p=${1#*/}
  echo "${p%:*}"
}

blob_file() {
  echo "$STRATA_ROOT/blobs/sha256/${1#sha256:}"
}

@test "stored once: an erofs store keeps a pulled layer as its tar under its diff ID, not the blob it came as" {
  erofs_or_skip
  mapfile -t pushed < <(push_layered "$R:latest" 300 200)
  [ "${#pushed[@]}" -eq 3 ]
  export STRATA_ROOT=$BATS_TEST_TMPDIR/store STRATA_STORAGE_DRIVER=erofs
  run --separate-stderr "$STRATA" pull "$R:latest"
  assert_status 0
  mapfile -t diff_ids < <("$STRATA" image inspect -f '{{range .RootFS.Layers}}{{println .}}{{end}}' "$R:latest" | sed '/^$/d')
  [ "${#diff_ids[@]}" -eq 3 ]
  for i in 0 1 2; do
    # the compressed blob was never written; the tar is there, and is the layer
    [ ! -e "$(blob_file "${pushed[$i]}")" ]
    [ -f "$(blob_file "${diff_ids[$i]}")" ]
    assert_eq "sha256:$(sha256sum <"$(blob_file "${diff_ids[$i]}")" | cut -d' ' -f1)" "${diff_ids[$i]}"
  done
  # each layer was indexed while it downloaded: ready to mount, a few KiB
  [ "$(find "$STRATA_ROOT/layers" -name layer.erofs | wc -l)" -eq 3 ]
  [ "$(find "$STRATA_ROOT/layers" -name layer.erofs -size +64k | wc -l)" -eq 0 ]
  [ -z "$(ls -A "$STRATA_ROOT/tmp")" ]
  # the repo digest is the registry's manifest, as before
  run "$STRATA" image inspect -f '{{index .RepoDigests 0}}' "$R:latest"
  assert_match "$output" "^$R@sha256:[0-9a-f]{64}$"
  run "$STRATA" system check
  assert_status 0
  # the container reads the tar's bytes through the index
  run "$STRATA" run --rm --pull never "$R:latest" sh -c 'cat /data/*/* | wc -c'
  assert_status 0
  [ "$output" -gt 0 ]
  # save gives the same image to another store
  "$STRATA" save -o "$BATS_TEST_TMPDIR/out.tar" "$R:latest"
  id=$("$STRATA" images -q --no-trunc "$R:latest")
  run env STRATA_ROOT="$BATS_TEST_TMPDIR/loaded" "$STRATA" load -q -i "$BATS_TEST_TMPDIR/out.tar"
  assert_status 0
  assert_eq "$(STRATA_ROOT=$BATS_TEST_TMPDIR/loaded "$STRATA" images -q --no-trunc "$R:latest")" "$id"
}

@test "stored once: disk use is the tar plus the small index, not the compressed blob again" {
  erofs_or_skip
  push_layered "$R:latest" 2000 >/dev/null
  export STRATA_ROOT=$BATS_TEST_TMPDIR/store STRATA_STORAGE_DRIVER=erofs
  "$STRATA" pull -q "$R:latest" >/dev/null
  "$STRATA" run --rm --pull never "$R:latest" true
  tar_bytes=$(find "$STRATA_ROOT/blobs" -type f -size +100k -printf '%s\n' | awk '{s += $1} END {print s}')
  layer=$(find "$STRATA_ROOT/layers" -name layer.erofs -size +100k | wc -l)
  # the big files are the tars (busybox's and the data layer's); the layer
  # files are indexes of them
  [ "$(find "$STRATA_ROOT/blobs" -type f -size +100k | wc -l)" -eq 2 ]
  [ "$layer" -eq 0 ]
  # layers and blobs together (the database is a fixed cost) stay within
  # 1.05x the tars
  used=$(du -scb "$STRATA_ROOT/blobs" "$STRATA_ROOT/layers" | tail -1 | cut -f1)
  [ "$used" -lt $((tar_bytes * 105 / 100)) ]
}

@test "stored once: a re-push to the registry it came from sends nothing; the manifest digest stays" {
  erofs_or_skip
  push_layered "$R:latest" 300 200 >/dev/null
  export STRATA_ROOT=$BATS_TEST_TMPDIR/store STRATA_STORAGE_DRIVER=erofs
  "$STRATA" pull -q "$R:latest" >/dev/null
  digest=$("$STRATA" image inspect -f '{{index .RepoDigests 0}}' "$R:latest")
  run --separate-stderr "$STRATA" push "$R:latest"
  assert_status 0
  [ "$(grep -c ': Layer already exists$' <<<"$output")" -eq 3 ]
  assert_contains "$output" "latest: digest: ${digest#*@} "
  # another repository of the same registry: mounted, same manifest
  "$STRATA" tag "$R:latest" "$R-copy:v1"
  run --separate-stderr "$STRATA" push "$R-copy:v1"
  assert_status 0
  [ "$(grep -c ': Mounted from ' <<<"$output")" -eq 3 ]
  assert_contains "$output" "v1: digest: ${digest#*@} "
  # nothing was compressed: still no compressed blob in the store
  [ "$(find "$STRATA_ROOT/blobs" -type f -size +100k | wc -l)" -eq 3 ]
}

@test "stored once: a push to a registry without the blob compresses the tar again and the image pulls back the same" {
  erofs_or_skip
  push_layered "$R:latest" 300 >/dev/null
  export STRATA_ROOT=$BATS_TEST_TMPDIR/store STRATA_STORAGE_DRIVER=erofs
  "$STRATA" pull -q "$R:latest" >/dev/null
  id=$("$STRATA" images -q --no-trunc "$R:latest")
  "$STRATA" tag "$R:latest" "$REG2/elsewhere:v1"
  run --separate-stderr "$STRATA" push "$REG2/elsewhere:v1"
  assert_status 0
  assert_contains "$output" ": Pushed"
  run env STRATA_ROOT="$BATS_TEST_TMPDIR/third" "$STRATA" pull -q "$REG2/elsewhere:v1"
  assert_status 0
  assert_eq "$(STRATA_ROOT=$BATS_TEST_TMPDIR/third "$STRATA" images -q --no-trunc "$REG2/elsewhere:v1")" "$id"
  run "$STRATA" system check
  assert_status 0
}

@test "stored once: a second image on the same base pulls only its own layer" {
  erofs_or_skip
  mapfile -t base < <(push_layered "$R:base" 300)
  # the same bottom layer (busybox, compressed once by the pusher)
  mapfile -t top < <(push_layered "$R:top" 100)
  assert_eq "${top[0]}" "${base[0]}"
  export STRATA_ROOT=$BATS_TEST_TMPDIR/store STRATA_STORAGE_DRIVER=erofs
  "$STRATA" pull -q "$R:base" >/dev/null
  run --separate-stderr "$STRATA" pull "$R:top"
  assert_status 0
  assert_contains "$output" "${base[0]:7:12}: Already exists"
  assert_contains "$output" "${top[1]:7:12}: Pull complete"
  run "$STRATA" run --rm --pull never "$R:top" true
  assert_status 0
  run "$STRATA" system check
  assert_status 0
}

@test "stored once: the directory backend keeps the compressed blob it pulled" {
  mapfile -t pushed < <(push_layered "$R:latest" 300)
  export STRATA_ROOT=$BATS_TEST_TMPDIR/store STRATA_STORAGE_DRIVER=dir
  "$STRATA" pull -q "$R:latest" >/dev/null
  [ -f "$(blob_file "${pushed[0]}")" ]
  [ -f "$(blob_file "${pushed[1]}")" ]
  run "$STRATA" system check
  assert_status 0
}

# push_hostile REPO: puts an image whose only layer (gzip) has an entry
# "../escaped" into the registry through its API.
push_hostile() {
  python3 - "$REG" "$1" <<'EOF2'
import gzip, hashlib, io, json, sys, tarfile, urllib.request
reg, repo = sys.argv[1], sys.argv[2]
base = "http://%s/v2/%s" % (reg, repo)
noproxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
def req(url, data=None, method=None, headers=None):
    return noproxy.open(urllib.request.Request(url, data=data, method=method, headers=headers or {}))
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
    data = b"x" * 100
    ti = tarfile.TarInfo("../escaped")
    ti.size = len(data)
    t.addfile(ti, io.BytesIO(data))
raw = buf.getvalue()
gz = gzip.compress(raw, mtime=0)
def put(body):
    d = "sha256:" + hashlib.sha256(body).hexdigest()
    loc = req(base + "/blobs/uploads/", data=b"", method="POST").headers["Location"]
    if loc.startswith("/"):
        loc = "http://" + reg + loc
    sep = "&" if "?" in loc else "?"
    req(loc + sep + "digest=" + d, data=body, method="PUT",
        headers={"Content-Type": "application/octet-stream"})
    return d
layer = put(gz)
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                  "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]}}).encode()
cd = put(cfg)
man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": len(cfg), "digest": cd},
       "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "size": len(gz), "digest": layer}]}
req(base + "/manifests/latest", data=json.dumps(man).encode(), method="PUT",
    headers={"Content-Type": man["mediaType"]})
EOF2
}

@test "stored once: a layer whose tar is hostile fails the pull and stores nothing" {
  erofs_or_skip
  export STRATA_STORAGE_DRIVER=erofs
  push_hostile "t$BATS_TEST_NUMBER/bad"
  run --separate-stderr "$STRATA" pull "$R/bad:latest"
  assert_failure
  assert_contains "$stderr" "../escaped"
  run "$STRATA" images -q
  assert_eq "$output" ""
  "$STRATA" image prune -f >/dev/null
  # nothing of the layer stays in blobs/ once gc ran
  [ "$(find "$STRATA_ROOT/blobs" -type f -size +1k | wc -l)" -eq 0 ]
}
