#!/usr/bin/env bats
# strata build failures: a non-zero exit, an error naming the Dockerfile
# line, nothing tagged, and a store that still checks clean. Needs root.

load helpers
load build_helpers

setup() {
  build_setup
}

teardown() {
  "$STRATA" rm -f $("$STRATA" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
}

# assert_nothing_tagged NAME: NAME is not an image.
assert_nothing_tagged() {
  run --separate-stderr "$STRATA" images -q "$1"
  assert_eq "$output" ""
}

@test "errors: a failing RUN exits non-zero, names its line and exit code, tags nothing" {
  dockerfile <<'EOF'
FROM busybox
RUN echo ok
RUN echo about-to-fail && exit 3
ENV A=1
EOF
  sbuild -t x "$CTX"
  assert_failure
  assert_contains "$stderr" "Error: Dockerfile:3"
  assert_contains "$stderr" "exit code: 3"
  assert_match "$stderr" '   3 \| >>> RUN echo about-to-fail && exit 3'
  assert_contains "$stderr" "about-to-fail"
  assert_nothing_tagged x
  run --separate-stderr "$STRATA" ps -aq
  assert_eq "$output" ""
}

@test "errors: system check passes after a failed build" {
  echo a >"$CTX/a.txt"
  dockerfile <<'EOF'
FROM busybox
COPY a.txt /a.txt
RUN echo x >/x
RUN false
EOF
  sbuild -t x "$CTX"
  assert_failure
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

@test "errors: an unknown instruction names the line and the instruction" {
  dockerfile <<'EOF'
FROM busybox
FROB something
EOF
  sbuild -t x "$CTX"
  assert_failure
  assert_contains "$stderr" "Dockerfile:2"
  assert_imatch "$stderr" "frob"
  assert_nothing_tagged x
}

@test "errors: a missing Dockerfile" {
  sbuild -t x "$CTX"
  assert_failure
  assert_error_line 'Dockerfile'
  sbuild -f "$CTX/nope.Dockerfile" -t x "$CTX"
  assert_failure
  assert_contains "$stderr" "nope.Dockerfile"
}

@test "errors: a context that is not a directory" {
  echo 'FROM busybox' >"$BATS_TEST_TMPDIR/file"
  sbuild -t x "$BATS_TEST_TMPDIR/file"
  assert_failure
  assert_error_line 'not a directory'
  sbuild -t x "$BATS_TEST_TMPDIR/no-such-dir"
  assert_failure
  assert_contains "$stderr" "no-such-dir"
}

@test "errors: --target naming no stage" {
  dockerfile <<<'FROM busybox AS one
ENV A=1'
  sbuild --target nosuch -t x "$CTX"
  assert_failure
  assert_contains "$stderr" 'target stage "nosuch" could not be found'
  assert_nothing_tagged x
}

@test "errors: an unterminated here-document" {
  dockerfile <<'EOF'
FROM busybox
RUN <<EOT
echo never ends
EOF
  sbuild -t x "$CTX"
  assert_failure
  assert_contains "$stderr" "Dockerfile:"
  assert_imatch "$stderr" "here-?doc|EOT"
  assert_nothing_tagged x
}

@test "errors: no FROM" {
  dockerfile <<<'RUN echo hi'
  sbuild -t x "$CTX"
  assert_failure
  assert_imatch "$stderr" "FROM"
}

@test "errors: a COPY source that does not exist names it and the line" {
  dockerfile <<'EOF'
FROM busybox
COPY nosuch.txt /x
EOF
  sbuild -t x "$CTX"
  assert_failure
  assert_contains "$stderr" "Dockerfile:2"
  assert_contains "$stderr" "nosuch.txt"
  assert_nothing_tagged x
}

@test "errors: a failing COPY is reported on its own numbered step" {
  dockerfile <<'EOF'
FROM busybox
COPY nosuch.txt /x
EOF
  sbuild -t x "$CTX"
  assert_failure
  # BuildKit: "#3 [2/2] COPY nosuch.txt /x" then "#3 ERROR: ..."
  assert_match "$stderr" '#([0-9]+) \[2/2\] COPY nosuch.txt /x'
  n=$(step_num "[2/2] COPY nosuch.txt /x")
  assert_match "$stderr" "#$n ERROR: "
  [[ $stderr != *"#0 "* ]]
}

@test "errors: a COPY source outside the context is refused" {
  echo outside >"$BATS_TEST_TMPDIR/x"
  dockerfile <<'EOF'
FROM busybox
COPY ../x /x
EOF
  sbuild -t x "$CTX"
  assert_failure
  assert_contains "$stderr" "Dockerfile:2"
  assert_nothing_tagged x
}

@test "errors: a bad --progress value is a usage error" {
  dockerfile <<<'FROM busybox'
  sbuild --progress fancy -t x "$CTX"
  assert_failure
  assert_contains "$stderr" "fancy"
}

@test "errors: a missing base image fails at FROM without tagging" {
  dockerfile <<<'FROM nosuchimage-local-only:1
ENV A=1'
  sbuild --network none -t x "$CTX"
  assert_failure
  assert_contains "$stderr" "Dockerfile:1"
  assert_nothing_tagged x
}
