#!/usr/bin/env bash
# Builds the fuzz targets against a meson build directory's libstrata.a.
#   fuzz/build.sh BUILD_DIR [OUT_DIR]
# With clang: libFuzzer + ASan/UBSan binaries (the library must be built
# with clang and -fsanitize=fuzzer-no-link,address for coverage, e.g.
#   CC=clang meson setup build-fuzz -Db_sanitize=address,undefined \
#     -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link
# ), run as: OUT/fuzz_manifest fuzz/corpus/manifest
# Without clang (or FUZZ_REPLAY=1): the same targets with replay_main.c,
# which run each corpus file once: OUT/fuzz_manifest fuzz/corpus/manifest/*
set -eu
build=${1:?usage: fuzz/build.sh BUILD_DIR [OUT_DIR]}
out=${2:-$build/fuzz}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
mkdir -p "$out"
libs="$(pkg-config --libs libarchive jansson sqlite3 libcrypto zlib libisal libcurl) -lm -lpthread"
inc="-I$repo/src/lib -I$repo/src -I$build -D_GNU_SOURCE"
for t in fuzz_manifest fuzz_www_auth fuzz_dockerfile fuzz_ignore fuzz_expand fuzz_load fuzz_erofs; do
  if [ -z "${FUZZ_REPLAY:-}" ] && command -v clang >/dev/null; then
    clang -g -O1 -fsanitize=fuzzer,address,undefined $inc "$here/$t.c" \
      "$build/libstrata.a" $libs -o "$out/$t"
  else
    ${CC:-cc} -g -O1 -Wall -Wextra -Werror $inc "$here/$t.c" "$here/replay_main.c" \
      "$build/libstrata.a" $libs -o "$out/$t"
  fi
  echo "built $out/$t"
done
