#!/usr/bin/env bats
# Containers of an image with 120 layers: the overlay mounts with the new
# mount API (lowerdir+) and with the legacy short-link fallback; whiteouts
# of upper layers hide lower files.

load helpers

setup() {
  strata_setup
  if [ "$(id -u)" != 0 ]; then
    skip "containers need root here"
  fi
}

# many_layers_archive OUT N: a docker-archive of busybox + N-1 layers, layer
# i adding /layers/i; layer 2 deletes /etc/group (an OCI whiteout).
many_layers_archive() {
  python3 - "$(busybox_tar)" "$1" "$2" <<'PY'
import hashlib, io, json, sys, tarfile
base, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
layers = [open(base, "rb").read()]
for i in range(1, n):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        data = ("%d\n" % i).encode()
        ti = tarfile.TarInfo("layers/%d" % i)
        ti.size, ti.mtime = len(data), 0
        t.addfile(ti, io.BytesIO(data))
        if i == 2:
            wh = tarfile.TarInfo("etc/.wh.group")
            t.addfile(wh, io.BytesIO(b""))
    layers.append(buf.getvalue())
diff_ids = ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]
config = json.dumps({"architecture": "amd64", "os": "linux",
                     "config": {"Cmd": ["sh"]},
                     "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
with tarfile.open(out, "w") as t:
    def add(name, data):
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    add("config.json", config)
    names = []
    for i, l in enumerate(layers):
        names.append("l%d/layer.tar" % i)
        add(names[-1], l)
    add("manifest.json", json.dumps([{"Config": "config.json",
        "RepoTags": ["many:latest"], "Layers": names}]).encode())
PY
}

@test "container: an image with 120 layers runs (lowerdir+)" {
  many_layers_archive "$BATS_TEST_TMPDIR/many.tar" 120
  "$STRATA" load -i "$BATS_TEST_TMPDIR/many.tar" >/dev/null
  run --separate-stderr "$STRATA" run --rm many sh -c 'cat /layers/1 /layers/119; ls /layers | wc -l; ls /etc'
  assert_status 0
  assert_eq "$output" "1
119
119
hostname
hosts
passwd
resolv.conf"
}

@test "container: 120 layers with the legacy mount string (short links)" {
  many_layers_archive "$BATS_TEST_TMPDIR/many.tar" 120
  "$STRATA" load -i "$BATS_TEST_TMPDIR/many.tar" >/dev/null
  run --separate-stderr env STRATA_OVERLAY_LEGACY=1 "$STRATA" run --rm many cat /layers/119
  assert_status 0
  assert_eq "$output" "119"
  [ "$(ls "$STRATA_ROOT/layers/l" | wc -l)" = 120 ]
}
