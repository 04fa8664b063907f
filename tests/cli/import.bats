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
