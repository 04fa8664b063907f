#!/usr/bin/env bash
# `strata images` and `strata image inspect` against podman's, with 1, 100
# and 1,000 images in the store.
#
# Usage: bench/images.sh [STRATA] [N ...]       (default: build/strata 1 100 1000)
# Env:   BENCH_RESULTS=FILE  append one TSV line per measurement (run.sh uses it)
#        BENCH_KEEP=1        keep the work directory (stores, hyperfine JSON)
#        BENCH_VERBOSE=1     show hyperfine's own output
#        BENCH_PODMAN_POPULATE=load  fill podman's store with `podman load`
#                            only (slow: ~0.1 s per image here) instead of
#                            seeding it with `podman load` and writing the
#                            rest in containers/storage's format (see below)
#
# The image set: one docker-archive holding N images that share a busybox
# base layer and each have their own tiny top layer (/etc/bench-id) and
# config (LABEL n=i), tagged localhost/bench/imgI:latest. strata gets it with
# `strata load` (one command, ~12 ms per image). Both stores hold exactly the
# same images: the script checks that both list the same N full image IDs.
#
# podman needs ~0.1 s per image to `podman load` (1,000 images: minutes), so
# its store is seeded with a real `podman load` of image 1, and images 2..N
# are written next to it in the very format podman just wrote (layers.json,
# images.json, big-data files, vfs layer trees, tar-split), after checking
# that the seed's records are exactly what this script computes for image 1.
# The result is checked with podman itself: `podman images` lists all N IDs,
# and the last image round-trips through `podman save` -> `strata load` with
# the same ID. If any check fails it falls back to `podman load`.
#
# Measurement: hyperfine -N (no shell in between), strata and podman each
# with --warmup 3 and at least 10 runs (a command over 1 s, i.e. podman
# images with 1,000 images, gets 1 warmup + 3 runs). The table shows the
# median and the mean ± stddev in ms; ratio and target use the medians, which
# a few runs disturbed by other processes do not move.
#
# Why distinct top layers: with N images on one shared top layer, podman's
# parent/child computation is quadratic (`podman images` takes seconds at
# 100 images); real stores have distinct top layers, so that case would
# flatter strata unfairly.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

bench_init "${1:-}"
[ $# -gt 0 ] && shift
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1 100 1000)
bench_deps
case $BENCH_WORK in
*[[:space:]]*) bench_die "work directory has whitespace: $BENCH_WORK" ;;
esac

# --- the image set ------------------------------------------------------------

# gen.py: "archive BASE N OUT" writes the N-image docker-archive (and OUT.seed,
# image 1 alone); "synth GRAPHROOT BASE N" adds images 2..N to a podman vfs
# store seeded with image 1; "ids BASE N" prints the N image IDs.
cat >"$BENCH_WORK/gen.py" <<'PY'
import base64, datetime, gzip, hashlib, io, json, os, sys, tarfile

def tarbytes(entries):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, data in entries:
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), 0o644, 0
            t.addfile(ti, io.BytesIO(data))
    return bio.getvalue()

def sha(b):
    return hashlib.sha256(b).hexdigest()

def image(i, bdiff):
    """(top layer tar, config bytes) of image i."""
    top = tarbytes([("etc/bench-id", b"%d\n" % i)])
    cfg = {"architecture": "amd64", "os": "linux",
           "created": "2024-01-01T%02d:%02d:%02dZ" % (i // 3600 % 24, i // 60 % 60, i % 60),
           "config": {"Cmd": ["sh"], "Labels": {"n": str(i)}},
           "rootfs": {"type": "layers", "diff_ids": ["sha256:" + bdiff, "sha256:" + sha(top)]},
           "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "bench base"},
                       {"created": "2024-01-01T00:00:00Z", "created_by": "bench layer %d" % i}]}
    return top, json.dumps(cfg, separators=(",", ":")).encode()

def tag(i):
    return "localhost/bench/img%d:latest" % i

def add(t, name, data):
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode, ti.mtime = len(data), 0o644, 0
    t.addfile(ti, io.BytesIO(data))

def archive(base_path, n, out, first=1):
    base = open(base_path, "rb").read()
    bdiff = sha(base)
    manifest = []
    with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as t:
        add(t, bdiff + "/layer.tar", base)
        for i in range(first, n + 1):
            top, cfg = image(i, bdiff)
            add(t, sha(top) + "/layer.tar", top)
            add(t, sha(cfg) + ".json", cfg)
            manifest.append({"Config": sha(cfg) + ".json", "RepoTags": [tag(i)],
                             "Layers": [bdiff + "/layer.tar", sha(top) + "/layer.tar"]})
        add(t, "manifest.json", json.dumps(manifest).encode())

# --- podman (containers/storage, vfs driver) ---------------------------------

def crc64_iso(data, _t=[]):
    if not _t:
        poly = 0xD800000000000000
        for b in range(256):
            c = b
            for _ in range(8):
                c = (c >> 1) ^ poly if c & 1 else c >> 1
            _t.append(c)
    crc = 0xFFFFFFFFFFFFFFFF
    for b in data:
        crc = _t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return (crc ^ 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")

def tar_split(tar):
    """tar-split metadata (gzip of JSON lines) for a tar of regular files."""
    lines, pos, off = [], 0, 0
    def seg(b):
        nonlocal pos
        lines.append({"type": 2, "payload": base64.b64encode(b).decode(), "position": pos})
        pos += 1
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        for m in t:
            seg(tar[off:m.offset_data])
            data = tar[m.offset_data:m.offset_data + m.size]
            lines.append({"type": 1, "name": m.name, "size": m.size,
                          "payload": base64.b64encode(crc64_iso(data)).decode(), "position": pos})
            pos += 1
            off = m.offset_data + m.size
    seg(tar[off:])
    return gzip.compress("".join(json.dumps(l, separators=(",", ":")) + "\n" for l in lines).encode())

def split_meaning(gz):
    """What a tar-split stream reassembles to: the raw bytes between files
    and each file entry, whatever the segment boundaries."""
    out, raw = [], b""
    for line in gzip.decompress(gz).splitlines():
        e = json.loads(line)
        if e["type"] == 2:
            raw += base64.b64decode(e.get("payload") or "")
        else:
            out += [raw, (e["name"], e["size"], e["payload"])]
            raw = b""
    return out + [raw]

def manifest_bytes(cfg, base_len, bdiff, top):
    # What containers/image writes for a docker-archive image (Go field order).
    return json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "size": len(cfg), "digest": "sha256:" + sha(cfg)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": base_len, "digest": "sha256:" + bdiff},
                   {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": len(top), "digest": "sha256:" + sha(top)}]},
        separators=(",", ":")).encode()

def big_data_file(key, safe):
    return key if safe else "=" + base64.b64encode(key.encode()).decode()

def fail(msg):
    print("synth: " + msg, file=sys.stderr)
    sys.exit(3)

def writejson(path, obj):
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.flush()
        os.fsync(f.fileno())
    os.rename(path + ".tmp", path)

def synth(root, base_path, n):
    base = open(base_path, "rb").read()
    bdiff = sha(base)
    lpath, ipath = root + "/vfs-layers/layers.json", root + "/vfs-images/images.json"
    layers, images = json.load(open(lpath)), json.load(open(ipath))
    if len(layers) != 2 or len(images) != 1:
        fail("seed store has %d layers, %d images; expected 2, 1" % (len(layers), len(images)))
    top1, cfg1 = image(1, bdiff)
    man1 = manifest_bytes(cfg1, len(base), bdiff, top1)
    lid1 = sha((bdiff + "+" + sha(top1)).encode())
    seed_img, by_id = images[0], {l["id"]: l for l in layers}
    seed_top = by_id.get(lid1)
    # The seed must be exactly what we would write for image 1.
    checks = [
        (seed_img.get("id"), sha(cfg1)), (seed_img.get("digest"), "sha256:" + sha(man1)),
        (seed_img.get("names"), [tag(1)]), (seed_img.get("layer"), lid1),
        (bdiff in by_id, True), (seed_top is not None, True),
    ]
    if seed_top:
        checks += [(seed_top.get("parent"), bdiff), (seed_top.get("diff-digest"), "sha256:" + sha(top1)),
                   (seed_top.get("diff-size"), len(top1))]
    idir = root + "/vfs-images/" + sha(cfg1)
    try:
        checks.append((open(idir + "/manifest", "rb").read(), man1))
    except OSError as e:
        fail(str(e))
    for got, want in checks:
        if got != want:
            fail("seed differs from the expected format: %r != %r" % (got, want))
    # Big-data keys of the seed, with the seed's own hex in them, and whether
    # each is stored under its plain name or "=" + base64.
    h1, m1 = sha(cfg1), sha(man1)
    keys = []
    for k in seed_img["big-data-names"]:
        plain = os.path.exists(idir + "/" + k)
        if not plain and not os.path.exists(idir + "/" + big_data_file(k, False)):
            fail("big-data file for %s not found" % k)
        keys.append((k, plain))
    seed_split = open(root + "/vfs-layers/%s.tar-split.gz" % lid1, "rb").read()
    if split_meaning(seed_split) != split_meaning(tar_split(top1)):
        fail("tar-split of the seed differs from the one computed")
    # Base layer tree, hard-linked into every top layer's vfs tree.
    bdir = root + "/vfs/dir/" + bdiff
    tree = []
    for d, dirs, files in os.walk(bdir):
        rel = os.path.relpath(d, bdir)
        for x in sorted(dirs):
            p = os.path.join(d, x)
            tree.append(("l" if os.path.islink(p) else "d", os.path.join(rel, x), p))
        for x in sorted(files):
            p = os.path.join(d, x)
            tree.append(("l" if os.path.islink(p) else "f", os.path.join(rel, x), p))
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    tmpl_img, tmpl_top = json.dumps(seed_img), json.dumps(seed_top)
    for i in range(2, n + 1):
        top, cfg = image(i, bdiff)
        man = manifest_bytes(cfg, len(base), bdiff, top)
        h, m, tdiff = sha(cfg), sha(man), sha(top)
        lid = sha((bdiff + "+" + tdiff).encode())
        l = json.loads(tmpl_top.replace(lid1, lid).replace(sha(top1), tdiff))
        l["created"], l["compressed-size"], l["diff-size"] = now, len(top), len(top)
        layers.append(l)
        img = json.loads(tmpl_img.replace(h1, h).replace(m1, m).replace(lid1, lid)
                         .replace(json.dumps(tag(1))[1:-1], tag(i)))
        img["created"] = json.loads(cfg)["created"]
        sizes = {}
        for k in img["big-data-sizes"]:
            sizes[k] = len(cfg) if k == "sha256:" + h else len(man) if k.startswith("manifest") else 0
        img["big-data-sizes"] = sizes
        images.append(img)
        d = root + "/vfs-images/" + h
        os.mkdir(d, 0o700)
        for k, plain in keys:
            k = k.replace(h1, h).replace(m1, m)
            data = cfg if k == "sha256:" + h else man if k.startswith("manifest") else b""
            fd = os.open(d + "/" + big_data_file(k, plain), os.O_WRONLY | os.O_CREAT, 0o600)
            os.write(fd, data)
            os.close(fd)
        with open(root + "/vfs-layers/%s.tar-split.gz" % lid, "wb") as f:
            f.write(tar_split(top))
        ld = root + "/vfs/dir/" + lid
        os.mkdir(ld, 0o555)
        for kind, rel, src in tree:
            dst = os.path.join(ld, rel)
            if kind == "d":
                os.mkdir(dst)
                os.chmod(dst, os.stat(src).st_mode & 0o7777)
            elif kind == "l":
                os.symlink(os.readlink(src), dst)
            else:
                os.link(src, dst)
        fd = os.open(ld + "/etc/bench-id", os.O_WRONLY | os.O_CREAT, 0o644)
        os.write(fd, b"%d\n" % i)
        os.close(fd)
    writejson(lpath, layers)
    writejson(ipath, images)

cmd = sys.argv[1]
if cmd == "archive":
    archive(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    archive(sys.argv[2], 1, sys.argv[4] + ".seed")
elif cmd == "synth":
    synth(sys.argv[2], sys.argv[3], int(sys.argv[4]))
elif cmd == "ids":
    base = open(sys.argv[2], "rb").read()
    for i in range(1, int(sys.argv[3]) + 1):
        print(sha(image(i, sha(base))[1]))
PY

now_ms() {
  echo $(($(date +%s%N) / 1000000))
}

sorted_ids() {
  sed 's/^sha256://' | sort
}

# populate_podman N ARCHIVE IDS: fills a fresh private podman store.
populate_podman() {
  local n=$1 archive=$2 ids=$3 mode=${BENCH_PODMAN_POPULATE:-synth}
  local pdir=$BENCH_WORK/podman-$n
  podman_private "$pdir"
  if [ "$mode" != load ] && [ "$n" -gt 1 ]; then
    "${PODMAN[@]}" load -q -i "$archive.seed" >/dev/null
    if python3 "$BENCH_WORK/gen.py" synth "$pdir/root" "$BENCH_WORK/base.tar" "$n" &&
      "${PODMAN[@]}" images -q --no-trunc | sorted_ids | cmp -s - "$ids" &&
      check_podman_image "$n"; then
      return 0
    fi
    bench_log "bench: podman store synthesis failed its checks; using podman load (slow)"
    rm -rf "$pdir"
    podman_private "$pdir"
  fi
  "${PODMAN[@]}" load -q -i "$archive" >/dev/null
  "${PODMAN[@]}" images -q --no-trunc | sorted_ids | cmp -s - "$ids" ||
    bench_die "podman does not list the expected $n images"
}

# check_podman_image I: image I is complete in podman: `podman save` gives an
# archive strata loads with the same image ID.
check_podman_image() {
  local i=$1 out=$BENCH_WORK/check-$1 want got
  "${PODMAN[@]}" save --format docker-archive -o "$out.tar" "localhost/bench/img$i:latest" 2>/dev/null || return 1
  "$STRATA" --root "$out.root" load -q -i "$out.tar" >/dev/null || return 1
  got=$("$STRATA" --root "$out.root" image inspect --format '{{.Id}}' "localhost/bench/img$i:latest") || return 1
  want=$("${PODMAN[@]}" image inspect --format '{{.Id}}' "localhost/bench/img$i:latest") || return 1
  rm -rf "$out.tar" "$out.root"
  [ "${got#sha256:}" = "${want#sha256:}" ]
}

# hf JSON CMD: hyperfine one command (no shell). Commands that take over a
# second (podman images with 1,000 images) get 1 warmup + 3 runs instead of
# 3 + at least 10, which would take minutes.
hf() {
  local json=$1 cmd=$2 t0 t1 runs=(--warmup 3 --min-runs 10)
  local style=(--style none)
  [ "${BENCH_VERBOSE:-0}" = 1 ] && style=()
  t0=$(now_ms)
  $cmd >/dev/null 2>&1 || bench_die "failed: $cmd"
  t1=$(now_ms)
  [ $((t1 - t0)) -gt 1000 ] && runs=(--warmup 1 --runs 3)
  hyperfine -N "${runs[@]}" "${style[@]}" --export-json "$json" "$cmd" >&2
}

# measure NAME N STRATA_ARGS -- PODMAN_ARGS: one row of the table.
measure() {
  local name=$1 n=$2
  shift 2
  local sargs=()
  while [ "$1" != -- ]; do
    sargs+=("$1")
    shift
  done
  shift
  local tag=${name// /-}-$n
  hf "$BENCH_WORK/hf-strata-$tag.json" "$STRATA --root $BENCH_WORK/strata-$n ${sargs[*]}"
  hf "$BENCH_WORK/hf-podman-$tag.json" "${PODMAN[*]} $*"
  local s_mean s_sd s_med p_mean p_sd p_med ratio verdict
  read -r s_mean s_sd s_med <<<"$(hyperfine_ms "$BENCH_WORK/hf-strata-$tag.json" 0)"
  read -r p_mean p_sd p_med <<<"$(hyperfine_ms "$BENCH_WORK/hf-podman-$tag.json" 0)"
  # Medians: on a shared machine a few runs hit by other processes move the
  # mean a lot (see the ± column); the median is the typical run.
  ratio=$(python3 -c "print('%.1f' % ($p_med / $s_med))")
  # The target (issue 2): listing 1,000 images in under 10 ms and at least
  # 10x faster than podman. Other rows show whether they reach 10x, for
  # information.
  if [ "$name" = images ] && [ "$n" -ge 1000 ]; then
    verdict=PASS
    python3 -c "import sys; sys.exit(0 if $s_med < 10 and $p_med / $s_med >= 10 else 1)" ||
      verdict=FAIL
  else
    verdict="(>=10x)"
    python3 -c "import sys; sys.exit(0 if $p_med / $s_med >= 10 else 1)" || verdict="(<10x)"
  fi
  printf '%-14s %5s %8s %15s %10s %19s %8s  %s\n' "$name" "$n" "$s_med" "($s_mean ±$s_sd)" \
    "$p_med" "($p_mean ±$p_sd)" "${ratio}x" "$verdict"
  if [ -n "${BENCH_RESULTS:-}" ]; then
    printf 'images.sh\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$n" "$s_med" "$p_med" "$ratio" "$verdict" >>"$BENCH_RESULTS"
  fi
}

busybox_rootfs_tar "$BENCH_WORK/base.tar"
echo "strata: $STRATA ($("$STRATA" --version 2>/dev/null || echo '?'))"
echo "podman: $(podman --version)   hyperfine: $(hyperfine --version)"
hyperfine -N --warmup 3 --style none --export-json "$BENCH_WORK/hf-true.json" /bin/true >&2
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs;" \
  "process start baseline (/bin/true): $(cut -d' ' -f1 <<<"$(hyperfine_ms "$BENCH_WORK/hf-true.json" 0)") ms"
echo

rows_images=()
rows_inspect=()
for n in "${counts[@]}"; do
  archive=$BENCH_WORK/images-$n.tar
  ids=$BENCH_WORK/ids-$n
  python3 "$BENCH_WORK/gen.py" archive "$BENCH_WORK/base.tar" "$n" "$archive"
  python3 "$BENCH_WORK/gen.py" ids "$BENCH_WORK/base.tar" "$n" | sort >"$ids"

  t0=$(now_ms)
  "$STRATA" --root "$BENCH_WORK/strata-$n" load -q -i "$archive" >/dev/null
  t1=$(now_ms)
  "$STRATA" --root "$BENCH_WORK/strata-$n" images -q --no-trunc | sorted_ids | cmp -s - "$ids" ||
    bench_die "strata does not list the expected $n images"
  populate_podman "$n" "$archive" "$ids"
  t2=$(now_ms)
  rm -f "$archive" "$archive.seed"
  echo "N=$n: populated strata in $((t1 - t0)) ms (strata load), podman in $((t2 - t1)) ms;" \
    "both list the same $n image IDs"

  target=localhost/bench/img$(((n + 1) / 2)):latest
  rows_images+=("$(measure images "$n" images -- images)")
  rows_inspect+=("$(measure "image inspect" "$n" image inspect "$target" -- image inspect "$target")")
done

echo
echo "hyperfine -N (no shell); ms: median (mean ± stddev); ratio = podman / strata medians"
echo "target: 'images' with 1,000 images under 10 ms and at least 10x faster than podman"
printf '%-14s %5s %8s %15s %10s %19s %8s  %s\n' command N strata "" podman "" ratio target
printf '%s\n' "${rows_images[@]}" "${rows_inspect[@]}"
