#!/usr/bin/env bats
# strata save [-o FILE] IMAGE... / strata load [-i FILE] [-q]: Docker's
# archive layout, round trips, bad and hostile archives, and interop with
# podman (docker-archive and oci-archive, both ways).

load helpers

# --- helpers ------------------------------------------------------------------

# podman on a private store under the test's temporary directory, so the
# host's images are never touched. The flags replace what
# /etc/containers/containers.conf would need on a host without systemd
# (cgroupfs, file events); nothing here runs a container.
podman_t() {
  podman --root "$BATS_TEST_TMPDIR/podroot" --runroot "$BATS_TEST_TMPDIR/podrun" \
    --storage-driver vfs --cgroup-manager cgroupfs --events-backend file "$@"
}

need_podman() {
  command -v podman >/dev/null 2>&1 || skip "podman is not installed"
}

# tar_names FILE: the entry names of a tar, one per line.
tar_names() {
  python3 -c '
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    print("\n".join(m.name for m in t))
' "$1"
}

# tar_cat FILE NAME: one entry's content.
tar_cat() {
  python3 -c '
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    sys.stdout.buffer.write(t.extractfile(sys.argv[2]).read())
' "$1" "$2"
}

# store_state: what a failed load must leave as it was: the image list, the
# blobs and an empty tmp/.
store_state() {
  "$STRATA" images -a -q --no-trunc | sort
  ls "$STRATA_ROOT/blobs/sha256" | sort
  ls -A "$STRATA_ROOT/tmp"
}

# rewrite_archive IN OUT MODE: a broken copy of a strata/Docker archive.
#   missing-blob   drops the layer blob
#   corrupt-blob   flips a byte of the layer blob (its name no longer fits)
#   dotdot         adds an entry "../evil-dotdot"
#   absolute       adds an entry "/abs-evil"
#   truncated      cuts the archive in the middle of the layer
rewrite_archive() {
  python3 - "$@" <<'EOF'
import io, json, sys, tarfile
src, dst, mode = sys.argv[1:4]
raw = open(src, "rb").read()
if mode == "truncated":
    open(dst, "wb").write(raw[: len(raw) // 2])
    sys.exit(0)
tin = tarfile.open(fileobj=io.BytesIO(raw))
manifest = json.loads(tin.extractfile("manifest.json").read())
layer = manifest[0]["Layers"][0]
with tarfile.open(dst, "w", format=tarfile.GNU_FORMAT) as tout:
    for m in tin:
        data = tin.extractfile(m).read() if m.isfile() else None
        if m.name == layer and mode == "missing-blob":
            continue
        if m.name == layer and mode == "corrupt-blob":
            data = bytearray(data)
            data[600] ^= 0xFF
            data = bytes(data)
        tout.addfile(m, io.BytesIO(data) if data is not None else None)
    if mode in ("dotdot", "absolute"):
        ti = tarfile.TarInfo("../evil-dotdot" if mode == "dotdot" else "/abs-evil")
        ti.size = 6
        tout.addfile(ti, io.BytesIO(b"pwned\n"))
EOF
}

# docker_archive OUT LAYER_FILE DIFF_ID [LAYOUT]: a docker-archive built by
# hand around one layer file (any compression): config.json's diff_ids is
# [DIFF_ID], RepoTags ["hand:made"]. LAYOUT "legacy" stores the layer as
# <id>/layer.tar, a symlink to ../<hex>.tar, as podman and older Docker do.
docker_archive() {
  python3 - "$@" <<'EOF'
import hashlib, io, json, sys, tarfile
out, layer_file, diff_id = sys.argv[1:4]
layout = sys.argv[4] if len(sys.argv) > 4 else "flat"
layer = open(layer_file, "rb").read()
config = json.dumps({"architecture": "amd64", "os": "linux",
                     "created": "2024-01-01T00:00:00Z", "config": {},
                     "rootfs": {"type": "layers", "diff_ids": [diff_id]}},
                    separators=(",", ":")).encode()
cfg_hex = hashlib.sha256(config).hexdigest()
files = [(cfg_hex + ".json", config)]
if layout == "legacy":
    lhex = hashlib.sha256(layer).hexdigest()
    files.append((lhex + ".tar", layer))
    layer_name = "v1id/layer.tar"
else:
    layer_name = "layer.bin"
    files.append((layer_name, layer))
manifest = [{"Config": cfg_hex + ".json", "RepoTags": ["hand:made"],
             "Layers": [layer_name]}]
files.append(("manifest.json", json.dumps(manifest).encode()))
with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as t:
    for name, data in files:
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    if layout == "legacy":
        ti = tarfile.TarInfo("v1id/layer.tar")
        ti.type, ti.linkname = tarfile.SYMTYPE, "../" + lhex + ".tar"
        t.addfile(ti)
print("sha256:" + cfg_hex)
EOF
}

file_digest() {
  echo "sha256:$(sha256sum <"$1" | cut -d' ' -f1)"
}

# --- save -----------------------------------------------------------------------

@test "save: Docker's layout: blobs, index.json, manifest.json, oci-layout, repositories" {
  id=$(import_busybox busybox:latest)
  layer=$(file_digest "$(busybox_tar)")
  run --separate-stderr "$STRATA" save -o "$BATS_TEST_TMPDIR/bb.tar" busybox:latest
  assert_status 0
  assert_eq "$output" ""
  names=$(tar_names "$BATS_TEST_TMPDIR/bb.tar")
  assert_eq "$(echo "$names" | head -2)" $'blobs\nblobs/sha256'
  assert_eq "$(echo "$names" | tail -4)" $'index.json\nmanifest.json\noci-layout\nrepositories'
  assert_eq "$(echo "$names" | grep -c '^blobs/sha256/')" 3
  assert_contains "$names" "blobs/sha256/${id#sha256:}"
  assert_contains "$names" "blobs/sha256/${layer#sha256:}"
  size=$(stat -c %s "$(busybox_tar)")
  assert_eq "$(tar_cat "$BATS_TEST_TMPDIR/bb.tar" manifest.json)" \
    "[{\"Config\":\"blobs/sha256/${id#sha256:}\",\"RepoTags\":[\"busybox:latest\"],\"Layers\":[\"blobs/sha256/${layer#sha256:}\"],\"LayerSources\":{\"$layer\":{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"$layer\",\"size\":$size}}}]"
  assert_eq "$(tar_cat "$BATS_TEST_TMPDIR/bb.tar" repositories)" \
    "{\"busybox\":{\"latest\":\"${layer#sha256:}\"}}"
  assert_eq "$(tar_cat "$BATS_TEST_TMPDIR/bb.tar" oci-layout)" '{"imageLayoutVersion": "1.0.0"}'
  index=$(tar_cat "$BATS_TEST_TMPDIR/bb.tar" index.json)
  assert_json_valid "$index"
  assert_contains "$index" '"annotations":{"io.containerd.image.name":"docker.io/library/busybox:latest","org.opencontainers.image.ref.name":"latest"}'
  # Deterministic: owner 0:0, mtime 0, files 0644.
  run python3 -c '
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    for m in t:
        assert m.uid == 0 and m.gid == 0 and m.mtime == 0, m.name
        assert m.mode == (0o755 if m.isdir() else 0o644), m.name
' "$BATS_TEST_TMPDIR/bb.tar"
  assert_status 0
  # The config blob is the stored config, byte for byte.
  assert_eq "$(tar_cat "$BATS_TEST_TMPDIR/bb.tar" "blobs/sha256/${id#sha256:}" | sha256sum | cut -d' ' -f1)" "${id#sha256:}"
}

@test "save: -o and stdout give identical bytes, and so does a second save" {
  import_busybox busybox:latest >/dev/null
  "$STRATA" save -o "$BATS_TEST_TMPDIR/a.tar" busybox
  "$STRATA" save busybox >"$BATS_TEST_TMPDIR/b.tar"
  "$STRATA" save busybox:latest >"$BATS_TEST_TMPDIR/c.tar"
  cmp "$BATS_TEST_TMPDIR/a.tar" "$BATS_TEST_TMPDIR/b.tar"
  cmp "$BATS_TEST_TMPDIR/a.tar" "$BATS_TEST_TMPDIR/c.tar"
}

@test "save: refuses a terminal like Docker" {
  import_busybox busybox:latest >/dev/null
  command -v script >/dev/null || skip "script(1) is not installed"
  run script -qec "$STRATA save busybox" /dev/null
  assert_failure
  assert_contains "$output" "cowardly refusing to save to a terminal. Use the -o flag or redirect"
}

@test "save: two tags of one image write its blobs once, with both RepoTags" {
  id=$(import_busybox busybox:latest)
  "$STRATA" tag busybox:latest localhost:5000/team/bb:v1
  "$STRATA" save -o "$BATS_TEST_TMPDIR/a.tar" busybox:latest localhost:5000/team/bb:v1
  names=$(tar_names "$BATS_TEST_TMPDIR/a.tar")
  assert_eq "$(echo "$names" | grep -c '^blobs/sha256/')" 3
  manifest=$(tar_cat "$BATS_TEST_TMPDIR/a.tar" manifest.json)
  assert_contains "$manifest" '"RepoTags":["busybox:latest","localhost:5000/team/bb:v1"]'
  assert_eq "$(tar_cat "$BATS_TEST_TMPDIR/a.tar" index.json | grep -o '"io.containerd.image.name"' | wc -l)" 2
}

@test "save: two images sharing a layer store the layer once; load gives both back" {
  a=$(import_busybox bb:a)
  b=$(import_busybox --change 'CMD ["sh"]' bb:b)
  [ "$a" != "$b" ]
  "$STRATA" save -o "$BATS_TEST_TMPDIR/ab.tar" bb:a bb:b
  names=$(tar_names "$BATS_TEST_TMPDIR/ab.tar")
  # two configs, two manifests, one layer
  assert_eq "$(echo "$names" | grep -c '^blobs/sha256/')" 5
  export STRATA_ROOT=$BATS_TEST_TMPDIR/other
  run --separate-stderr "$STRATA" load -i "$BATS_TEST_TMPDIR/ab.tar"
  assert_status 0
  assert_eq "$output" $'Loaded image: bb:a\nLoaded image: bb:b'
  assert_eq "$("$STRATA" image inspect --format '{{.Id}}' bb:a)" "$a"
  assert_eq "$("$STRATA" image inspect --format '{{.Id}}' bb:b)" "$b"
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

@test "save: a repository name alone saves all its tags" {
  import_busybox bb:one >/dev/null
  "$STRATA" tag bb:one bb:two
  "$STRATA" save bb >"$BATS_TEST_TMPDIR/a.tar"
  assert_contains "$(tar_cat "$BATS_TEST_TMPDIR/a.tar" manifest.json)" '"RepoTags":["bb:one","bb:two"]'
}

@test "save: by ID writes no tags (RepoTags null), and load prints the ID" {
  id=$(import_busybox busybox:latest)
  "$STRATA" save "$(short_id "$id")" >"$BATS_TEST_TMPDIR/a.tar"
  assert_contains "$(tar_cat "$BATS_TEST_TMPDIR/a.tar" manifest.json)" '"RepoTags":null'
  run tar_names "$BATS_TEST_TMPDIR/a.tar"
  [[ $output != *repositories* ]]
  "$STRATA" rmi busybox >/dev/null
  run --separate-stderr "$STRATA" load -i "$BATS_TEST_TMPDIR/a.tar"
  assert_status 0
  assert_eq "$output" "Loaded image ID: $id"
  assert_eq "$("$STRATA" images -q --no-trunc)" "$id"
}

@test "save: an unknown image fails before writing anything" {
  import_busybox busybox:latest >/dev/null
  run --separate-stderr "$STRATA" save -o "$BATS_TEST_TMPDIR/a.tar" busybox nosuch:1
  assert_status 1
  assert_error_line 'No such image: nosuch:1'
  [ ! -e "$BATS_TEST_TMPDIR/a.tar" ]
  [ -z "$(ls -A "$BATS_TEST_TMPDIR" | grep strata_temp || true)" ]
  run --separate-stderr "$STRATA" save
  assert_status 1
  assert_contains "$stderr" 'requires at least 1 argument'
}

@test "save/load: --help prints Docker-style usage" {
  run --separate-stderr "$STRATA" save --help
  assert_status 0
  assert_contains "$output" "Usage:  strata save [OPTIONS] IMAGE [IMAGE...]"
  assert_contains "$output" "-o, --output string"
  run --separate-stderr "$STRATA" load --help
  assert_status 0
  assert_contains "$output" "Usage:  strata load [OPTIONS]"
  assert_contains "$output" "-i, --input string"
  run --separate-stderr "$STRATA" load extra
  assert_status 1
  assert_contains "$stderr" 'accepts no arguments'
}

# --- load -------------------------------------------------------------------------

@test "load: round trip import -> save -> rmi -> load keeps ID, tag and layers" {
  id=$(import_busybox busybox:latest)
  layers=$("$STRATA" image inspect --format '{{json .RootFS.Layers}}' busybox)
  "$STRATA" save -o "$BATS_TEST_TMPDIR/bb.tar" busybox
  "$STRATA" rmi busybox >/dev/null
  assert_eq "$("$STRATA" images -q)" ""
  run --separate-stderr "$STRATA" load -i "$BATS_TEST_TMPDIR/bb.tar"
  assert_status 0
  assert_eq "$output" "Loaded image: busybox:latest"
  assert_eq "$("$STRATA" image inspect --format '{{.Id}}' busybox:latest)" "$id"
  assert_eq "$("$STRATA" image inspect --format '{{json .RootFS.Layers}}' busybox)" "$layers"
  # Saving it again gives the same archive: the manifest was kept.
  "$STRATA" save -o "$BATS_TEST_TMPDIR/again.tar" busybox
  cmp "$BATS_TEST_TMPDIR/bb.tar" "$BATS_TEST_TMPDIR/again.tar"
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

@test "load: from stdin, and from a gzip-compressed archive" {
  id=$(import_busybox busybox:latest)
  "$STRATA" save busybox >"$BATS_TEST_TMPDIR/bb.tar"
  gzip -c "$BATS_TEST_TMPDIR/bb.tar" >"$BATS_TEST_TMPDIR/bb.tar.gz"
  export STRATA_ROOT=$BATS_TEST_TMPDIR/r1
  run --separate-stderr "$STRATA" load <"$BATS_TEST_TMPDIR/bb.tar"
  assert_status 0
  assert_eq "$output" "Loaded image: busybox:latest"
  assert_eq "$("$STRATA" images -q --no-trunc)" "$id"
  export STRATA_ROOT=$BATS_TEST_TMPDIR/r2
  run --separate-stderr "$STRATA" load -q -i "$BATS_TEST_TMPDIR/bb.tar.gz"
  assert_status 0
  assert_eq "$output" "Loaded image: busybox:latest"
  assert_eq "$("$STRATA" images -q --no-trunc)" "$id"
}

@test "load: loading an image that is there already only (re)tags it" {
  id=$(import_busybox busybox:latest)
  "$STRATA" save busybox >"$BATS_TEST_TMPDIR/bb.tar"
  before=$(store_state)
  run --separate-stderr "$STRATA" load -i "$BATS_TEST_TMPDIR/bb.tar"
  assert_status 0
  assert_eq "$output" "Loaded image: busybox:latest"
  assert_eq "$(store_state)" "$before"
}

@test "load: a tag that moves says so, and the old image is left dangling" {
  old=$(import_busybox app:1)
  "$STRATA" save app:1 >"$BATS_TEST_TMPDIR/old.tar"
  new=$(import_busybox --change 'CMD ["sh"]' app:1)
  run --separate-stderr "$STRATA" load -i "$BATS_TEST_TMPDIR/old.tar"
  assert_status 0
  assert_eq "$output" $'The image app:1 already exists, renaming the old one with ID '"$new"$' to empty string\nLoaded image: app:1'
  assert_eq "$("$STRATA" image inspect --format '{{.Id}}' app:1)" "$old"
  assert_eq "$("$STRATA" images -f dangling=true -q --no-trunc)" "$new"
}

@test "load: a docker-archive with gzip and zstd layers" {
  diff=$(file_digest "$(busybox_tar)")
  for kind in gz zst; do
    id=$(docker_archive "$BATS_TEST_TMPDIR/$kind.tar" "$(busybox_tar $kind)" "$diff")
    run --separate-stderr "$STRATA" load -i "$BATS_TEST_TMPDIR/$kind.tar"
    assert_status 0
    assert_eq "$output" "Loaded image: hand:made"
    assert_eq "$("$STRATA" image inspect --format '{{.Id}} {{json .RootFS.Layers}}' hand:made)" "$id [\"$diff\"]"
    # Saved again, the layer is written decompressed, named by its diff ID.
    "$STRATA" save hand:made >"$BATS_TEST_TMPDIR/re-$kind.tar"
    assert_eq "$(tar_cat "$BATS_TEST_TMPDIR/re-$kind.tar" "blobs/sha256/${diff#sha256:}" | sha256sum | cut -d' ' -f1)" "${diff#sha256:}"
    "$STRATA" rmi hand:made >/dev/null
  done
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

@test "load: the legacy layout, a layer.tar symlinked to ../<hex>.tar" {
  tar=$(busybox_tar)
  id=$(docker_archive "$BATS_TEST_TMPDIR/legacy.tar" "$tar" "$(file_digest "$tar")" legacy)
  run --separate-stderr "$STRATA" load -i "$BATS_TEST_TMPDIR/legacy.tar"
  assert_status 0
  assert_eq "$output" "Loaded image: hand:made"
  assert_eq "$("$STRATA" image inspect --format '{{.Id}}' hand:made)" "$id"
}

# --- bad archives: a clear error, exit 1, the store as it was ---------------------

# expect_refused FILE ERE: load FILE fails matching ERE and changes nothing.
expect_refused() {
  local before
  before=$(store_state)
  run --separate-stderr "$STRATA" load -i "$1"
  assert_status 1
  assert_error_line "$2"
  assert_eq "$(store_state)" "$before"
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

@test "load: refuses a missing blob" {
  import_busybox busybox:latest >/dev/null
  "$STRATA" save busybox >"$BATS_TEST_TMPDIR/good.tar"
  "$STRATA" rmi busybox >/dev/null
  rewrite_archive "$BATS_TEST_TMPDIR/good.tar" "$BATS_TEST_TMPDIR/bad.tar" missing-blob
  expect_refused "$BATS_TEST_TMPDIR/bad.tar" 'manifest.json names `blobs/sha256/[0-9a-f]{64}` which is not in the archive'
}

@test "load: refuses a blob whose content does not match its name" {
  import_busybox busybox:latest >/dev/null
  "$STRATA" save busybox >"$BATS_TEST_TMPDIR/good.tar"
  "$STRATA" rmi busybox >/dev/null
  rewrite_archive "$BATS_TEST_TMPDIR/good.tar" "$BATS_TEST_TMPDIR/bad.tar" corrupt-blob
  expect_refused "$BATS_TEST_TMPDIR/bad.tar" 'blob `blobs/sha256/[0-9a-f]{64}` is corrupt'
}

@test "load: refuses a layer whose diff ID is not the config's" {
  import_busybox keep:me >/dev/null
  wrong=sha256:$(printf 'not the layer' | sha256sum | cut -d' ' -f1)
  docker_archive "$BATS_TEST_TMPDIR/bad.tar" "$(busybox_tar gz)" "$wrong" >/dev/null
  expect_refused "$BATS_TEST_TMPDIR/bad.tar" "layer 1: diff ID mismatch: config says $wrong, archive has $(file_digest "$(busybox_tar)")"
}

@test "load: refuses ../ and absolute entry names" {
  import_busybox busybox:latest >/dev/null
  "$STRATA" save busybox >"$BATS_TEST_TMPDIR/good.tar"
  "$STRATA" rmi busybox >/dev/null
  rewrite_archive "$BATS_TEST_TMPDIR/good.tar" "$BATS_TEST_TMPDIR/dotdot.tar" dotdot
  expect_refused "$BATS_TEST_TMPDIR/dotdot.tar" 'invalid path `\.\./evil-dotdot`'
  [ ! -e "$BATS_TEST_TMPDIR/evil-dotdot" ] && [ ! -e "$STRATA_ROOT/evil-dotdot" ]
  rewrite_archive "$BATS_TEST_TMPDIR/good.tar" "$BATS_TEST_TMPDIR/abs.tar" absolute
  expect_refused "$BATS_TEST_TMPDIR/abs.tar" 'absolute'
  expect_refused "$(hostile_tar dotdot-nested)" '"\.\." leaves the archive'
  expect_refused "$(hostile_tar hardlink)" 'hard link'
}

# cycle_archive OUT LAYER_FILE DIFF_ID: a legacy docker-archive of two
# images, cyc:a and cyc:b, each naming the other as its Parent.
cycle_archive() {
  python3 - "$@" <<'EOF'
import hashlib, io, json, sys, tarfile
out, layer_file, diff_id = sys.argv[1:4]
layer = open(layer_file, "rb").read()
def config(n):
    return json.dumps({"architecture": "amd64", "os": "linux",
                       "created": "2024-01-01T00:00:0%dZ" % n, "config": {},
                       "rootfs": {"type": "layers", "diff_ids": [diff_id]}},
                      separators=(",", ":")).encode()
cfgs = [config(1), config(2)]
ids = ["sha256:" + hashlib.sha256(c).hexdigest() for c in cfgs]
files = [(i[7:] + ".json", c) for i, c in zip(ids, cfgs)]
files.append(("l1/layer.tar", layer))
manifest = [{"Config": ids[k][7:] + ".json", "RepoTags": ["cyc:" + "ab"[k]],
             "Layers": ["l1/layer.tar"], "Parent": ids[1 - k]}
            for k in range(2)]
files.append(("manifest.json", json.dumps(manifest).encode()))
with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as t:
    for name, data in files:
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
EOF
}

@test "load: refuses images that name each other as Parent, naming them" {
  import_busybox keep:me >/dev/null
  tar=$(busybox_tar)
  cycle_archive "$BATS_TEST_TMPDIR/cycle.tar" "$tar" "$(file_digest "$tar")"
  expect_refused "$BATS_TEST_TMPDIR/cycle.tar" \
    'images name each other as parent \(a cycle\): cyc:a -> cyc:b -> cyc:a$'
}

@test "load: refuses a layer no kernel could unpack (bad security.capability), naming the entry" {
  python3 - "$BATS_TEST_TMPDIR/layer.tar" <<'EOF'
import io, struct, sys, tarfile
ti = tarfile.TarInfo("bin/ping")
ti.size, ti.mode = 1, 0o755
raw = struct.pack("<IIIB", 0x02000001, 1 << 13, 0, 0)
ti.pax_headers = {"SCHILY.xattr.security.capability": raw.decode("latin-1")}
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    t.addfile(ti, io.BytesIO(b"x"))
EOF
  layer=$BATS_TEST_TMPDIR/layer.tar
  docker_archive "$BATS_TEST_TMPDIR/bad.tar" "$layer" "$(file_digest "$layer")" >/dev/null
  expect_refused "$BATS_TEST_TMPDIR/bad.tar" \
    'entry "bin/ping": xattr "security.capability": wrong size'
}

@test "load: refuses what is not a tar, a truncated archive and an empty input" {
  import_busybox busybox:latest >/dev/null
  "$STRATA" save busybox >"$BATS_TEST_TMPDIR/good.tar"
  expect_refused "$(hostile_tar text)" 'not a tar archive'
  expect_refused "$(hostile_tar random)" 'not a tar archive'
  : >"$BATS_TEST_TMPDIR/empty"
  expect_refused "$BATS_TEST_TMPDIR/empty" 'not a tar archive'
  "$STRATA" rmi busybox >/dev/null
  rewrite_archive "$BATS_TEST_TMPDIR/good.tar" "$BATS_TEST_TMPDIR/cut.tar" truncated
  expect_refused "$BATS_TEST_TMPDIR/cut.tar" 'truncated'
  expect_refused "$(busybox_tar)" 'neither manifest.json'
  run --separate-stderr "$STRATA" load -i "$BATS_TEST_TMPDIR/nosuch.tar"
  assert_status 1
  assert_error_line 'nosuch.tar: No such file or directory'
}

# --- interop with podman ------------------------------------------------------------

@test "interop: strata save loads in podman with the same image ID" {
  need_podman
  id=$(import_busybox busybox:latest)
  "$STRATA" save -o "$BATS_TEST_TMPDIR/bb.tar" busybox:latest
  run podman_t load -i "$BATS_TEST_TMPDIR/bb.tar"
  assert_status 0
  assert_contains "$output" "Loaded image: docker.io/library/busybox:latest"
  assert_eq "$(podman_t images --format '{{.ID}}')" "$(short_id "$id")"
  assert_eq "$(podman_t inspect --format '{{.Id}}' busybox:latest)" "${id#sha256:}"
}

@test "interop: podman save --format docker-archive loads in strata with the same ID" {
  need_podman
  id=$(import_busybox busybox:latest)
  "$STRATA" save -o "$BATS_TEST_TMPDIR/bb.tar" busybox:latest
  podman_t load -q -i "$BATS_TEST_TMPDIR/bb.tar" >/dev/null
  podman_t save --format docker-archive -o "$BATS_TEST_TMPDIR/pd.tar" busybox:latest 2>/dev/null
  "$STRATA" rmi busybox >/dev/null
  run --separate-stderr "$STRATA" load -i "$BATS_TEST_TMPDIR/pd.tar"
  assert_status 0
  assert_eq "$output" "Loaded image: busybox:latest"
  assert_eq "$("$STRATA" image inspect --format '{{.Id}}' busybox:latest)" "$id"
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

@test "interop: podman save --format oci-archive loads in strata with the same ID" {
  need_podman
  id=$(import_busybox busybox:latest)
  "$STRATA" save -o "$BATS_TEST_TMPDIR/bb.tar" busybox:latest
  podman_t load -q -i "$BATS_TEST_TMPDIR/bb.tar" >/dev/null
  podman_t save --format oci-archive -o "$BATS_TEST_TMPDIR/po.tar" busybox:latest 2>/dev/null
  "$STRATA" rmi busybox >/dev/null
  run --separate-stderr "$STRATA" load -i "$BATS_TEST_TMPDIR/po.tar"
  assert_status 0
  assert_eq "$output" "Loaded image: busybox:latest"
  assert_eq "$("$STRATA" image inspect --format '{{.Id}}' busybox:latest)" "$id"
  # podman's OCI layer is gzip; strata saves it decompressed, and podman
  # loads that too.
  "$STRATA" save -o "$BATS_TEST_TMPDIR/again.tar" busybox:latest
  cmp "$BATS_TEST_TMPDIR/bb.tar" "$BATS_TEST_TMPDIR/again.tar"
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

@test "interop: podman's oci-archive of an untagged image loads as an ID" {
  need_podman
  id=$(import_busybox busybox:latest)
  "$STRATA" save -o "$BATS_TEST_TMPDIR/bb.tar" busybox:latest
  podman_t load -q -i "$BATS_TEST_TMPDIR/bb.tar" >/dev/null
  podman_t save --format oci-archive -o "$BATS_TEST_TMPDIR/po.tar" "${id#sha256:}" 2>/dev/null
  export STRATA_ROOT=$BATS_TEST_TMPDIR/other
  run --separate-stderr "$STRATA" load -i "$BATS_TEST_TMPDIR/po.tar"
  assert_status 0
  assert_eq "$output" "Loaded image ID: $id"
}
