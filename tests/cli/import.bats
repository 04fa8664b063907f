#!/usr/bin/env bats
# strata import [--change I]... [--message M] FILE|- [REPOSITORY[:TAG]]

load helpers

# sha256 of a file's bytes, as "sha256:<hex>".
file_digest() {
  echo "sha256:$(sha256sum <"$1" | cut -d' ' -f1)"
}

@test "import: a tarball prints the image ID on stdout and tags it" {
  tar=$(busybox_tar)
  run --separate-stderr "$STRATA" import "$tar" busybox:latest
  assert_status 0
  assert_match "$output" '^sha256:[0-9a-f]{64}$'
  id=$output
  run --separate-stderr "$STRATA" image inspect --format '{{.Id}} {{json .RepoTags}}' busybox:latest
  assert_status 0
  assert_eq "$output" "$id [\"busybox:latest\"]"
}

@test "import: the layer diff ID is the sha256 of the uncompressed tar" {
  tar=$(busybox_tar)
  import_busybox busybox:latest >/dev/null
  run --separate-stderr "$STRATA" image inspect --format '{{json .RootFS.Layers}}' busybox:latest
  assert_status 0
  assert_eq "$output" "[\"$(file_digest "$tar")\"]"
}

@test "import: - reads the tarball from stdin" {
  tar=$(busybox_tar)
  run --separate-stderr "$STRATA" import - busybox:stdin <"$tar"
  assert_status 0
  assert_match "$output" '^sha256:[0-9a-f]{64}$'
  run --separate-stderr "$STRATA" image inspect --format '{{json .RootFS.Layers}}' busybox:stdin
  assert_status 0
  assert_eq "$output" "[\"$(file_digest "$tar")\"]"
}

@test "import: plain, gzip, xz and zstd tarballs give the same layer diff ID" {
  want="[\"$(file_digest "$(busybox_tar)")\"]"
  for kind in tar gz xz zst; do
    f=$(busybox_tar "$kind")
    run --separate-stderr "$STRATA" import "$f" "bb:$kind"
    assert_status 0
    assert_match "$output" '^sha256:[0-9a-f]{64}$'
    run --separate-stderr "$STRATA" image inspect --format '{{json .RootFS.Layers}}' "bb:$kind"
    assert_status 0
    assert_eq "$output" "$want"
  done
}

@test "import: compressed input from stdin is detected too" {
  want="[\"$(file_digest "$(busybox_tar)")\"]"
  run --separate-stderr "$STRATA" import - bb:gz <"$(busybox_tar gz)"
  assert_status 0
  run --separate-stderr "$STRATA" image inspect --format '{{json .RootFS.Layers}}' bb:gz
  assert_eq "$output" "$want"
}

@test "import: without a reference the image is dangling" {
  run --separate-stderr "$STRATA" import "$(busybox_tar)"
  assert_status 0
  assert_match "$output" '^sha256:[0-9a-f]{64}$'
  id=$output
  run --separate-stderr "$STRATA" images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
  assert_status 0
  assert_eq "$output" "<none>:<none> $(short_id "$id")"
}

@test "import: a repository without a tag is tagged latest" {
  import_busybox busybox >/dev/null
  run --separate-stderr "$STRATA" image inspect --format '{{json .RepoTags}}' busybox
  assert_status 0
  assert_eq "$output" '["busybox:latest"]'
}

@test "import: --change CMD in exec form sets Config.Cmd" {
  import_busybox --change 'CMD ["sh"]' busybox >/dev/null
  run --separate-stderr "$STRATA" image inspect --format '{{json .Config.Cmd}}' busybox
  assert_status 0
  assert_eq "$output" '["sh"]'
}

@test "import: --change CMD in shell form runs through /bin/sh -c" {
  import_busybox --change 'CMD echo hi' busybox >/dev/null
  run --separate-stderr "$STRATA" image inspect --format '{{json .Config.Cmd}}' busybox
  assert_status 0
  assert_eq "$output" '["/bin/sh","-c","echo hi"]'
}

@test "import: --change 'ENV A=b' sets Config.Env" {
  import_busybox --change 'ENV A=b' busybox >/dev/null
  run --separate-stderr "$STRATA" image inspect --format '{{json .Config.Env}}' busybox
  assert_status 0
  assert_eq "$output" '["A=b"]'
}

@test "import: several -c changes all apply" {
  import_busybox -c 'ENV A=b' -c 'CMD ["sh"]' -c 'LABEL k=v' -c 'WORKDIR /tmp' \
    -c 'USER nobody' -c 'ENTRYPOINT ["/bin/sh", "-c"]' -c 'EXPOSE 80' busybox >/dev/null
  run --separate-stderr "$STRATA" image inspect --format '{{json .Config}}' busybox
  assert_status 0
  printf '%s' "$output" | python3 -c '
import json, sys
c = json.load(sys.stdin)
want = {"Env": ["A=b"], "Cmd": ["sh"], "Labels": {"k": "v"}, "WorkingDir": "/tmp",
        "User": "nobody", "Entrypoint": ["/bin/sh", "-c"], "ExposedPorts": {"80/tcp": {}}}
bad = {k: (c.get(k), v) for k, v in want.items() if c.get(k) != v}
if bad:
    sys.exit("Config mismatch (got, want): %r" % bad)
'
}

@test "import: --change with an instruction import does not allow fails" {
  run --separate-stderr "$STRATA" import --change 'RUN echo hi' "$(busybox_tar)" busybox
  assert_failure
  assert_error_line 'RUN'
  assert_store_empty_and_clean
}

@test "import: --message sets Comment" {
  import_busybox --message 'hello world' busybox >/dev/null
  run --separate-stderr "$STRATA" image inspect --format '{{.Comment}}' busybox
  assert_status 0
  assert_eq "$output" 'hello world'
  import_busybox -m 'short flag' other >/dev/null
  run --separate-stderr "$STRATA" image inspect --format '{{.Comment}}' other
  assert_eq "$output" 'short flag'
}

# Docker's CLI streams a local file to the daemon as "-", so both record
# "Imported from -".
@test "import: the default Comment is 'Imported from -', from a file or stdin" {
  import_busybox fromfile >/dev/null
  run --separate-stderr "$STRATA" image inspect --format '{{.Comment}}' fromfile
  assert_status 0
  assert_eq "$output" 'Imported from -'
  run --separate-stderr "$STRATA" import - fromstdin <"$(busybox_tar)"
  assert_status 0
  run --separate-stderr "$STRATA" image inspect --format '{{.Comment}}' fromstdin
  assert_eq "$output" 'Imported from -'
}

# --- bad input: a clean error, nothing left behind --------------------------

@test "import: a missing file fails naming the file" {
  run --separate-stderr "$STRATA" import "$BATS_TEST_TMPDIR/missing.tar" busybox
  assert_failure
  assert_eq "$output" ""
  assert_error_line 'missing\.tar'
  assert_error_line 'no such file'
  assert_store_empty_and_clean
}

@test "import: a text file is refused as not an archive" {
  run --separate-stderr "$STRATA" import "$(hostile_tar text)" busybox
  assert_failure
  assert_eq "$output" ""
  assert_error_line 'archive|format|not a tar'
  assert_store_empty_and_clean
}

@test "import: random bytes are refused as not an archive" {
  run --separate-stderr "$STRATA" import "$(hostile_tar random)" busybox
  assert_failure
  assert_eq "$output" ""
  assert_error_line 'archive|format|not a tar'
  assert_store_empty_and_clean
}

@test "import: random bytes on stdin are refused" {
  run --separate-stderr "$STRATA" import - busybox <"$(hostile_tar random)"
  assert_failure
  assert_error_line 'archive|format|not a tar'
  assert_store_empty_and_clean
}

@test "import: a truncated gzip tarball is refused" {
  run --separate-stderr "$STRATA" import "$(hostile_tar truncated-gz)" busybox
  assert_failure
  assert_eq "$output" ""
  assert_error_line 'truncat|unexpected end|premature|eof|damaged|corrupt|short read'
  assert_store_empty_and_clean
}

@test "import: a ../ entry is refused, naming the entry" {
  run --separate-stderr "$STRATA" import "$(hostile_tar dotdot)" busybox
  assert_failure
  assert_eq "$output" ""
  assert_error_line 'evil-dotdot'
  assert_store_empty_and_clean
  run find "$BATS_TEST_TMPDIR" -name 'evil-dotdot'
  assert_eq "$output" ""
}

@test "import: an entry that climbs out through ok/../../ is refused" {
  run --separate-stderr "$STRATA" import "$(hostile_tar dotdot-nested)" busybox
  assert_failure
  assert_error_line 'evil-nested'
  assert_store_empty_and_clean
  run find "$BATS_TEST_TMPDIR" -name 'evil-nested'
  assert_eq "$output" ""
}

@test "import: an absolute path entry is refused, naming the entry" {
  run --separate-stderr "$STRATA" import "$(hostile_tar absolute)" busybox
  assert_failure
  assert_eq "$output" ""
  assert_error_line 'abs-evil'
  assert_store_empty_and_clean
  [ ! -e /abs-evil ]
}

@test "import: a hard link to ../x is refused" {
  run --separate-stderr "$STRATA" import "$(hostile_tar hardlink)" busybox
  assert_failure
  assert_eq "$output" ""
  assert_error_line 'evil-link|\.\./x|link'
  assert_store_empty_and_clean
}

# unrunnable_tar OUT KIND: a pax tarball, ok/file.txt then one entry that
# no kernel could unpack:
#   longname  a file whose name is 5,000 bytes long (NAME_MAX is 255)
#   deep      a file 4,201 bytes deep in short directories (PATH_MAX 4096)
#   cap-size  bin/ping with a security.capability of 13 bytes (revision 2)
#   cap-rev   bin/ping with a revision 7 security.capability
#   cap-ok    bin/ping with a valid revision 2 cap_net_raw+ep (accepted)
#   escape    a file named "\e]0;owned\a" + 300 x "e", then a 5,000-byte one
unrunnable_tar() {
  python3 - "$@" <<'EOF'
import io, struct, sys, tarfile
out, kind = sys.argv[1:3]
def entry(name, data=b"", pax=None):
    ti = tarfile.TarInfo(name)
    ti.mode, ti.mtime, ti.size = 0o644, 0, len(data)
    if pax:
        ti.pax_headers = pax
    return ti, io.BytesIO(data)
def cap(raw):
    return {"SCHILY.xattr.security.capability": raw.decode("latin-1")}
entries = [entry("ok/file.txt", b"fine\n")]
if kind == "longname":
    entries.append(entry("ok/" + "n" * 5000, b"x"))
elif kind == "deep":
    entries.append(entry("a/" * 2100 + "deepfile", b"x"))
elif kind == "cap-size":
    entries.append(entry("bin/ping", b"x", cap(struct.pack("<IIIB", 0x02000001, 1 << 13, 0, 0))))
elif kind == "cap-rev":
    entries.append(entry("bin/ping", b"x", cap(struct.pack("<IIIII", 0x07000001, 1 << 13, 0, 0, 0))))
elif kind == "cap-ok":
    entries.append(entry("bin/ping", b"x", cap(struct.pack("<IIIII", 0x02000001, 1 << 13, 0, 0, 0))))
elif kind == "escape":
    entries.append(entry("\x1b]0;owned\x07" + "e" * 300, b"x"))
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
    for ti, f in entries:
        t.addfile(ti, f)
EOF
}

# expect_unrunnable KIND ERE: import refuses the tarball with a first error
# line matching ERE, short, without control bytes, and stores nothing.
expect_unrunnable() {
  unrunnable_tar "$BATS_TEST_TMPDIR/$1.tar" "$1"
  run --separate-stderr "$STRATA" import "$BATS_TEST_TMPDIR/$1.tar" bad:1
  assert_failure
  assert_eq "$output" ""
  assert_error_line "$2"
  [ "${#stderr}" -lt 600 ] || fail "error of ${#stderr} bytes: $stderr"
  [[ $stderr != *$'\e'* && $stderr != *$'\a'* ]] || fail "control bytes in: $stderr"
  assert_store_empty_and_clean
}

@test "import: an entry name of 5,000 bytes is refused, shortened" {
  expect_unrunnable longname \
    'rootfs tarball: entry "ok/n{190,}"\.\.\.: the path has a component of 5000 bytes, longer than Linux allows \(255 bytes\)$'
}

@test "import: a path deeper than PATH_MAX is refused" {
  expect_unrunnable deep \
    'entry "(a/)+a?"\.\.\.: the path of 4208 bytes is longer than Linux allows \(4095 bytes\)$'
}

@test "import: an invalid security.capability is refused; a valid one is kept" {
  expect_unrunnable cap-size \
    'entry "bin/ping": xattr "security.capability": wrong size \(revision 2 has 20 bytes\)$'
  expect_unrunnable cap-rev \
    'entry "bin/ping": xattr "security.capability": unknown revision'
  unrunnable_tar "$BATS_TEST_TMPDIR/ok.tar" cap-ok
  run --separate-stderr "$STRATA" import "$BATS_TEST_TMPDIR/ok.tar" good:1
  assert_status 0
}

@test "import: entry names in errors are escaped" {
  unrunnable_tar "$BATS_TEST_TMPDIR/esc.tar" escape
  run --separate-stderr "$STRATA" import "$BATS_TEST_TMPDIR/esc.tar" bad:1
  assert_failure
  assert_error_line 'entry "\\x1b\]0;owned\\x07e{100,}"\.\.\.: the path has a component of 310 bytes'
  [[ $stderr != *$'\e'* ]] || fail "escape byte in: $stderr"
}

# A symlink to an absolute path is legal in a layer; what must never happen
# is a later entry being written through it onto the host.
@test "import: nothing is written through a symlink that points outside" {
  outside=$BATS_TEST_TMPDIR/outside
  mkdir "$outside"
  tar=$(symlink_escape_tar "$outside")
  run --separate-stderr "$STRATA" import "$tar" escape:1
  if [ "$status" -ne 0 ]; then
    assert_failure
  fi
  run ls -A "$outside"
  assert_eq "$output" ""
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

@test "import: an invalid reference is refused before anything is stored" {
  run --separate-stderr "$STRATA" import "$(busybox_tar)" Busybox
  assert_failure
  assert_eq "$output" ""
  assert_error_line 'lowercase|uppercase|upper-case|lower-case'
  assert_store_empty_and_clean
}

@test "import: a bad tag is refused" {
  run --separate-stderr "$STRATA" import "$(busybox_tar)" 'busybox:ta!g'
  assert_failure
  assert_error_line 'tag'
  assert_store_empty_and_clean
}

@test "import: no argument, or three, is a usage error" {
  run --separate-stderr "$STRATA" import
  assert_failure
  assert_imatch "$stderr" 'argument'
  run --separate-stderr "$STRATA" import "$(busybox_tar)" a:1 b:2
  assert_failure
  assert_imatch "$stderr" 'argument'
  assert_store_empty_and_clean
}

@test "import: a failed import leaves earlier images alone" {
  id=$(import_busybox busybox:latest)
  run --separate-stderr "$STRATA" import "$(hostile_tar truncated-gz)" busybox:latest
  assert_failure
  run --separate-stderr "$STRATA" images --no-trunc -q
  assert_status 0
  assert_eq "$output" "$id"
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

# http_serve DIR: python3's http.server on a free port of 127.0.0.1,
# serving DIR; sets HTTP_PORT, HTTP_PID, HTTP_LOG.
http_serve() {
  HTTP_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  HTTP_LOG=$BATS_TEST_TMPDIR/http.log
  python3 -m http.server --bind 127.0.0.1 --directory "$1" "$HTTP_PORT" \
    >"$HTTP_LOG" 2>&1 &
  HTTP_PID=$!
  local i
  for ((i = 0; i < 200; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$HTTP_PORT") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

teardown() {
  if [ -n "${HTTP_PID:-}" ]; then
    kill "$HTTP_PID" 2>/dev/null
    wait "$HTTP_PID" 2>/dev/null || true
  fi
}

@test "import URL: downloads the tarball over HTTP and records the URL" {
  tar=$(busybox_tar)
  mkdir "$BATS_TEST_TMPDIR/www"
  gzip -c "$tar" >"$BATS_TEST_TMPDIR/www/rootfs.tar.gz"
  http_serve "$BATS_TEST_TMPDIR/www"
  url=http://127.0.0.1:$HTTP_PORT/rootfs.tar.gz
  run --separate-stderr "$STRATA" import "$url" fromurl:1
  assert_status 0
  assert_match "$output" '^sha256:[0-9a-f]{64}$'
  run --separate-stderr "$STRATA" image inspect --format '{{json .RootFS.Layers}} {{.Comment}}' fromurl:1
  assert_status 0
  assert_eq "$output" "[\"$(file_digest "$tar")\"] Imported from $url"
  grep -q 'GET /rootfs.tar.gz' "$HTTP_LOG"
}

@test "import URL: a missing file or a closed port is a clear error and no image" {
  mkdir "$BATS_TEST_TMPDIR/www"
  http_serve "$BATS_TEST_TMPDIR/www"
  run --separate-stderr "$STRATA" import "http://127.0.0.1:$HTTP_PORT/nope.tar" bad:1
  assert_status 1
  assert_error_line "import http://127.0.0.1:$HTTP_PORT/nope.tar: .*server answered 404"
  kill "$HTTP_PID"
  wait "$HTTP_PID" 2>/dev/null || true
  HTTP_PID=
  run --separate-stderr "$STRATA" import "http://127.0.0.1:$HTTP_PORT/x.tar" bad:1
  assert_status 1
  assert_error_line "Could not connect|Connection refused|Failed to connect"
  run "$STRATA" images -q
  assert_eq "$output" ""
}
