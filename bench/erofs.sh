#!/usr/bin/env bash
# EROFS layer writer vs directory unpack, on the store's file system.
#   bench/erofs.sh [BUILD_DIR]   (default build/; needs root to mount)
# Makes two tars (a million empty-ish files in 1,000 directories, and the
# Debian rootfs of a local image when `docker`/`strata` is not needed: any
# tar in $EROFS_TAR), converts each with st_erofs_from_tar (fsync
# included) and unpacks it with st_layer_unpack_fd (syncfs included) into
# a directory on the same file system ($EROFS_DIR, default /var/tmp),
# then mounts the image and checks the file count. Prints seconds and
# sizes.
set -eu
build=${1:-build}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${EROFS_DIR:-/var/tmp}/erofs-bench.XXXXXX")
trap 'umount "$work/mnt" 2>/dev/null || true; rm -rf "$work"' EXIT
libs="$(pkg-config --libs libarchive jansson sqlite3 libcrypto zlib libisal libcurl libseccomp) -lm -lpthread -ldl"
cc -O2 -D_GNU_SOURCE -I"$repo/src/lib" -I"$repo/src" -I"$repo/$build" \
  "$repo/bench/erofs_conv.c" "$repo/$build/libstrata.a" $libs -o "$work/conv"
nfiles=${EROFS_FILES:-1000000}
python3 - "$work/million.tar" "$nfiles" <<'PY'
import sys, tarfile, io
out, n = sys.argv[1], int(sys.argv[2])
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
    per = 1000
    for d in range((n + per - 1) // per):
        ti = tarfile.TarInfo("d%04d" % d); ti.type = tarfile.DIRTYPE
        ti.mode = 0o755; ti.mtime = 1700000000; t.addfile(ti)
        for f in range(min(per, n - d * per)):
            data = b"x" * (f % 64)
            ti = tarfile.TarInfo("d%04d/f%05d" % (d, f))
            ti.size = len(data); ti.mtime = 1700000000; ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))
PY
run() { # run NAME TAR
  local name=$1 tar=$2
  mkdir -p "$work/dir-$name" "$work/mnt"
  sync
  local te td
  te=$("$work/conv" erofs "$tar" "$work/$name.erofs")
  td=$("$work/conv" dir "$tar" "$work/dir-$name")
  mount -t erofs -o ro "$work/$name.erofs" "$work/mnt"
  local n
  n=$(find "$work/mnt" | wc -l)
  umount "$work/mnt"
  printf '%-10s tar %6s MB  erofs %6.3f s (%s MB)  dir unpack %6.3f s (%s MB)  %s entries mounted\n' \
    "$name" "$(($(stat -c %s "$tar") / 1000000))" "$te" \
    "$(($(stat -c %b "$work/$name.erofs") * 512 / 1000000))" "$td" \
    "$(du -sm "$work/dir-$name" | cut -f1)" "$n"
  rm -rf "$work/dir-$name"
}
run million "$work/million.tar"
if [ -n "${EROFS_TAR:-}" ]; then
  run given "$EROFS_TAR"
fi
