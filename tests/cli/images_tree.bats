#!/usr/bin/env bats
# strata images --tree: the store's images as a tree of shared layer chains,
# one line per layer (sha256: + 12 hex of its chain ID, its size), each
# image on its top layer with its shared and unique size. Images are built
# on the local busybox (needs root: RUN starts containers).

load helpers
load build_helpers

setup() {
  build_setup
}

teardown() {
  "$STRATA" rm -f $("$STRATA" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
}

# layers IMG: the image's diff IDs, one a line, bottom first.
layers() {
  "$STRATA" image inspect --format '{{range .RootFS.Layers}}{{println .}}{{end}}' "$1" |
    sed '/^$/d'
}

# chain12 IMG: "sha256:" and 12 hex of the chain ID of the image's top layer.
chain12() {
  local chain="" d
  while read -r d; do
    if [ -z "$chain" ]; then
      chain=$d
    else
      chain=sha256:$(printf '%s %s' "$chain" "$d" | sha256sum | cut -c1-64)
    fi
  done < <(layers "$1")
  echo "sha256:${chain:7:12}"
}

size_of() {
  "$STRATA" images --format '{{.Size}}' "$1" | head -1
}

# node_size LINE: the size column of a tree line.
node_size() {
  local rest=${1#*sha256:* }
  rest=${rest# }
  echo "${rest%%  *}"
}

@test "images --tree: an empty store prints nothing" {
  "$STRATA" rmi busybox >/dev/null
  run --separate-stderr "$STRATA" images --tree
  assert_status 0
  assert_eq "$output" ""
}

@test "images --tree: one image is one line, all of it unique" {
  run --separate-stderr "$STRATA" images --tree
  assert_status 0
  bb=$(size_of busybox)
  assert_eq "$output" "$(chain12 busybox)  $bb  busybox:latest (shared 0B, unique $bb)"
}

@test "images --tree: images built on busybox branch off its layer" {
  echo hi >"$CTX/a.txt"
  printf 'FROM busybox\nCOPY a.txt /a.txt\n' | dockerfile
  sbuild_ok -t demo "$CTX" >/dev/null
  printf 'FROM busybox\nRUN echo hello >/h\n' | dockerfile
  sbuild_ok -t hello:1.0 "$CTX" >/dev/null
  run --separate-stderr "$STRATA" images --tree
  assert_status 0
  [ "${#lines[@]}" -eq 3 ]
  bb=$(size_of busybox)
  assert_eq "${lines[0]}" "$(chain12 busybox)  $bb  busybox:latest (shared $bb, unique 0B)"
  # oldest image first: demo's branch, then hello's
  demo_size=$(node_size "${lines[1]}")
  hello_size=$(node_size "${lines[2]}")
  assert_eq "$demo_size" 3B
  assert_eq "${lines[1]}" "├─ $(chain12 demo)  3B  demo:latest (shared $bb, unique 3B)"
  assert_eq "${lines[2]}" "└─ $(chain12 hello:1.0)  $hello_size  hello:1.0 (shared $bb, unique $hello_size)"
}

@test "images --tree: layers stack under each other, intermediate images only with -a" {
  printf 'FROM busybox\nRUN echo 1 >/one\nRUN echo 2 >/two\n' | dockerfile
  sbuild_ok -t two "$CTX" >/dev/null
  mapfile -t ids < <(layers two)
  [ "${#ids[@]}" -eq 3 ]
  run --separate-stderr "$STRATA" images --tree
  assert_status 0
  bb=$(size_of busybox)
  mid=$(chain12 two)
  [ "${#lines[@]}" -eq 3 ]
  assert_eq "${lines[0]}" "$(chain12 busybox)  $bb  busybox:latest (shared $bb, unique 0B)"
  assert_match "${lines[1]}" '^└─ sha256:[0-9a-f]{12}  2B$'
  assert_eq "${lines[2]}" "   └─ $mid  2B  two:latest (shared $bb, unique 4B)"
  # with -a the first RUN's step image sits on the middle layer, sharing it
  run --separate-stderr "$STRATA" images --tree -a
  assert_status 0
  [ "${#lines[@]}" -eq 3 ]
  assert_match "${lines[1]}" '^└─ sha256:[0-9a-f]{12}  2B  <none> [0-9a-f]{12} \(shared '"$bb"', unique 0B\)$'
  assert_eq "${lines[2]}" "   └─ $mid  2B  two:latest (shared $bb, unique 2B)"
}

@test "images --tree: an image with the same layers shares the node; tags share a line" {
  printf 'FROM busybox\nLABEL a=b\n' | dockerfile
  sbuild_ok -t lab "$CTX" >/dev/null
  "$STRATA" tag busybox mybox:1
  run --separate-stderr "$STRATA" images --tree
  assert_status 0
  bb=$(size_of busybox)
  pad=$(printf '%*s' $((${#bb} + 21)) '')
  assert_eq "$output" "$(chain12 busybox)  $bb  busybox:latest, mybox:1 (shared $bb, unique 0B)
 $pad lab:latest (shared $bb, unique 0B)"
}

@test "images --tree: --no-trunc prints whole chain IDs" {
  run --separate-stderr "$STRATA" images --tree --no-trunc
  assert_status 0
  assert_match "$output" "^$(layers busybox)  "
}

@test "images --tree: refuses -q, --format, --digests, filters" {
  for args in "-q" "--format {{.ID}}" "--digests" "-f dangling=true" "busybox"; do
    run --separate-stderr "$STRATA" images --tree $args
    assert_status 1
    assert_match "$stderr" '^Error: --tree cannot be combined with '
  done
}

@test "images --tree: --help names it" {
  run --separate-stderr "$STRATA" images --help
  assert_status 0
  assert_match "$output" '--tree +Show images as a tree'
}
