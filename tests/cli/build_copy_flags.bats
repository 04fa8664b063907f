#!/usr/bin/env bats
# COPY/ADD --exclude: excluded paths are not copied (checked by running
# the built image) and do not count in the cache checksum; the patterns
# themselves are part of the key. Parser cases are in test_dockerfile.c.

load helpers
load build_helpers

setup() {
  build_setup
  mkdir -p "$CTX/src/docs/deep" "$CTX/src/lib"
  echo main >"$CTX/src/main.c"
  echo readme >"$CTX/src/README.md"
  echo notes >"$CTX/src/docs/notes.md"
  echo deep >"$CTX/src/docs/deep/x.md"
  echo keep >"$CTX/src/docs/keep.txt"
  echo lib >"$CTX/src/lib/lib.c"
  echo tmp >"$CTX/src/lib/scratch.tmp"
  echo one >"$CTX/home1.txt"
  echo two >"$CTX/home2.md"
  echo three >"$CTX/home3.c"
}

teardown() {
  "$STRATA" rm -f $("$STRATA" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
}

files_of() {
  timeout -k 5 60 "$STRATA" run --rm --pull never "$1" busybox find "$2" | sort
}

@test "COPY --exclude: patterns relative to a directory source, ** and repeated flags" {
  dockerfile <<'EOF2'
FROM busybox
COPY --exclude=*.md --exclude=**/*.tmp src/ /app/
EOF2
  sbuild -t ex "$CTX"
  assert_status 0
  assert_eq "$(files_of ex /app)" "/app
/app/docs
/app/docs/deep
/app/docs/deep/x.md
/app/docs/keep.txt
/app/docs/notes.md
/app/lib
/app/lib/lib.c
/app/main.c"
  dockerfile <<'EOF2'
FROM busybox
COPY --exclude=**/*.md src /app
EOF2
  sbuild -t ex2 "$CTX"
  assert_status 0
  assert_eq "$(files_of ex2 /app)" "/app
/app/docs
/app/docs/deep
/app/docs/keep.txt
/app/lib
/app/lib/lib.c
/app/lib/scratch.tmp
/app/main.c"
}

@test "COPY --exclude: sources a glob matched are excluded by name; a directory pattern drops the tree" {
  dockerfile <<'EOF2'
FROM busybox
ARG SKIP=*.md
COPY --exclude=$SKIP --exclude=*.c home* /d/
COPY --exclude=docs src/ /s/
EOF2
  sbuild -t ex "$CTX"
  assert_status 0
  assert_eq "$(files_of ex /d)" "/d
/d/home1.txt"
  run --separate-stderr in_image ex 'ls /s'
  assert_eq "$output" "README.md
lib
main.c"
}

@test "COPY --exclude: an excluded file's change keeps the cache; a kept file's change or another pattern misses" {
  dockerfile <<'EOF2'
FROM busybox
COPY --exclude=*.md src/ /app/
EOF2
  sbuild --progress=plain -t ex "$CTX"
  assert_status 0
  echo changed >"$CTX/src/README.md"
  echo new >"$CTX/src/NEW.md"
  sbuild --progress=plain -t ex "$CTX"
  assert_status 0
  assert_contains "$stderr" "CACHED"
  echo changed >"$CTX/src/main.c"
  sbuild --progress=plain -t ex "$CTX"
  assert_status 0
  assert_contains "$stderr" "cache miss"
  assert_eq "$(in_image ex 'cat /app/main.c')" changed
  dockerfile <<'EOF2'
FROM busybox
COPY --exclude=*.md --exclude=lib src/ /app/
EOF2
  sbuild --progress=plain -t ex "$CTX"
  assert_status 0
  [[ $stderr != *CACHED* ]]
  run --separate-stderr in_image ex 'ls /app/lib'
  assert_failure
}

@test "COPY --exclude: an exception pattern is refused with file:line" {
  dockerfile <<'EOF2'
FROM busybox
COPY --exclude=!keep.md src/ /app/
EOF2
  sbuild -t ex "$CTX"
  assert_failure
  assert_contains "$stderr" "Dockerfile:2"
  assert_contains "$stderr" "--exclude=!keep.md"
  run "$STRATA" image inspect ex
  assert_failure
}

@test "COPY --parents: sources keep their directories under dest; /./ sets where they start" {
  mkdir -p "$CTX/x/y/z" "$CTX/w"
  echo a >"$CTX/x/y/a.txt"
  echo b >"$CTX/x/y/z/b.txt"
  echo c >"$CTX/w/c.txt"
  dockerfile <<'EOF2'
FROM busybox
COPY --parents x/y/a.txt ./w/c.txt /p/
COPY --parents x/./y/z /q/
COPY --parents ./x/./y/*.txt /r
COPY --parents --exclude=*.md src/ /s/
COPY x/y/a.txt w/c.txt /flat/
EOF2
  sbuild -t par "$CTX"
  assert_status 0
  assert_eq "$(files_of par /p)" "/p
/p/w
/p/w/c.txt
/p/x
/p/x/y
/p/x/y/a.txt"
  assert_eq "$(files_of par /q)" "/q
/q/y
/q/y/z
/q/y/z/b.txt"
  assert_eq "$(files_of par /r)" "/r
/r/y
/r/y/a.txt"
  assert_eq "$(in_image par 'ls /s/src; cat /p/x/y/a.txt')" "docs
lib
main.c
a"
  assert_eq "$(files_of par /flat)" "/flat
/flat/a.txt
/flat/c.txt"
}

@test "COPY --parents: part of the key, and the same files without it miss" {
  mkdir -p "$CTX/x"
  echo a >"$CTX/x/a.txt"
  dockerfile <<'EOF2'
FROM busybox
COPY x/a.txt /d/
EOF2
  sbuild --progress=plain -t par "$CTX"
  assert_status 0
  dockerfile <<'EOF2'
FROM busybox
COPY --parents x/a.txt /d/
EOF2
  sbuild --progress=plain -t par "$CTX"
  assert_status 0
  [[ $stderr != *CACHED* ]]
  assert_eq "$(in_image par 'cat /d/x/a.txt')" a
  sbuild --progress=plain -t par "$CTX"
  assert_contains "$stderr" "CACHED"
}
