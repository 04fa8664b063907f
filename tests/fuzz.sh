#!/usr/bin/env bash
# The fuzz targets, bounded, as TAP:
#   - the pure parsers (Dockerfile, .dockerignore, word expansion) are built
#     with clang's libFuzzer + ASan/UBSan from their own sources and run for
#     FUZZ_SECONDS each (default 30 or 15), starting from fuzz/corpus/<name>;
#   - every target (the registry ones too) replays its corpus, linked
#     against BUILD_DIR/libstrata.a (gcc, no libFuzzer).
# A crash fails the test and leaves the input in $FUZZ_OUT (default a temp
# dir, printed); turn it into a unit test. bench/fuzz.sh runs them longer.
#
# Usage: tests/fuzz.sh BUILD_DIR
set -u
build=$(cd "${1:?usage: tests/fuzz.sh BUILD_DIR}" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 2
# Seconds per target: FUZZ_SECONDS for all when set; else 30 for the
# Dockerfile and .dockerignore parsers and 15 for the others, to keep CI's
# wall time down (bench/fuzz.sh runs them longer; every corpus is replayed
# whole in any case).
declare -A default_secs=([expand]=15 [load]=15 [erofs]=15)
# A fixed seed by default, so a run is repeatable (the same inputs on the
# same corpus); bench/fuzz.sh draws one.
seed=${FUZZ_SEED:-1}
out=${FUZZ_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/strata-fuzz.XXXXXX")}
n=0
result() { # result OK|FAIL NAME
  n=$((n + 1))
  if [ "$1" = OK ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}

# target -> its sources (besides util/error.c and util/buf.c)
declare -A srcs=(
  [dockerfile]="src/lib/build/dockerfile*.c"
  [ignore]="src/lib/build/ignore.c"
  [expand]="src/lib/build/expand.c"
  # load: the archive reader with a real store (image, store, layer, ...)
  [load]="src/lib/image/*.c src/lib/store/*.c src/lib/layer/*.c src/lib/digest/*.c src/lib/ref/*.c src/lib/fmt/*.c src/lib/net/addr.c src/lib/registry/config.c $(ls src/lib/util/*.c | grep -v -e util/error.c -e util/buf.c)"
  [erofs]="src/lib/layer/erofs.c src/lib/layer/compress.c src/lib/layer/tar_name.c"
)
# libraries a target needs besides jansson
declare -A libs=(
  [load]="libarchive sqlite3 libcrypto zlib libisal libcurl"
  [erofs]="libarchive zlib libisal"
)
replayed="manifest www_auth dockerfile ignore expand load erofs"
echo "1..$((${#srcs[@]} + $(echo $replayed | wc -w)))"
# one_target NAME: builds and runs one target, leaving "OK|FAIL text" in
# $out/NAME.result and what to show on failure in $out/NAME.show
one_target() {
  local t=$1 bin=$out/fuzz_$1
  if ! command -v clang >/dev/null; then
    echo "FAIL fuzz_$t: clang is not installed (apt-get install clang)" >"$out/$t.result"
    return
  fi
  # shellcheck disable=SC2086
  if ! clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
    -Isrc/lib -Isrc -I"$build" "fuzz/fuzz_$t.c" ${srcs[$t]} \
    src/lib/util/error.c src/lib/util/buf.c \
    $(pkg-config --libs jansson ${libs[$t]:-}) -lm -lpthread -o "$bin" 2>"$out/$t.cc"; then
    cp "$out/$t.cc" "$out/$t.show"
    echo "FAIL fuzz_$t: does not build" >"$out/$t.result"
    return
  fi
  mkdir -p "$out/corpus-$t"
  local secs=${FUZZ_SECONDS:-${default_secs[$t]:-30}}
  if "$bin" -max_total_time="$secs" -rss_limit_mb=1024 -timeout=10 \
    -seed="$seed" \
    -artifact_prefix="$out/$t-" "$out/corpus-$t" "fuzz/corpus/$t" \
    >"$out/$t.log" 2>&1; then
    local runs
    runs=$(grep -o 'Done [0-9]* runs' "$out/$t.log" | grep -o '[0-9]*')
    echo "OK fuzz_$t: ${secs}s of libFuzzer, ${runs:-?} inputs, no crash" >"$out/$t.result"
  else
    tail -30 "$out/$t.log" >"$out/$t.show"
    echo "FAIL fuzz_$t: crash (inputs in $out)" >"$out/$t.result"
  fi
}
# FUZZ_JOBS targets at a time (default: the number of CPUs, at most 2:
# each target is one process), the results printed in order afterwards.
jobs=${FUZZ_JOBS:-$(nproc)}
[ "$jobs" -gt 2 ] && [ -z "${FUZZ_JOBS:-}" ] && jobs=2
running=0
for t in dockerfile ignore expand load erofs; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
  one_target "$t" &
  running=$((running + 1))
done
wait
for t in dockerfile ignore expand load erofs; do
  [ -s "$out/$t.show" ] && cat "$out/$t.show"
  read -r verdict text <"$out/$t.result"
  result "$verdict" "$text"
done
# replay every corpus through the gcc build of each target
if FUZZ_REPLAY=1 fuzz/build.sh "$build" "$out/replay" >"$out/replay.log" 2>&1; then
  for t in $replayed; do
    if "$out/replay/fuzz_$t" fuzz/corpus/"$t"/* >"$out/r-$t.log" 2>&1; then
      result OK "fuzz_$t: corpus replays"
    else
      tail -20 "$out/r-$t.log"
      result FAIL "fuzz_$t: corpus replay crashed"
    fi
  done
else
  cat "$out/replay.log"
  for t in $replayed; do
    result FAIL "fuzz_$t: replay build failed"
  done
fi
[ -z "${FUZZ_OUT:-}" ] && rm -rf "$out"
exit 0
