#!/usr/bin/env bats
# ADD: local tar archives are unpacked at the destination (whiteout names
# refused), other files copied; a URL (an HTTP server this test runs on
# 127.0.0.1) is downloaded with mode 0600 and checked against --checksum.

load helpers
load build_helpers

setup() {
  build_setup
}

teardown() {
  [ -n "${HTTP_PID:-}" ] && kill "$HTTP_PID" 2>/dev/null || true
}

# serve DIR: an HTTP server on 127.0.0.1 (a free port, in $PORT).
serve() {
  python3 - "$1" >"$BATS_TEST_TMPDIR/port" 2>/dev/null <<'PY' &
import functools, http.server, sys
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
h.log_message = lambda *a: None
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), h)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
  HTTP_PID=$!
  for _ in $(seq 1 100); do
    PORT=$(cat "$BATS_TEST_TMPDIR/port" 2>/dev/null)
    [ -n "$PORT" ] && return 0
    sleep 0.05
  done
  return 1
}

@test "ADD: a local tar.gz is unpacked, a plain file is copied" {
  mkdir -p "$BATS_TEST_TMPDIR/arc/sub"
  echo inside >"$BATS_TEST_TMPDIR/arc/sub/f.txt"
  tar -C "$BATS_TEST_TMPDIR/arc" -czf "$CTX/arc.tar.gz" .
  echo plain >"$CTX/plain.txt"
  dockerfile <<'EOF2'
FROM busybox
ADD arc.tar.gz /opt/
ADD plain.txt /p.txt
EOF2
  sbuild -t addt "$CTX"
  assert_status 0
  assert_eq "$(in_image addt 'cat /opt/sub/f.txt /p.txt')" "inside
plain"
}

@test "ADD: tar, tar.bz2, tar.xz and tar.zst archives are unpacked too, by content not by name" {
  mkdir -p "$BATS_TEST_TMPDIR/arc"
  echo packed >"$BATS_TEST_TMPDIR/arc/f.txt"
  tar -C "$BATS_TEST_TMPDIR/arc" -cf "$CTX/a.tar" .
  tar -C "$BATS_TEST_TMPDIR/arc" -cjf "$CTX/a.tar.bz2" .
  tar -C "$BATS_TEST_TMPDIR/arc" -cJf "$CTX/a.tar.xz" .
  tar -C "$BATS_TEST_TMPDIR/arc" -cf - . | zstd -q >"$CTX/a.tar.zst"
  cp "$CTX/a.tar.xz" "$CTX/misnamed.bin"
  dockerfile <<'EOF2'
FROM busybox
ADD a.tar /t/
ADD a.tar.bz2 /b/
ADD a.tar.xz /x/
ADD a.tar.zst /z/
ADD misnamed.bin /m/
EOF2
  sbuild -t arcs "$CTX"
  assert_status 0
  assert_eq "$(in_image arcs 'cat /t/f.txt /b/f.txt /x/f.txt /z/f.txt /m/f.txt')" "packed
packed
packed
packed
packed"
}

@test "ADD: an archive with a whiteout name is refused, naming the entry" {
  mkdir -p "$BATS_TEST_TMPDIR/arc"
  echo x >"$BATS_TEST_TMPDIR/arc/.wh.etc"
  tar -C "$BATS_TEST_TMPDIR/arc" -cf "$CTX/bad.tar" .
  dockerfile <<'EOF2'
FROM busybox
ADD bad.tar /
EOF2
  sbuild -t bad "$CTX"
  assert_failure
  assert_contains "$stderr" ".wh.etc"
  run --separate-stderr "$STRATA" run --rm busybox ls /etc/passwd
  assert_status 0
}

@test "ADD: a URL is downloaded (mode 0600) and its --checksum checked" {
  mkdir "$BATS_TEST_TMPDIR/www"
  echo "from url" >"$BATS_TEST_TMPDIR/www/remote.txt"
  touch -d @1600000000 "$BATS_TEST_TMPDIR/www/remote.txt" # its Last-Modified
  serve "$BATS_TEST_TMPDIR/www"
  local sum
  sum=$(sha256sum "$BATS_TEST_TMPDIR/www/remote.txt" | cut -d' ' -f1)
  cat >"$CTX/Dockerfile" <<EOF2
FROM busybox
ADD --checksum=sha256:$sum http://127.0.0.1:$PORT/remote.txt /dl/
EOF2
  sbuild -t url "$CTX"
  assert_status 0
  assert_eq "$(in_image url 'cat /dl/remote.txt; stat -c "%a %Y" /dl/remote.txt')" "from url
600 1600000000"
  sed -i "s/sha256:$sum/sha256:$(printf '%064d' 0)/" "$CTX/Dockerfile"
  sbuild -t url2 "$CTX"
  assert_failure
  assert_contains "$stderr" "digest mismatch"
}

@test "build -: a context tar or a Dockerfile on standard input" {
  echo from-tar >"$CTX/f.txt"
  dockerfile <<'EOF2'
FROM busybox
COPY f.txt /f.txt
EOF2
  run --separate-stderr bash -c "tar -C '$CTX' -c . | timeout 60 '$STRATA' build -q -t fromtar -"
  assert_status 0
  assert_eq "$(in_image fromtar 'cat /f.txt')" "from-tar"
  run --separate-stderr bash -c "printf 'FROM busybox\nRUN echo df >/df\n' | timeout 60 '$STRATA' build -q -t fromdf -"
  assert_status 0
  assert_eq "$(in_image fromdf 'cat /df')" "df"
}
