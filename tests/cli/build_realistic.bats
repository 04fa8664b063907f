#!/usr/bin/env bats
# Realistic builds: the four example projects under examples/ (a Python app
# with requirements, a Go multi-stage build, a static site, a C build with a
# ccache cache mount), each built on a local base image made from this
# host's Debian packages (examples/make-bases.sh, scripts/mkbase.py), run,
# rebuilt warm (every step CACHED, the same image ID) and rebuilt after an
# edit (the miss explained, the steps before it reused). Then interop with
# podman both ways: a strata build loads and runs in podman with the same
# image ID, and a podman build loads and runs in strata.
#
# The base images are imported once per file into one store shared by the
# tests (their tarballs are cached in tests/fixtures/gen/ across runs);
# every test builds from its own copy of an example.

load helpers
load build_helpers

setup_file() {
  [ "$(id -u)" = 0 ] || skip "builds run containers: they need root here"
  export STRATA_ROOT=$BATS_FILE_TMPDIR/root
  MKBASE_CACHE=$GEN_DIR "$REPO_ROOT/examples/make-bases.sh" "$STRATA" >/dev/null || {
    echo "making the base images failed: run scripts/install-deps.sh test" >&2
    return 1
  }
}

setup() {
  strata_setup
  export STRATA_ROOT=$BATS_FILE_TMPDIR/root
  CTX=$BATS_TEST_TMPDIR/ctx
  mkdir -p "$CTX"
}

# example NAME: a private copy of examples/NAME; prints its path.
example() {
  local dst=$BATS_TEST_TMPDIR/$1
  cp -r "$REPO_ROOT/examples/$1" "$dst" && echo "$dst"
}

# assert_all_cached: the last build ($stderr, plain progress) ran nothing:
# every step that is not a FROM says CACHED and none says why it missed.
assert_all_cached() {
  local steps froms cached
  steps=$(grep -cE '^#[0-9]+ \[[^]]+ [0-9]+/[0-9]+\] ' <<<"$stderr")
  froms=$(grep -cE '^#[0-9]+ \[[^]]+ [0-9]+/[0-9]+\] FROM ' <<<"$stderr")
  cached=$(grep -cE '^#[0-9]+ CACHED$' <<<"$stderr")
  if [ "$cached" -eq 0 ] || [ "$cached" -ne $((steps - froms)) ] ||
    grep -q 'cache miss' <<<"$stderr"; then
    echo "expected all $((steps - froms)) steps CACHED, $cached were:"
    echo "$stderr"
    return 1
  fi
}

# srun ARGS: `strata run --rm --pull never ARGS` (never a registry).
srun() {
  run --separate-stderr timeout -k 5 120 "$STRATA" run --rm --pull never "$@"
}

# --- the base images ---------------------------------------------------------

@test "mkbase: the base images hold the packages' files; a package not installed is refused, naming it, with nothing written" {
  srun local/python:3.11 python3 -c 'import sys, markdown, pip; print(sys.version_info[:2], markdown.__name__, pip.__name__)'
  assert_status 0
  assert_eq "$output" "(3, 11) markdown pip"
  srun local/gcc:12 sh -c 'gcc --version | head -1; make --version | head -1; ccache --version | head -1'
  assert_status 0
  assert_match "$output" '^gcc \(Debian 12[^)]*\) 12\.'
  assert_contains "$output" "GNU Make"
  assert_contains "$output" "ccache version"
  srun local/golang:1.19 go version
  assert_match "$output" "^go version go1\\.19(\\.[0-9]+)? linux/$(goarch)\$"

  run --separate-stderr python3 "$REPO_ROOT/scripts/mkbase.py" "$BATS_TEST_TMPDIR/x.tar" dash no-such-package-zz
  assert_failure
  assert_eq "$stderr" "mkbase: package no-such-package-zz is not installed (apt-get install no-such-package-zz)"
  [ ! -e "$BATS_TEST_TMPDIR/x.tar" ]
  run --separate-stderr python3 "$REPO_ROOT/scripts/mkbase.py" "$BATS_TEST_TMPDIR/x.tar"
  assert_failure
  assert_contains "$stderr" "usage: mkbase.py"
}

# --- Python ----------------------------------------------------------------------

@test "python app: pip installs requirements from local wheels, then the app runs; warm rebuild all CACHED; a code edit reuses the installed packages" {
  ctx=$(example python-app)
  sbuild --progress=plain -t pyapp:1 "$ctx"
  assert_status 0
  assert_contains "$stderr" "Successfully installed greetlib-1.2.0"
  id1=$(cfg pyapp:1 '{{.Id}}')

  srun pyapp:1
  assert_status 0
  assert_eq "$output" $'Hello, world!\ngreetlib 1.2.0'
  # installed by pip where python:3 images put it, run as nobody, and the
  # wheel-building stage left nothing in the final image
  srun pyapp:1 python3 -c 'import greetlib, os; print(greetlib.__file__, os.getuid(), os.path.exists("/wheels"), os.path.exists("/src"))'
  assert_status 0
  assert_eq "$output" "/usr/local/lib/python3.11/dist-packages/greetlib/__init__.py 65534 False False"

  sbuild --progress=plain -t pyapp:1 "$ctx"
  assert_status 0
  assert_all_cached
  assert_eq "$(cfg pyapp:1 '{{.Id}}')" "$id1"

  # an edit to the code: only the last COPY misses, pip does not run again
  sed -i 's/print(greetlib.greet(name))/print(greetlib.greet(name).upper())/' "$ctx/app/__main__.py"
  sbuild --progress=plain -t pyapp:2 "$ctx"
  assert_status 0
  assert_step_miss "COPY app/ ./app/" "app/__main__.py changed (content)"
  assert_step_cached "RUN --mount=type=bind,from=wheels"
  assert_step_cached "COPY requirements.txt ."
  [[ $stderr != *"Successfully installed"* ]]
  srun pyapp:2
  assert_eq "$output" $'HELLO, WORLD!\ngreetlib 1.2.0'

  # a new version of the dependency: the wheel is rebuilt and installed
  sed -i 's/^version = "1.2.0"/version = "1.3.0"/' "$ctx/libs/greetlib/pyproject.toml"
  echo "greetlib==1.3.0" >"$ctx/requirements.txt"
  sbuild --progress=plain -t pyapp:3 "$ctx"
  assert_status 0
  assert_step_miss "COPY libs/ ./libs/" "libs/greetlib/pyproject.toml changed (content)"
  assert_step_miss "COPY requirements.txt ." "requirements.txt changed (content)"
  assert_contains "$stderr" "Successfully installed greetlib-1.3.0"
  srun pyapp:3
  assert_eq "$output" $'HELLO, WORLD!\ngreetlib 1.3.0'
}

# --- Go ----------------------------------------------------------------------------

@test "go app: multi-stage build to a FROM scratch image with the static binary; warm rebuild all CACHED; a source edit and a build arg explained" {
  ctx=$(example go-app)
  sbuild --progress=plain --build-arg VERSION=1.0 -t goapp:1 "$ctx"
  assert_status 0
  assert_contains "$stderr" "go: no module dependencies to download"
  id1=$(cfg goapp:1 '{{.Id}}')

  srun goapp:1
  assert_status 0
  assert_eq "${output%%$'\n'*}" "Hello, world!"
  assert_match "${output#*$'\n'}" '^hello 1\.0 \(go1\.[0-9.]+, linux/'
  srun goapp:1 gopher strata
  assert_status 0
  assert_eq "$(head -2 <<<"$output")" $'Hello, gopher!\nHello, strata!'
  # the final stage is the binary alone: one layer, one file
  assert_eq "$(cfg goapp:1 '{{len .RootFS.Layers}} {{.Config.User}} {{json .Config.Entrypoint}} {{json .Config.Cmd}}')" \
    '1 65534:65534 ["/hello"] ["world"]'
  "$STRATA" save -o "$BATS_TEST_TMPDIR/go.tar" goapp:1
  layer=$(tar -xOf "$BATS_TEST_TMPDIR/go.tar" manifest.json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Layers"][0])')
  tar -xf "$BATS_TEST_TMPDIR/go.tar" -C "$BATS_TEST_TMPDIR" "$layer"
  assert_eq "$(tar -tf "$BATS_TEST_TMPDIR/$layer")" "hello"

  sbuild --progress=plain --build-arg VERSION=1.0 -t goapp:1 "$ctx"
  assert_status 0
  assert_all_cached
  assert_eq "$(cfg goapp:1 '{{.Id}}')" "$id1"

  # a source edit: `go mod download` stays cached, the build reruns
  sed -i 's/"Hello, "/"Hi, "/' "$ctx/internal/greet/greet.go"
  sbuild --progress=plain --build-arg VERSION=1.0 -t goapp:2 "$ctx"
  assert_status 0
  assert_step_cached "RUN go mod download"
  assert_step_miss "COPY . ." "internal/greet/greet.go changed (content)"
  srun goapp:2
  assert_eq "${output%%$'\n'*}" "Hi, world!"

  # a new version number: only the build step misses, and says why
  sbuild --progress=plain --build-arg VERSION=1.1 -t goapp:3 "$ctx"
  assert_status 0
  assert_step_cached "COPY . ."
  assert_step_miss "RUN --mount=type=cache,target=/root/.cache/go-build" "build arg VERSION changed: 1.0 -> 1.1"
  srun goapp:3
  assert_match "${output#*$'\n'}" '^hello 1\.1 '
}

# --- static site -----------------------------------------------------------------

@test "static site: HTML generated in a build stage, served by busybox httpd in the final image; warm rebuild all CACHED; new and edited pages explained" {
  ctx=$(example static-site)
  sbuild --progress=plain -t site:1 "$ctx"
  assert_status 0
  assert_contains "$stderr" "index.html: 2 pages"
  id1=$(cfg site:1 '{{.Id}}')
  assert_eq "$(cfg site:1 '{{json .Config.ExposedPorts}} {{json .Config.Cmd}}')" \
    '{"8080/tcp":{}} ["busybox","httpd","-f","-v","-p","8080","-h","/www"]'

  # serve the files and fetch them over HTTP inside the container
  fetch='busybox httpd -p 127.0.0.1:8080 -h /www && sleep 0.3 &&
    wget -qO- http://127.0.0.1:8080/ && wget -qO- http://127.0.0.1:8080/about.html'
  srun site:1 sh -c "$fetch"
  assert_status 0
  assert_contains "$output" '<li><a href="about.html">About</a></li>'
  assert_contains "$output" '<li><a href="getting-started.html">Getting started</a></li>'
  assert_contains "$output" '<td>busybox httpd and the HTML</td>'
  # no Python, no Markdown sources in what is served
  srun site:1 sh -c 'ls /www; ls /usr/bin/python3 2>&1 || true'
  assert_eq "$(head -3 <<<"$output")" $'about.html\ngetting-started.html\nindex.html'
  assert_contains "$output" "No such file"

  sbuild --progress=plain -t site:1 "$ctx"
  assert_status 0
  assert_all_cached
  assert_eq "$(cfg site:1 '{{.Id}}')" "$id1"

  printf '# News\n\nstrata builds this site.\n' >"$ctx/content/news.md"
  printf '\nEdited.\n' >>"$ctx/content/about.md"
  sbuild --progress=plain -t site:2 "$ctx"
  assert_status 0
  assert_step_cached "COPY tools/ ./tools/"
  assert_step_miss "COPY content/ ./content/" "content/about.md changed (content), content/news.md added"
  assert_contains "$(step_lines "COPY --from=build /public /www")" "public/news.html added"
  srun site:2 sh -c "$fetch"
  assert_contains "$output" '<li><a href="news.html">News</a></li>'
  assert_contains "$output" '<p>Edited.</p>'
}

# --- C with a cache mount ------------------------------------------------------

# ccache_results: the compilation results ccache keeps in the build's cache
# mount, one path per line, sorted.
ccache_results() {
  (cd "$STRATA_ROOT/build-cache" && find . -type f -name '*R' | sort)
}

@test "c app: make with ccache in a cache mount; warm rebuild all CACHED; after a one-file edit the cache mount is reused: 2 hits, 1 miss" {
  ctx=$(example c-app)
  sbuild --progress=plain -t wordcount:1 "$ctx"
  assert_status 0
  assert_match "$stderr" 'Hits: +0 / +3'
  assert_match "$stderr" 'Misses: +3 / +3'
  id1=$(cfg wordcount:1 '{{.Id}}')
  before=$(ccache_results)
  assert_eq "$(wc -l <<<"$before")" 3

  srun wordcount:1 /etc/passwd
  assert_status 0
  assert_eq "$output" "2 lines, 2 words, 82 bytes in /etc/passwd"
  run --separate-stderr bash -c "printf 'one two\nthree\n' | timeout 60 '$STRATA' run --rm -i --pull never wordcount:1"
  assert_eq "$output" "2 lines, 3 words, 14 bytes in stdin"

  sbuild --progress=plain -t wordcount:1 "$ctx"
  assert_status 0
  assert_all_cached
  assert_eq "$(cfg wordcount:1 '{{.Id}}')" "$id1"

  # one file edited: the build step reruns; ccache, kept in the cache
  # mount since the first build, gives the two other objects back
  sed -i 's/%lu lines, %lu words, %lu bytes in %s/%lu lines %lu words %lu bytes: %s/' "$ctx/src/report.c"
  sbuild --progress=plain -t wordcount:2 "$ctx"
  assert_status 0
  assert_step_miss "COPY src/ ./src/" "src/report.c changed (content)"
  assert_step_cached "COPY Makefile ./"
  assert_match "$stderr" 'Hits: +2 / +3'
  assert_match "$stderr" 'Misses: +1 / +3'
  after=$(ccache_results)
  assert_eq "$(wc -l <<<"$after")" 4
  # every result of the first build is still there
  assert_eq "$(comm -23 <(echo "$before") <(echo "$after"))" ""
  srun wordcount:2 /etc/group
  assert_eq "$output" "2 lines 2 words 27 bytes: /etc/group"
  # the cache mount is build cache: system df counts it
  run --separate-stderr "$STRATA" system df --format '{{.Type}} {{.Size}}'
  assert_status 0
  assert_match "$(grep '^Build Cache' <<<"$output")" '^Build Cache [1-9][0-9.]*[kMG]?B$'
}

# --- interop with podman -----------------------------------------------------------

# podman on a private store and private config under the test's directory:
# cgroupfs and file events (no systemd here), rlimits this process tree may
# set, no network. The host's podman store and /etc/containers are not used.
podman_t() {
  CONTAINERS_CONF=$BATS_TEST_TMPDIR/containers.conf \
    podman --root "$BATS_TEST_TMPDIR/podroot" --runroot "$BATS_TEST_TMPDIR/podrun" \
    --storage-driver vfs --cgroup-manager cgroupfs --events-backend file "$@"
}

need_podman() {
  command -v podman >/dev/null 2>&1 || skip "podman is not installed"
  local hn
  hn=$(ulimit -Hn)
  [ "$hn" = unlimited ] && hn=1048576
  cat >"$BATS_TEST_TMPDIR/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$hn:$hn", "nproc=32768:32768"]
netns = "none"
EOF
  hybrid_cgroups_for_crun
}

@test "interop: the realistic builds load in podman with the same image IDs and run there" {
  need_podman
  go=$(example go-app)
  c=$(example c-app)
  sbuild --build-arg VERSION=2.0 -t goapp:interop "$go"
  assert_status 0
  sbuild -t wordcount:interop "$c"
  assert_status 0
  goid=$(cfg goapp:interop '{{.Id}}')
  cid=$(cfg wordcount:interop '{{.Id}}')
  "$STRATA" save -o "$BATS_TEST_TMPDIR/both.tar" goapp:interop wordcount:interop

  run podman_t load -i "$BATS_TEST_TMPDIR/both.tar"
  assert_status 0
  run podman_t images --no-trunc
  assert_status 0
  assert_match "$output" "goapp +interop +$goid "
  assert_match "$output" "wordcount +interop +$cid "

  run podman_t run --rm goapp:interop podman
  assert_status 0
  assert_eq "${output%%$'\n'*}" "Hello, podman!"
  assert_match "$output" $'\nhello 2\\.0 '
  run podman_t run --rm wordcount:interop /etc/passwd
  assert_status 0
  assert_eq "$output" "2 lines, 2 words, 82 bytes in /etc/passwd"
}

@test "interop: an image podman builds on a strata image loads in strata with the same ID and runs" {
  need_podman
  "$STRATA" save -o "$BATS_TEST_TMPDIR/bb.tar" busybox:latest
  podman_t load -q -i "$BATS_TEST_TMPDIR/bb.tar" >/dev/null
  mkdir -p "$BATS_TEST_TMPDIR/pctx"
  cat >"$BATS_TEST_TMPDIR/pctx/Dockerfile" <<'EOF'
FROM busybox
WORKDIR /srv
RUN echo "made by podman" >made.txt
COPY notes.txt .
ENV GREETING=hello
CMD ["sh", "-c", "cat made.txt notes.txt; echo $GREETING"]
EOF
  echo "notes from the context" >"$BATS_TEST_TMPDIR/pctx/notes.txt"
  run podman_t build --pull=never -q -t pbuilt:1 "$BATS_TEST_TMPDIR/pctx"
  assert_status 0
  pid=$(podman_t inspect --format '{{.Id}}' pbuilt:1)
  podman_t save --format docker-archive -o "$BATS_TEST_TMPDIR/pb.tar" pbuilt:1 2>/dev/null

  run --separate-stderr "$STRATA" load -i "$BATS_TEST_TMPDIR/pb.tar"
  assert_status 0
  assert_eq "$output" "Loaded image: localhost/pbuilt:1"
  assert_eq "$(cfg localhost/pbuilt:1 '{{.Id}}')" "sha256:${pid#sha256:}"
  srun localhost/pbuilt:1
  assert_status 0
  assert_eq "$output" $'made by podman\nnotes from the context\nhello'
  # and strata builds on it
  dockerfile <<<'FROM localhost/pbuilt:1
RUN cat /srv/made.txt >/srv/copy.txt'
  sbuild -q -t onpodman "$CTX"
  assert_status 0
  srun onpodman cat /srv/copy.txt
  assert_eq "$output" "made by podman"
}
