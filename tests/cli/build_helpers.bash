# Shared by tests/cli/build*.bats (`load build_helpers` after `load helpers`).
#
# build_setup    the store, root check, busybox:latest and an empty build
#                context in $CTX.
# dockerfile     writes stdin to $CTX/Dockerfile (or to $CTX/$1).
# sbuild ARGS    `run --separate-stderr strata build ARGS` under a timeout,
#                so a hung build fails its test instead of the whole suite.
# in_image IMG SCRIPT   the output of `sh -c SCRIPT` in a container of IMG.
# cfg IMG GOTEMPLATE    `image inspect --format` of IMG.
# step_line STEP_TEXT   the "#N" of the progress block titled STEP_TEXT.

BUILD_TIMEOUT=${BUILD_TIMEOUT:-60}

build_setup() {
  strata_setup
  if [ "$(id -u)" != 0 ]; then
    skip "builds run containers: they need root here"
  fi
  import_busybox busybox >/dev/null
  CTX=$BATS_TEST_TMPDIR/ctx
  mkdir -p "$CTX"
}

dockerfile() {
  cat >"$CTX/${1:-Dockerfile}"
}

sbuild() {
  run --separate-stderr timeout -k 5 "$BUILD_TIMEOUT" "$STRATA" build "$@"
}

# sbuild_ok ARGS: builds quietly and prints the image ID; fails the test
# (with the build's stderr) otherwise.
sbuild_ok() {
  local out rc errf=$BATS_TEST_TMPDIR/build-stderr
  out=$(timeout -k 5 "$BUILD_TIMEOUT" "$STRATA" build -q "$@" 2>"$errf")
  rc=$?
  if [ "$rc" -ne 0 ] || ! [[ $out =~ ^sha256:[0-9a-f]{64}$ ]]; then
    echo "strata build -q $* exited $rc, printed |$out|" >&2
    cat "$errf" >&2
    return 1
  fi
  echo "$out"
}

in_image() {
  timeout -k 5 60 "$STRATA" run --rm --entrypoint sh "$1" -c "$2"
}

cfg() {
  "$STRATA" image inspect --format "$2" "$1"
}

# step_num TITLE: the N of the "#N TITLE" line in $stderr (first match).
step_num() {
  local line
  line=$(printf '%s\n' "$stderr" | grep -F -m1 " $1") || {
    echo "no progress line with |$1| in: $stderr" >&2
    return 1
  }
  line=${line%% *}
  echo "${line#\#}"
}

# step_lines TITLE: every progress line of the step titled TITLE.
step_lines() {
  local n
  n=$(step_num "$1") || return 1
  printf '%s\n' "$stderr" | grep -E "^#$n( |$)"
}

# assert_step_cached TITLE / assert_step_miss TITLE REASON
assert_step_cached() {
  local lines
  lines=$(step_lines "$1") || return 1
  if ! grep -qx "#[0-9]* CACHED" <<<"$lines"; then
    echo "step |$1| was not CACHED:"
    echo "$lines"
    return 1
  fi
}

assert_step_miss() {
  local lines
  lines=$(step_lines "$1") || return 1
  if ! grep -qF "cache miss: $2" <<<"$lines"; then
    echo "step |$1| did not miss with |$2|:"
    echo "$lines"
    return 1
  fi
}
