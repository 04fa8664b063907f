#!/usr/bin/env bats
# push of multi-layer images: layers uploaded N at a time
# (--max-concurrent-uploads, daemon.json max-concurrent-uploads), chunked
# uploads, an upload failing midway, and HTTPS + Basic auth with parallel
# uploads; against real registries (Debian's docker-registry on free ports
# of 127.0.0.1). Images come from `docker save` archives made here
# (make_layered_archive: random, so incompressible, layers).

load helpers
load ../registry/registry

setup_file() {
  command -v docker-registry >/dev/null || skip "docker-registry is not installed"
  command -v htpasswd >/dev/null || skip "htpasswd (apache2-utils) is not installed"
  reg_start https-basic "$BATS_FILE_TMPDIR/secure" || return 1
  export SREG=$REG SREG_PID=$REG_PID SREG_DIR=$REG_DIR SREG_CERTS_D=$REG_CERTS_D
  export REG_USER REG_PASS
  reg_start http "$BATS_FILE_TMPDIR/registry" || return 1
  export REG REG_PID REG_DIR
}

teardown_file() {
  reg_stop
  REG_PID=$SREG_PID reg_stop
}

setup() {
  reg_setup 1
  export STRATA_CONFIG=$BATS_TEST_TMPDIR/daemon.json
}

# load_layered NAME SIZE_KB...: loads an image of those layers as NAME;
# prints its ID.
load_layered() {
  local name=$1
  shift
  make_layered_archive "$BATS_TEST_TMPDIR/image.tar" "$name" "$@" || return 1
  "$STRATA" load -q -i "$BATS_TEST_TMPDIR/image.tar" >/dev/null || return 1
  "$STRATA" images -q --no-trunc "$name"
}

# upload_requests LOG: the blob upload requests the proxy saw, one word
# each (POST, PATCH, PUT), in order.
upload_requests() {
  grep -E '^(POST|PATCH|PUT) /v2/[^ ]*/blobs/uploads/' "$1" | cut -d' ' -f1
}

# manifest_status REPO TAG: the HTTP status of the registry's manifest.
manifest_status() {
  curl -s -o /dev/null -w '%{http_code}' --noproxy '*' \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$REG/v2/$1/manifests/$2"
}

@test "push: four layers, three at a time, Docker's lines; pull gives the image back" {
  id=$(load_layered "$R:latest" 300 200 400 100)
  run --separate-stderr "$STRATA" push "$R:latest"
  assert_status 0
  assert_eq "${lines[0]}" "The push refers to repository [$R]"
  # Preparing for every layer, top first; the fourth waits for a slot.
  for i in 1 2 3 4; do
    assert_match "${lines[$i]}" '^[0-9a-f]{12}: Preparing$'
  done
  assert_match "${lines[5]}" '^[0-9a-f]{12}: Waiting$'
  assert_eq "${lines[5]%%:*}" "${lines[4]%%:*}"
  [ "$(grep -c ': Pushed$' <<<"$output")" -eq 4 ]
  assert_match "${lines[10]}" '^latest: digest: sha256:[0-9a-f]{64} size: [0-9]+$'
  [ "${#lines[@]}" -eq 11 ]
  pushed=$(echo "${lines[10]}" | cut -d' ' -f3)
  "$STRATA" rmi "$R:latest" >/dev/null
  run --separate-stderr "$STRATA" pull -q "$R:latest"
  assert_status 0
  run "$STRATA" image inspect --format '{{.Id}} {{len .RootFS.Layers}} {{index .RepoDigests 0}}' "$R:latest"
  assert_eq "$output" "$id 4 $R@$pushed"
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

@test "push: uploads run in parallel; --max-concurrent-uploads 1 makes them sequential" {
  load_layered "$R:latest" 64 64 64 >/dev/null
  # Answers trickle (1 kB/s) so that requests in flight at once show up
  # together in the proxy's log.
  proxy_start "${REG##*:}" --rate 1000
  P=$PROXY/t$BATS_TEST_NUMBER
  "$STRATA" tag "$R:latest" "$P:latest"
  run --separate-stderr "$STRATA" push "$P:latest"
  assert_status 0
  [ "$(grep -c ': Pushed$' <<<"$output")" -eq 3 ]
  # Three upload sessions opened before any blob was sent.
  assert_eq "$(upload_requests "$PROXY_LOG" | head -3 | tr '\n' ' ')" "POST POST POST "
  proxy_stop
  # One at a time: each upload ends before the next begins (three layers,
  # then the config).
  proxy_start "${REG##*:}"
  P=$PROXY/u$BATS_TEST_NUMBER
  "$STRATA" tag "$R:latest" "$P:latest"
  run --separate-stderr "$STRATA" push --max-concurrent-uploads 1 "$P:latest"
  assert_status 0
  assert_eq "$(upload_requests "$PROXY_LOG" | tr '\n' ' ')" "POST PUT POST PUT POST PUT POST PUT "
  run --separate-stderr "$STRATA" push --max-concurrent-uploads 0 "$P:latest"
  assert_status 1
  assert_contains "$stderr" "--max-concurrent-uploads"
}

@test "push: max-concurrent-uploads from daemon.json" {
  load_layered "$R:latest" 64 64 64 >/dev/null
  echo '{"max-concurrent-uploads": 1}' >"$STRATA_CONFIG"
  proxy_start "${REG##*:}"
  P=$PROXY/t$BATS_TEST_NUMBER
  "$STRATA" tag "$R:latest" "$P:latest"
  run --separate-stderr "$STRATA" push "$P:latest"
  assert_status 0
  # Two layers wait for the single slot.
  [ "$(grep -c ': Waiting$' <<<"$output")" -eq 2 ]
  assert_eq "$(upload_requests "$PROXY_LOG" | tr '\n' ' ')" "POST PUT POST PUT POST PUT POST PUT "
  echo '{"max-concurrent-uploads": "three"}' >"$STRATA_CONFIG"
  run --separate-stderr "$STRATA" push "$P:latest"
  assert_status 1
  assert_contains "$stderr" "$STRATA_CONFIG"
  assert_contains "$stderr" "max-concurrent-uploads"
}

@test "push: a re-push of an unchanged image uploads nothing and keeps the manifest" {
  load_layered "$R:latest" 64 64 64 >/dev/null
  "$STRATA" push -q "$R:latest" >/dev/null
  proxy_start "${REG##*:}"
  P=$PROXY/t$BATS_TEST_NUMBER
  "$STRATA" tag "$R:latest" "$P:latest"
  start=$(date +%s%N)
  run --separate-stderr "$STRATA" push "$P:latest"
  end=$(date +%s%N)
  assert_status 0
  [ "$(grep -c ': Layer already exists$' <<<"$output")" -eq 3 ]
  echo "# re-push of 3 layers through the proxy took $(((end - start) / 1000000)) ms" >&3
  # Nothing uploaded, the tag already named these manifest bytes: no PUT.
  ! grep -Eq '^(POST|PATCH|PUT) ' "$PROXY_LOG"
  # Compressed once: the store holds each compressed blob once.
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

@test "push: a big layer goes in PATCH chunks with Content-Range, then PUT ?digest=" {
  id=$(load_layered "$R:latest" 2600 40)
  proxy_start "${REG##*:}"
  P=$PROXY/t$BATS_TEST_NUMBER
  "$STRATA" tag "$R:latest" "$P:latest"
  STRATA_PUSH_CHUNK_SIZE=1048576 run --separate-stderr "$STRATA" push "$P:latest"
  assert_status 0
  # The 2.6 MB layer: three PATCHes of at most 1 MiB, then the closing PUT;
  # the 40 kB one and the config in a single PUT each.
  [ "$(grep -c '^PATCH /v2/' "$PROXY_LOG")" -eq 3 ]
  assert_eq "$(grep -i '^Content-Range:' "$PROXY_LOG" | head -2 | tr -d '\r' | tr '\n' ' ')" \
    "Content-Range: 0-1048575 Content-Range: 1048576-2097151 "
  [ "$(grep -Ec '^PUT /v2/[^ ]*/blobs/uploads/[^ ]*digest=sha256' "$PROXY_LOG")" -eq 3 ]
  "$STRATA" rmi "$R:latest" "$P:latest" >/dev/null
  run --separate-stderr "$STRATA" pull -q "$R:latest"
  assert_status 0
  run "$STRATA" images -q --no-trunc "$R:latest"
  assert_eq "$output" "$id"
  # skopeo reads the same blobs back.
  skopeo inspect --tls-verify=false "docker://$R:latest" >/dev/null
}

@test "push: an upload failing midway leaves no manifest and the store as it was; a new push completes" {
  id=$(load_layered "$R:latest" 2600 40)
  # The second PATCH of the big layer gets a 500 (PATCH is not retried).
  proxy_start "${REG##*:}" --status 500 --methods PATCH --match /blobs/uploads/ --status-skip 1
  P=$PROXY/t$BATS_TEST_NUMBER
  "$STRATA" tag "$R:latest" "$P:latest"
  before=$("$STRATA" images --no-trunc --digests)
  STRATA_PUSH_CHUNK_SIZE=1048576 run --separate-stderr "$STRATA" push --max-concurrent-uploads 1 "$P:latest"
  assert_status 1
  assert_contains "$stderr" "push $P:latest: layer sha256:"
  assert_contains "$stderr" "upload (PATCH)"
  grep -q "^STATUS 500 for PATCH" "$PROXY_LOG"
  assert_eq "$(manifest_status "t$BATS_TEST_NUMBER" latest)" 404
  assert_eq "$("$STRATA" images --no-trunc --digests)" "$before"
  run "$STRATA" image inspect --format '{{len .RepoDigests}}' "$P:latest"
  assert_eq "$output" 0
  run --separate-stderr "$STRATA" system check
  assert_status 0
  proxy_stop
  # Again, straight to the registry: the small top layer went up before
  # the failure; the big one is uploaded from the start (an upload session
  # is not resumed, as with Docker).
  STRATA_PUSH_CHUNK_SIZE=1048576 run --separate-stderr "$STRATA" push "$R:latest"
  assert_status 0
  assert_match "${lines[3]}" '^[0-9a-f]{12}: Layer already exists$'
  assert_match "${lines[4]}" '^[0-9a-f]{12}: Pushed$'
  assert_eq "$(manifest_status "t$BATS_TEST_NUMBER" latest)" 200
  "$STRATA" rmi "$R:latest" "$P:latest" >/dev/null
  run --separate-stderr "$STRATA" pull -q "$R:latest"
  assert_status 0
  run "$STRATA" images -q --no-trunc "$R:latest"
  assert_eq "$output" "$id"
}

@test "push/pull: HTTPS with Basic auth, three layers in parallel, both ways" {
  S=$SREG/t$BATS_TEST_NUMBER
  id=$(load_layered "$S:latest" 300 200 100)
  export STRATA_CERTS_D=$SREG_CERTS_D
  run --separate-stderr "$STRATA" push "$S:latest"
  assert_status 1
  assert_contains "$stderr" "strata login"
  run --separate-stderr "$STRATA" login -u "$REG_USER" --password-stdin "$SREG" <<<"$REG_PASS"
  assert_status 0
  run --separate-stderr "$STRATA" push "$S:latest"
  assert_status 0
  [ "$(grep -c ': Pushed$' <<<"$output")" -eq 3 ]
  ! grep -q ': Waiting$' <<<"$output"
  pushed=$(echo "${lines[${#lines[@]} - 1]}" | cut -d' ' -f3)
  "$STRATA" rmi "$S:latest" >/dev/null
  run --separate-stderr "$STRATA" pull "$S:latest"
  assert_status 0
  [ "$(grep -c ': Pull complete$' <<<"$output")" -eq 3 ]
  assert_contains "$output" "Digest: $pushed"
  run "$STRATA" images -q --no-trunc "$S:latest"
  assert_eq "$output" "$id"
  # skopeo with the same credentials and CA sees the same manifest.
  got=$(skopeo inspect --raw --creds "$REG_USER:$REG_PASS" \
    --cert-dir "$SREG_CERTS_D/$SREG" "docker://$S:latest" | sha256sum | cut -d' ' -f1)
  assert_eq "sha256:$got" "$pushed"
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

# render: stdin is what a terminal received; prints the screen it shows
# (cursor up/down, carriage return, erase line, newline).
render() {
  python3 -c '
import re, sys
data = sys.stdin.buffer.read().decode()
screen, row, col = [""], 0, 0
for tok in re.findall(r"\x1b\[(\d*)([A-Za-z])|(\r\n|\r|\n)|([^\x1b\r\n]+)", data):
    n, cmd, nl, text = tok
    if cmd == "A":
        row -= int(n or 1)
    elif cmd == "B":
        row += int(n or 1)
    elif cmd == "K":
        screen[row] = ""
    elif nl in ("\n", "\r\n"):
        row += 1
        col = 0
    elif nl == "\r":
        col = 0
    elif text:
        line = screen[row]
        screen[row] = line[:col] + text + line[col + len(text):]
        col += len(text)
    while row >= len(screen):
        screen.append("")
print("\n".join(l for l in screen if l != ""))
'
}

@test "push on a terminal: one line per layer, updated in place; plain lines otherwise" {
  command -v script >/dev/null || skip "script(1) is not installed"
  load_layered "$R:latest" 64 64 >/dev/null
  run script -qec "$STRATA push $R:latest" /dev/null
  assert_status 0
  raw=$output
  assert_contains "$raw" $'\033[2K'
  screen=$(printf '%s' "$raw" | render)
  echo "$screen"
  mapfile -t rows <<<"$screen"
  assert_eq "${#rows[@]}" 4
  assert_eq "${rows[0]}" "The push refers to repository [$R]"
  assert_match "${rows[1]}" '^[0-9a-f]{12}: Pushed$'
  assert_match "${rows[2]}" '^[0-9a-f]{12}: Pushed$'
  assert_match "${rows[3]}" '^latest: digest: sha256:[0-9a-f]{64} size: [0-9]+$'
  # each layer got its own line, drawn more than once (Preparing, Pushing)
  [ "$(grep -o $'\033\\[2K' <<<"$raw" | wc -l)" -ge 6 ]
  # a re-push: the same lines say Layer already exists
  run script -qec "$STRATA push $R:latest" /dev/null
  mapfile -t rows < <(printf '%s' "$output" | render)
  assert_match "${rows[1]}" '^[0-9a-f]{12}: Layer already exists$'
  assert_match "${rows[2]}" '^[0-9a-f]{12}: Layer already exists$'
  # not a terminal: plain lines, no escapes
  run --separate-stderr "$STRATA" push "$R:latest"
  [[ $output != *$'\033'* ]]
  assert_eq "${#lines[@]}" 6
}

@test "push: a re-push of a pulled image asks the registry first: nothing compressed or uploaded" {
  load_layered "$R:latest" 256 256 >/dev/null
  "$STRATA" push -q "$R:latest" >/dev/null
  # a fresh store that only pulled it (never pushed, no compressed forms)
  export STRATA_ROOT=$BATS_TEST_TMPDIR/other-store
  proxy_start "${REG##*:}"
  P=$PROXY/t$BATS_TEST_NUMBER
  "$STRATA" pull -q "$P:latest" >/dev/null
  blobs_before=$(find "$STRATA_ROOT/blobs" -type f | sort)
  : >"$PROXY_LOG"
  run --separate-stderr "$STRATA" push "$P:latest"
  assert_status 0
  [ "$(grep -c ': Layer already exists$' <<<"$output")" -eq 2 ]
  # HEADs only: no upload was started, no manifest written again
  [ "$(grep -Ec '^HEAD /v2/[^ ]*/blobs/sha256:' "$PROXY_LOG")" -ge 2 ]
  ! grep -Eq '^(POST|PATCH|PUT) ' "$PROXY_LOG"
  # and nothing was compressed: the store holds the same blobs
  assert_eq "$(find "$STRATA_ROOT/blobs" -type f | sort)" "$blobs_before"
}
