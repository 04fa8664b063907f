#!/usr/bin/env bats
# build --secret and RUN --mount=type=secret: the secret is readable in the
# step, and appears nowhere in the image (layers, config, history) nor in
# the cache key.

load helpers
load build_helpers

setup() {
  build_setup
  printf 'hunter2-%s\n' "$RANDOM" >"$BATS_TEST_TMPDIR/token"
  dockerfile <<'EOF2'
FROM busybox
RUN --mount=type=secret,id=token wc -c </run/secrets/token >/size
EOF2
}

@test "build secret: readable in RUN, absent from the saved image" {
  sbuild -t sec --secret id=token,src="$BATS_TEST_TMPDIR/token" "$CTX"
  assert_status 0
  local want
  want=$(wc -c <"$BATS_TEST_TMPDIR/token")
  assert_eq "$(in_image sec 'cat /size')" "$want"
  run --separate-stderr in_image sec 'ls /run/secrets'
  assert_failure
  "$STRATA" save -o "$BATS_TEST_TMPDIR/sec.tar" sec
  mkdir "$BATS_TEST_TMPDIR/x"
  tar -C "$BATS_TEST_TMPDIR/x" -xf "$BATS_TEST_TMPDIR/sec.tar"
  for b in "$BATS_TEST_TMPDIR"/x/blobs/sha256/*; do
    if tar -tf "$b" >/dev/null 2>&1; then
      ! tar -tf "$b" | grep -q 'run/secrets'
      ! tar -xOf "$b" 2>/dev/null | grep -qF "$(cat "$BATS_TEST_TMPDIR/token")"
    else
      ! grep -qF "$(cat "$BATS_TEST_TMPDIR/token")" "$b"
    fi
  done
}

@test "build secret: from an environment variable; a changed secret keeps the cache" {
  export TOKEN_VALUE=abc
  sbuild --progress=plain -t sec --secret id=token,env=TOKEN_VALUE "$CTX"
  assert_status 0
  assert_eq "$(in_image sec 'cat /size')" "3"
  TOKEN_VALUE=abcdef sbuild --progress=plain -t sec --secret id=token,env=TOKEN_VALUE "$CTX"
  assert_status 0
  assert_contains "$stderr" "CACHED"
}

@test "build secret: a required secret that is not given fails with its id" {
  dockerfile <<'EOF2'
FROM busybox
RUN --mount=type=secret,id=missing,required=true true
EOF2
  sbuild "$CTX"
  assert_failure
  assert_contains "$stderr" "secret missing"
}

@test "build secret: a bad --secret stops the build before any step" {
  sbuild -t sec --secret id=token,src="$BATS_TEST_TMPDIR/nope" "$CTX"
  assert_failure
  assert_contains "$stderr" "secret token: cannot read"
  [[ $stderr != *"RUN"* ]]
  run "$STRATA" image inspect sec
  assert_failure
}
