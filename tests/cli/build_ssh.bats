#!/usr/bin/env bats
# build --ssh and RUN --mount=type=ssh: a real ssh-agent started here holds
# a key with a known comment; a static agent client (ssh_agent_probe.c),
# bind-mounted into the RUN, asks the forwarded socket for the agent's
# identities, so only real forwarding can print the comment. Nothing of
# the socket stays in the image, and the socket's path is not in the key.

load helpers
load build_helpers

setup_file() {
  [ "$(id -u)" = 0 ] || return 0
  command -v gcc >/dev/null || return 0
  gcc -static -O1 -o "$BATS_FILE_TMPDIR/probe" \
    "$BATS_TEST_DIRNAME/ssh_agent_probe.c" || return 1
}

setup() {
  build_setup
  command -v ssh-agent >/dev/null || skip "openssh-client not installed"
  [ -x "$BATS_FILE_TMPDIR/probe" ] || skip "gcc -static not available"
  cp "$BATS_FILE_TMPDIR/probe" "$CTX/probe"
  eval "$(ssh-agent -s -a "$BATS_TEST_TMPDIR/agent.sock")" >/dev/null
  AGENT_PID=$SSH_AGENT_PID
  ssh-keygen -q -t ed25519 -N '' -C "strata-key-$RANDOM" \
    -f "$BATS_TEST_TMPDIR/id" >/dev/null
  ssh-add "$BATS_TEST_TMPDIR/id" 2>/dev/null
  COMMENT=$(cut -d' ' -f3 "$BATS_TEST_TMPDIR/id.pub")
}

teardown() {
  [ -n "${AGENT_PID-}" ] && kill "$AGENT_PID" 2>/dev/null || true
}

@test "build ssh: --ssh default forwards \$SSH_AUTH_SOCK to the RUN" {
  dockerfile <<'EOF2'
FROM busybox
RUN --mount=type=bind,source=probe,target=/probe --mount=type=ssh \
    /probe >/out && echo "$SSH_AUTH_SOCK" >>/out && \
    test -S /run/buildkit/ssh_agent.0
EOF2
  sbuild -t sshimg --ssh default "$CTX"
  assert_status 0
  local out
  out=$(in_image sshimg 'cat /out')
  assert_contains "$out" "keys: 1"
  assert_contains "$out" "comment: $COMMENT"
  assert_contains "$out" "/run/buildkit/ssh_agent.0"
  # nothing of the mount in the layer or the config
  run --separate-stderr in_image sshimg 'ls -d /run/buildkit'
  assert_failure
  local env
  env=$(cfg sshimg '{{json .Config.Env}}')
  [[ $env != *SSH_AUTH_SOCK* ]]
  "$STRATA" save -o "$BATS_TEST_TMPDIR/img.tar" sshimg
  mkdir "$BATS_TEST_TMPDIR/x"
  tar -C "$BATS_TEST_TMPDIR/x" -xf "$BATS_TEST_TMPDIR/img.tar"
  ! grep -rqF "$BATS_TEST_TMPDIR/agent.sock" "$BATS_TEST_TMPDIR/x"
}

@test "build ssh: an id and target; another socket path keeps the cache" {
  dockerfile <<'EOF2'
FROM busybox
RUN --mount=type=bind,source=probe,target=/probe \
    --mount=type=ssh,id=gh,target=/tmp/agent,required=true \
    /probe >/out && echo "$SSH_AUTH_SOCK" >>/out
EOF2
  sbuild -t sshimg --ssh gh="$BATS_TEST_TMPDIR/agent.sock" "$CTX"
  assert_status 0
  local out
  out=$(in_image sshimg 'cat /out')
  assert_contains "$out" "comment: $COMMENT"
  assert_contains "$out" "/tmp/agent"
  [[ $(in_image sshimg 'ls /tmp') != *agent* ]]
  # the same agent reached by another path: the step is cached
  ln -s "$BATS_TEST_TMPDIR/agent.sock" "$BATS_TEST_TMPDIR/other.sock"
  sbuild --progress=plain -t sshimg --ssh gh="$BATS_TEST_TMPDIR/other.sock" "$CTX"
  assert_status 0
  assert_contains "$stderr" "CACHED"
}

@test "build ssh: a required ssh mount without --ssh fails with file:line" {
  dockerfile <<'EOF2'
FROM busybox
RUN true
RUN --mount=type=ssh,id=deploy,required=true true
EOF2
  sbuild -t sshimg "$CTX"
  assert_failure
  assert_contains "$stderr" "Dockerfile:3"
  assert_contains "$stderr" "ssh deploy: no SSH agent given to the build"
  assert_contains "$stderr" "--ssh deploy"
  run "$STRATA" image inspect sshimg
  assert_failure
}

@test "build ssh: an optional ssh mount without --ssh runs without a socket" {
  dockerfile <<'EOF2'
FROM busybox
RUN --mount=type=ssh test -z "$SSH_AUTH_SOCK" && ! test -e /run/buildkit
EOF2
  sbuild "$CTX"
  assert_status 0
}

@test "build ssh: a bad --ssh is refused before building" {
  dockerfile <<'EOF2'
FROM busybox
RUN true
EOF2
  sbuild --ssh default="$BATS_TEST_TMPDIR/id" "$CTX"
  assert_failure
  assert_contains "$stderr" "is not an agent socket"
  (unset SSH_AUTH_SOCK; run --separate-stderr "$STRATA" build --ssh default "$CTX"
   [ "$status" -ne 0 ] && [[ $stderr == *"SSH_AUTH_SOCK is not set"* ]])
}
