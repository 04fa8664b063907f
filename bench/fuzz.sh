#!/usr/bin/env bash
# The fuzz targets for longer than CI runs them: FUZZ_SECONDS per target
# (default 600), crashes kept in FUZZ_OUT (default bench-fuzz-out/).
# Usage: bench/fuzz.sh [BUILD_DIR]   (default build)
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
[ -d "$build" ] || build=$here/../build
export FUZZ_SECONDS=${FUZZ_SECONDS:-600}
export FUZZ_SEED=${FUZZ_SEED:-$RANDOM$RANDOM}
export FUZZ_OUT=${FUZZ_OUT:-$PWD/bench-fuzz-out}
mkdir -p "$FUZZ_OUT"
"$here/../tests/fuzz.sh" "$build"
