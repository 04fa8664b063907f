#!/usr/bin/env bats
# strata build's cache: which steps hit, which miss and the reason printed
# ("#N cache miss: ..."), and what rebuilding leaves behind (dangling
# images, prune). Needs root.

load helpers
load build_helpers

setup() {
  build_setup
  echo one >"$CTX/a.txt"
  # Steps: FROM, RUN (#3), COPY (#4), RUN (#5), ENV (no number).
  dockerfile <<'EOF'
FROM busybox
RUN echo first >/first
COPY a.txt /a.txt
RUN cat /a.txt >/copied
ENV A=1
EOF
}

teardown() {
  "$STRATA" rm -f $("$STRATA" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
}

@test "cache: a second build hits every step and gives the same image ID" {
  sbuild -t x "$CTX"
  assert_status 0
  id1=$(cfg x '{{.Id}}')
  sbuild -t x "$CTX"
  assert_status 0
  assert_step_cached "RUN echo first >/first"
  assert_step_cached "COPY a.txt /a.txt"
  assert_step_cached "RUN cat /a.txt >/copied"
  [[ $stderr != *"cache miss"* ]]
  assert_eq "$(cfg x '{{.Id}}')" "$id1"
  assert_contains "$stderr" "writing image $id1 done"
}

@test "cache: a warm rebuild with the same tag writes nothing to the database" {
  sbuild -t x "$CTX"
  assert_status 0
  # The database and its WAL, byte for byte: a warm rebuild reads the cache,
  # marks entries used at most once a minute and re-tags nothing, so no
  # page is written (and no checkpoint fsync is paid).
  sums() { cat "$STRATA_ROOT"/strata.db "$STRATA_ROOT"/strata.db-wal | sha256sum; }
  before=$(sums)
  sbuild -t x "$CTX"
  assert_status 0
  assert_step_cached "RUN cat /a.txt >/copied"
  assert_eq "$(sums)" "$before"
  # A new tag for the same image is a write, and shows.
  sbuild -t y "$CTX"
  assert_status 0
  [ "$(sums)" != "$before" ]
  assert_eq "$(cfg y '{{.Id}}')" "$(cfg x '{{.Id}}')"
}

@test "cache: the first build says why each step missed" {
  sbuild -t x "$CTX"
  assert_status 0
  assert_step_miss "RUN echo first >/first" "base image changed"
  assert_step_miss "COPY a.txt /a.txt" "parent step rebuilt"
  assert_step_miss "RUN cat /a.txt >/copied" "parent step rebuilt"
}

@test "cache: editing a copied file misses from that COPY on, earlier steps hit" {
  sbuild -t x "$CTX"
  assert_status 0
  echo two >"$CTX/a.txt"
  sbuild -t x "$CTX"
  assert_status 0
  assert_step_cached "RUN echo first >/first"
  assert_step_miss "COPY a.txt /a.txt" "a.txt changed (content)"
  assert_step_miss "RUN cat /a.txt >/copied" "parent step rebuilt"
  assert_eq "$(in_image x 'cat /copied')" "two"
}

@test "cache: touching a file (mtime only) keeps the cache" {
  sbuild -t x "$CTX"
  assert_status 0
  id1=$(cfg x '{{.Id}}')
  touch -d '2001-01-01' "$CTX/a.txt"
  sbuild -t x "$CTX"
  assert_status 0
  assert_step_cached "COPY a.txt /a.txt"
  assert_eq "$(cfg x '{{.Id}}')" "$id1"
}

@test "cache: files unchanged for a while hit without being read (the context memo); a same-size edit with its mtime put back still misses" {
  # the memo keeps only sources whose mtime and ctime are over 2 s old
  sleep 3
  sbuild -t x "$CTX"
  assert_status 0
  # another parent: the COPY's checksum comes from the memo, its cache row
  # is new and must still hold the file list (explained below)
  dockerfile <<'EOF'
FROM busybox
RUN echo second >/first
COPY a.txt /a.txt
RUN cat /a.txt >/copied
ENV A=1
EOF
  sbuild -t x "$CTX"
  assert_status 0
  assert_step_miss "RUN echo second >/first" "instruction changed"
  assert_step_miss "COPY a.txt /a.txt" "parent step rebuilt"
  id1=$(cfg x '{{.Id}}')
  sbuild -t x "$CTX"
  assert_status 0
  assert_step_cached "COPY a.txt /a.txt"
  assert_step_cached "RUN cat /a.txt >/copied"
  assert_eq "$(cfg x '{{.Id}}')" "$id1"
  # same size, same mtime (touch -r): only the ctime tells
  touch -r "$CTX/a.txt" "$BATS_TEST_TMPDIR/ref"
  echo two >"$CTX/a.txt"
  touch -r "$BATS_TEST_TMPDIR/ref" "$CTX/a.txt"
  sbuild -t x "$CTX"
  assert_status 0
  assert_step_cached "RUN echo second >/first"
  assert_step_miss "COPY a.txt /a.txt" "a.txt changed (content)"
  assert_eq "$(in_image x 'cat /copied')" "two"
}

@test "cache: the same files in another context directory hit" {
  sbuild -t x "$CTX"
  assert_status 0
  id1=$(cfg x '{{.Id}}')
  cp -r "$CTX" "$BATS_TEST_TMPDIR/ctx2"
  sbuild -t x "$BATS_TEST_TMPDIR/ctx2"
  assert_status 0
  assert_step_cached "COPY a.txt /a.txt"
  assert_eq "$(cfg x '{{.Id}}')" "$id1"
}

@test "cache: a file's mode change misses" {
  sbuild -t x "$CTX"
  assert_status 0
  chmod 0755 "$CTX/a.txt"
  sbuild -t x "$CTX"
  assert_status 0
  assert_step_miss "COPY a.txt /a.txt" "a.txt changed (mode)"
}

@test "cache: a file added to or removed from a copied directory is named" {
  mkdir "$CTX/d"
  echo 1 >"$CTX/d/keep"
  echo 2 >"$CTX/d/gone"
  dockerfile <<'EOF'
FROM busybox
COPY d /d
EOF
  sbuild -t x "$CTX"
  assert_status 0
  echo 3 >"$CTX/d/new"
  sbuild -t x "$CTX"
  assert_status 0
  assert_step_miss "COPY d /d" "d/new added"
  rm "$CTX/d/gone"
  sbuild -t x "$CTX"
  assert_status 0
  assert_step_miss "COPY d /d" "d/gone removed"
}

@test "cache: a changed --build-arg used by a RUN misses and names it" {
  dockerfile <<'EOF'
FROM busybox
ARG V
RUN echo "$V" >/v
EOF
  sbuild --build-arg V=1 -t x "$CTX"
  assert_status 0
  sbuild --build-arg V=1 -t x "$CTX"
  assert_status 0
  assert_step_cached 'RUN echo "$V" >/v'
  sbuild --build-arg V=2 -t x "$CTX"
  assert_status 0
  assert_step_miss 'RUN echo "$V" >/v' "build arg V changed: 1 -> 2"
  assert_eq "$(in_image x 'cat /v')" "2"
}

@test "cache: --no-cache rebuilds every step" {
  sbuild -t x "$CTX"
  assert_status 0
  sbuild --no-cache -t x "$CTX"
  assert_status 0
  [[ $stderr != *CACHED* ]]
  assert_step_miss "RUN echo first >/first" "--no-cache"
  assert_step_miss "COPY a.txt /a.txt" "--no-cache"
  assert_step_miss "RUN cat /a.txt >/copied" "--no-cache"
}

@test "cache: a changed RUN line misses with the old instruction" {
  sbuild -t x "$CTX"
  assert_status 0
  sed -i 's|RUN echo first >/first|RUN echo FIRST >/first|' "$CTX/Dockerfile"
  sbuild -t x "$CTX"
  assert_status 0
  assert_step_miss "RUN echo FIRST >/first" "instruction changed (was: RUN echo first >/first)"
  assert_step_miss "COPY a.txt /a.txt" "parent step rebuilt"
}

@test "cache: a cached step after a changed one reruns when its parent changed" {
  sbuild -t x "$CTX"
  assert_status 0
  sed -i 's|^ENV A=1|ENV A=2|' "$CTX/Dockerfile"
  sbuild -t x "$CTX"
  assert_status 0
  assert_step_cached "RUN cat /a.txt >/copied"
  assert_eq "$(cfg x '{{json .Config.Env}}')" '["A=2"]'
}

@test "cache: a rebuilt tag leaves the old image dangling; image prune -f removes it" {
  sbuild -t x "$CTX"
  assert_status 0
  old=$(cfg x '{{.Id}}')
  echo two >"$CTX/a.txt"
  sbuild -t x "$CTX"
  assert_status 0
  new=$(cfg x '{{.Id}}')
  [ "$old" != "$new" ]
  run --separate-stderr "$STRATA" images -f dangling=true -q
  assert_status 0
  assert_contains "$output" "$(short_id "$old")"
  [[ $output != *"$(short_id "$new")"* ]]
  run --separate-stderr "$STRATA" image prune -f
  assert_status 0
  assert_contains "$output" "deleted: $old"
  run --separate-stderr "$STRATA" images -f dangling=true -q
  assert_eq "$output" ""
  run --separate-stderr "$STRATA" image inspect "$old"
  assert_failure
  assert_eq "$(in_image x 'cat /copied')" "two"
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

@test "cache: intermediate images of a build are not dangling" {
  sbuild -t x "$CTX"
  assert_status 0
  run --separate-stderr "$STRATA" images -f dangling=true -q
  assert_eq "$output" ""
  run --separate-stderr "$STRATA" image prune -f
  assert_status 0
  sbuild -t x "$CTX"
  assert_status 0
  assert_step_cached "RUN cat /a.txt >/copied"
}

@test "cache: a stage's last image is build cache: hidden, not dangling, kept by image prune, removed by builder prune" {
  dockerfile <<'EOF'
FROM busybox AS gen
RUN echo generated >/gen.txt && echo only-in-the-stage >/big.txt
FROM busybox
COPY --from=gen /gen.txt /gen.txt
EOF
  sbuild -t x "$CTX"
  assert_status 0
  run --separate-stderr "$STRATA" images --format '{{.Repository}}:{{.Tag}}'
  assert_eq "$(printf '%s\n' "$output" | sort)" $'busybox:latest\nx:latest'
  run --separate-stderr "$STRATA" images -f dangling=true -q
  assert_eq "$output" ""
  before=$("$STRATA" images -a -q --no-trunc | sort -u | wc -l)
  # busybox, x, and the stage's RUN image
  assert_eq "$before" 3
  run --separate-stderr "$STRATA" image prune -f
  assert_status 0
  assert_eq "$("$STRATA" images -a -q --no-trunc | sort -u | wc -l)" 3
  sbuild -t x "$CTX"
  assert_status 0
  assert_step_cached "RUN echo generated >/gen.txt && echo only-in-the-stage >/big.txt"

  run --separate-stderr "$STRATA" builder prune -a -f
  assert_status 0
  assert_match "$output" 'Deleted build cache objects: [1-9]'
  [[ $output != *"Total reclaimed space: 0B"* ]]
  assert_eq "$("$STRATA" images -a -q --no-trunc | sort -u | wc -l)" 2
  assert_eq "$(in_image x 'cat /gen.txt')" "generated"
  run --separate-stderr "$STRATA" system check
  assert_status 0
  sbuild -t x "$CTX"
  assert_status 0
  [[ $stderr != *CACHED* ]]
}

@test "cache: an untagged build result is the user's image: listed as dangling, left by builder prune" {
  sbuild -q "$CTX"
  assert_status 0
  id=$output
  run --separate-stderr "$STRATA" images -f dangling=true -q --no-trunc
  assert_eq "$output" "$id"
  run --separate-stderr "$STRATA" builder prune -a -f
  assert_status 0
  run --separate-stderr "$STRATA" image inspect --format '{{.Id}}' "$id"
  assert_status 0
  assert_eq "$output" "$id"
}

@test "cache: a different base image misses the first step" {
  sbuild -t x "$CTX"
  assert_status 0
  "$STRATA" import --change 'ENV NEWBASE=1' "$(busybox_tar)" busybox >/dev/null
  sbuild -t x "$CTX"
  assert_status 0
  assert_step_miss "RUN echo first >/first" "base image changed"
}
