#!/usr/bin/env bash
# Pull/push benchmark against a local registry (Debian's docker-registry on
# a free port of 127.0.0.1): strata pull vs podman pull vs skopeo copy to an
# OCI dir, then strata push back and an unchanged re-push. Prints the
# median wall time and peak RSS of each, and ratios.
#
#   bench/pull_bench.sh [STRATA_BIN]        (default build/strata)
# Env: RUNS (default 3), ROOTFS_MB (default 120), RANDOM_MB (default 25, per
#      random layer), KEEP=1 keeps the work directory.
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
rootfs_mb=${ROOTFS_MB:-120}
random_mb=${RANDOM_MB:-25}
# shellcheck source=../tests/registry/registry.bash
source "$repo/tests/registry/registry.bash"

work=$(mktemp -d /tmp/strata-pull-bench.XXXXXX)
cleanup() {
  reg_stop
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

export STRATA_ROOT=$work/strata
run_tool "strata pull" 'rm -rf "$STRATA_ROOT"' \
  "$strata" pull -q "$img"
if command -v podman >/dev/null; then
  run_tool "podman pull" 'rm -rf "$work/podman"; mkdir -p "$work/podman"' \
    podman --root "$work/podman/root" --runroot "$work/podman/run" \
    --storage-driver vfs pull -q --tls-verify=false "$img"
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

echo "== ratios"
s=${t["strata pull"]}
[ -n "${t["podman pull"]:-}" ] &&
  printf '  podman pull / strata pull   = %.2fx\n' "$(awk "BEGIN {print ${t["podman pull"]} / $s}")"
printf '  skopeo copy / strata pull   = %.2fx\n' "$(awk "BEGIN {print ${t["skopeo copy (oci dir)"]} / $s}")"
printf '  strata pull peak RSS        = %.1f MB (target < 32 MB)\n' "$(awk "BEGIN {print ${r["strata pull"]} / 1024}")"
printf '  strata re-push              = %.0f ms (target < 100 ms)\n' "$(awk "BEGIN {print ${t[repush]} * 1000}")"
