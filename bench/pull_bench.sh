#!/usr/bin/env bash
# Pull/push benchmark against a local registry (Debian's docker-registry on
# a free port of 127.0.0.1), issue 10's comparison: for strata with each
# layer backend (dir, erofs), `pull` alone, `pull` then the first `run --rm
# IMG true` (which makes the layers mountable), and the store's disk use
# after that; `podman pull` and `podman pull` + `podman run --rm` (overlay
# driver, its default, network none); `skopeo copy` to an OCI dir (download
# and verify only). Then strata push back and an unchanged re-push. Prints
# the median wall time and peak RSS of each, and the ratios with targets.
#
#   bench/pull_bench.sh [STRATA_BIN]        (default build/strata)
# Env: RUNS (default 3), ROOTFS_MB (default 150), RANDOM_MB (default 25, per
#      random layer: about the issue's 223 MB image), BACKENDS (default
#      "dir erofs"), KEEP=1 keeps the work directory.
#
# The image: layer 1 is a rootfs-like tree copied from this machine's /usr
# (real binaries, libraries and text, many files; about ROOTFS_MB of it),
# layers 2-4 are RANDOM_MB each of random data; all gzip. A debootstrap'ed
# Debian would be closer to the issue's recipe but needs a Debian mirror and
# minutes; the synthetic rootfs has the same shape (many small files plus a
# few big ones).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
strata=$(realpath "${1:-$repo/build/strata}")
runs=${RUNS:-3}
rootfs_mb=${ROOTFS_MB:-150}
random_mb=${RANDOM_MB:-25}
# shellcheck source=../tests/registry/registry.bash
source "$repo/tests/registry/registry.bash"

work=$(mktemp -d /tmp/strata-pull-bench.XXXXXX)
cleanup() {
  reg_stop
  umount -R "$work/podman/root/overlay" 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# measure OUT_VAR CMD...: runs CMD, stores "seconds peak_rss_kb" in OUT_VAR.
measure() {
  local __out=$1
  shift
  local res
  res=$(python3 - "$@" <<'PY'
import resource, subprocess, sys, time
t = time.monotonic()
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
dt = time.monotonic() - t
if p.returncode != 0:
    sys.stderr.write(p.stderr.decode(errors="replace"))
    sys.exit(p.returncode)
print("%.3f %d" % (dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
PY
) || {
    echo "failed: $*" >&2
    exit 1
  }
  printf -v "$__out" '%s' "$res"
}

median() {
  sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

echo "== building the image (rootfs ${rootfs_mb} MB + 3 x ${random_mb} MB random)"
python3 - "$work/oci" "$rootfs_mb" "$random_mb" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile, zlib
out, rootfs_mb, random_mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
blobs = os.path.join(out, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)
def put(data):
    d = hashlib.sha256(data).hexdigest()
    open(os.path.join(blobs, d), "wb").write(data)
    return "sha256:" + d, len(data)
def gz(raw):
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    return c.compress(raw) + c.flush()
layers, diff_ids = [], []
def add_layer(raw):
    diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
    d, n = put(gz(raw))
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                   "digest": d, "size": n})
# Layer 1: a rootfs-like tree from /usr, up to rootfs_mb of file data.
buf = io.BytesIO()
budget = rootfs_mb << 20
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
    for top in ("/usr/bin", "/usr/lib", "/usr/share"):
        for root, dirs, files in os.walk(top):
            dirs.sort()
            for f in sorted(files):
                p = os.path.join(root, f)
                if budget <= 0:
                    break
                try:
                    ti = t.gettarinfo(p, arcname=p.lstrip("/"))
                except OSError:
                    continue
                ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = 0, 0, 0, "", ""
                if ti.isreg():
                    if ti.size > (8 << 20):
                        continue
                    try:
                        with open(p, "rb") as fh:
                            t.addfile(ti, fh)
                    except OSError:
                        continue
                    budget -= ti.size
                elif ti.issym():
                    t.addfile(ti)
    # a static binary for the first run (the tree's are dynamic)
    ti = t.gettarinfo("/bin/busybox", arcname="bin/busybox")
    ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = 0, 0, 0, "", ""
    with open("/bin/busybox", "rb") as fh:
        t.addfile(ti, fh)
add_layer(buf.getvalue())
for i in range(3):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        data = os.urandom(random_mb << 20)
        ti = tarfile.TarInfo("random-%d.bin" % i)
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    add_layer(buf.getvalue())
cfg = json.dumps({"architecture": "amd64", "os": "linux",
                  "config": {"Cmd": ["/bin/sh"]},
                  "rootfs": {"type": "layers", "diff_ids": diff_ids},
                  "created": "2024-01-01T00:00:00Z"}, separators=(",", ":")).encode()
cd, cs = put(cfg)
m = json.dumps({"schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": cd, "size": cs},
                "layers": layers}, separators=(",", ":")).encode()
md, ms = put(m)
json.dump({"schemaVersion": 2, "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md,
     "size": ms, "annotations": {"org.opencontainers.image.ref.name": "latest"}}]},
    open(os.path.join(out, "index.json"), "w"))
open(os.path.join(out, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
total = sum(l["size"] for l in layers)
print("image: %d layers, %.1f MB compressed, config %s" % (len(layers), total / 1e6, cd))
PY

reg_start http "$work/registry"
img=$REG/bench:latest
skopeo copy -q --dest-tls-verify=false "oci:$work/oci:latest" "docker://$img"
echo "== registry $REG; $runs runs each"

declare -A t r
run_tool() {
  local name=$1 setup=$2
  shift 2
  local times=() rss=() i m
  for ((i = 0; i < runs; i++)); do
    eval "$setup"
    measure m "$@"
    times+=("${m% *}")
    rss+=("${m#* }")
  done
  t[$name]=$(printf '%s\n' "${times[@]}" | median)
  r[$name]=$(printf '%s\n' "${rss[@]}" | median)
  printf '  %-22s %7.3f s  %7d kB peak RSS   (runs: %s)\n' "$name" "${t[$name]}" "${r[$name]}" "${times[*]}"
}

# the image's unpacked size: the sum of its layers' tar sizes
unpacked=$(python3 - "$work/oci" <<'PY'
import gzip, json, os, sys
d = sys.argv[1]
b = lambda x: os.path.join(d, "blobs", "sha256", x.split(":")[1])
idx = json.load(open(os.path.join(d, "index.json")))
m = json.load(open(b(idx["manifests"][0]["digest"])))
print(sum(len(gzip.open(b(l["digest"])).read()) for l in m["layers"]))
PY
)
printf '  image unpacked (sum of layer tars): %.1f MB\n' "$(awk "BEGIN {print $unpacked / 1e6}")"

declare -A disk
first=""
for be in ${BACKENDS:-dir erofs}; do
  export STRATA_ROOT=$work/strata-$be STRATA_STORAGE_DRIVER=$be
  [ -n "$first" ] || first=$be
  run_tool "strata pull ($be)" 'rm -rf "$STRATA_ROOT"' \
    "$strata" pull -q "$img"
  run_tool "strata pull+run ($be)" 'rm -rf "$STRATA_ROOT"' \
    sh -c '"$1" pull -q "$2" && "$1" run --rm --pull never --network none "$2" /bin/busybox true' \
    sh "$strata" "$img"
  disk[$be]=$(du -sb "$STRATA_ROOT" | cut -f1)
  printf '  %-22s %7.1f MB on disk after pull+run (%.2fx unpacked)\n' "strata ($be)" \
    "$(awk "BEGIN {print ${disk[$be]} / 1e6}")" "$(awk "BEGIN {print ${disk[$be]} / $unpacked}")"
done
unset STRATA_STORAGE_DRIVER
export STRATA_ROOT=$work/strata-$first
"$strata" pull -q "$img" >/dev/null
if command -v podman >/dev/null; then
  # podman as bench/run_bench.sh runs it: private config, overlay driver,
  # cgroup v1 hierarchies for the controllers crun wants on a hybrid host
  # shellcheck source=lib.sh
  source "$here/lib.sh"
  hybrid_cgroups_for_crun
  podman_private "$work/podman-conf"
  sed -i 's/driver = "vfs"/driver = "overlay"/' "$work/podman-conf/storage.conf"
  hn=$(ulimit -Hn)
  [ "$hn" = unlimited ] && hn=1048576
  printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=32768:32768"]\n' \
    "$hn" "$hn" >>"$work/podman-conf/containers.conf"
  P="podman --root $work/podman/root --runroot $work/podman/run --storage-driver overlay"
  run_tool "podman pull" 'umount -R "$work/podman/root/overlay" 2>/dev/null || true; rm -rf "$work/podman"; mkdir -p "$work/podman"' \
    $P pull -q --tls-verify=false "$img"
  run_tool "podman pull+run" 'umount -R "$work/podman/root/overlay" 2>/dev/null || true; rm -rf "$work/podman"; mkdir -p "$work/podman"' \
    sh -c "$P pull -q --tls-verify=false $img && $P run --rm --network none $img /bin/busybox true"
  disk[podman]=$(du -sb "$work/podman/root" | cut -f1)
  printf '  %-22s %7.1f MB on disk after pull+run (%.2fx unpacked)\n' "podman (overlay)" \
    "$(awk "BEGIN {print ${disk[podman]} / 1e6}")" "$(awk "BEGIN {print ${disk[podman]} / $unpacked}")"
fi
run_tool "skopeo copy (oci dir)" 'rm -rf "$work/skopeo"' \
  skopeo copy -q --src-tls-verify=false "docker://$img" "oci:$work/skopeo:latest"

times=()
for ((i = 0; i < runs; i++)); do
  "$strata" tag "$img" "$REG/back$i:latest"
  measure m "$strata" push -q "$REG/back$i:latest"
  times+=("${m% *}")
done
t[push]=$(printf '%s\n' "${times[@]}" | median)
printf '  %-22s %7.3f s  (cross-repo mounts; runs: %s)\n' "strata push, new repo" "${t[push]}" "${times[*]}"
times=()
for ((i = 0; i < runs; i++)); do
  measure m "$strata" push -q "$REG/back0:latest"
  times+=("${m% *}")
done
t[repush]=$(printf '%s\n' "${times[@]}" | median)
printf '  %-22s %7.3f s  (unchanged; runs: %s)\n' "strata re-push" "${t[repush]}" "${times[*]}"

echo "== ratios (targets from issue 10)"
ratio() { awk "BEGIN {print $1 / $2}"; }
verdict() { if awk "BEGIN {exit !($1)}"; then echo PASS; else echo FAIL; fi; }
sk=${t["skopeo copy (oci dir)"]}
for be in ${BACKENDS:-dir erofs}; do
  s=${t["strata pull ($be)"]}
  pr=${t["strata pull+run ($be)"]}
  printf '  %s: pull %.3f s, pull+run %.3f s  %s: pull+run <= 1.0 s\n' "$be" "$s" "$pr" "$(verdict "$pr <= 1.0")"
  if [ -n "${t["podman pull+run"]:-}" ]; then
    x=$(ratio "${t["podman pull+run"]}" "$pr")
    printf '    podman pull+run / strata pull+run = %.2fx  %s: >= 5x\n' "$x" "$(verdict "$x >= 5")"
    printf '    podman pull / strata pull         = %.2fx\n' "$(ratio "${t["podman pull"]}" "$s")"
  fi
  x=$(ratio "$pr" "$sk")
  printf '    strata pull+run / skopeo copy     = %.2fx  %s: <= 2x\n' "$x" "$(verdict "$x <= 2")"
  x=$(ratio "${r["strata pull+run ($be)"]}" 1024)
  printf '    peak RSS of pull+run              = %.1f MB  %s: < 32 MB\n' "$x" "$(verdict "$x < 32")"
  x=$(ratio "${disk[$be]}" "$unpacked")
  printf '    disk / unpacked                   = %.2fx  %s: <= 1.05x\n' "$x" "$(verdict "$x <= 1.05")"
done
printf '  strata re-push              = %.0f ms (target < 100 ms)\n' "$(awk "BEGIN {print ${t[repush]} * 1000}")"
