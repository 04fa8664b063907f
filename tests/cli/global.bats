#!/usr/bin/env bats
# Global flags, help and dispatch.

load helpers

# assert_help CMD...: `strata CMD... --help` exits 0, prints a "Usage:" line
# naming the command on stdout, and does not touch the store.
assert_help() {
  run --separate-stderr "$STRATA" "$@" --help
  assert_status 0
  local usage
  usage=$(printf '%s\n' "$output" | grep -m1 '^Usage:') || {
    echo "no Usage: line in: $output"
    return 1
  }
  assert_match "$usage" '^Usage:[[:space:]]+strata '
  # A single-word command names itself; groups (image ls) may print their
  # canonical spelling.
  if [ $# -eq 1 ]; then
    assert_match "$usage" "^Usage:[[:space:]]+strata ([a-z]+ )?$1( |\$)"
  fi
  if [ -e "$STRATA_ROOT" ]; then
    echo "--help created the store at $STRATA_ROOT"
    return 1
  fi
}

@test "global: --version prints the version" {
  version=$(sed -n "s/^ *version: '\([0-9.]*\)'.*/\1/p" "$REPO_ROOT/meson.build")
  [ -n "$version" ]
  run --separate-stderr "$STRATA" --version
  assert_status 0
  assert_match "$output" '^strata version [0-9]+\.[0-9]+\.[0-9]+$'
  assert_eq "$output" "strata version $version"
  run --separate-stderr "$STRATA" -v
  assert_status 0
  assert_eq "$output" "strata version $version"
}

@test "global: --help lists the commands" {
  run --separate-stderr "$STRATA" --help
  assert_status 0
  assert_match "$output" 'Usage:[[:space:]]+strata '
  for cmd in import images tag rmi inspect history; do
    if ! printf '%s\n' "$output" | grep -Eq "^[[:space:]]+([a-z]+ )?$cmd([[:space:]]|\$)"; then
      echo "command $cmd is not listed in: $output"
      return 1
    fi
  done
}

@test "global: no command prints the help" {
  run --separate-stderr "$STRATA"
  assert_status 0
  assert_contains "$output" "Usage:"
}

@test "global: --help on import" { assert_help import; }
@test "global: --help on images" { assert_help images; }
@test "global: --help on image ls" { assert_help image ls; }
@test "global: --help on image list" { assert_help image list; }
@test "global: --help on tag" { assert_help tag; }
@test "global: --help on rmi" { assert_help rmi; }
@test "global: --help on image inspect" { assert_help image inspect; }
@test "global: --help on inspect" { assert_help inspect; }
@test "global: --help on history" { assert_help history; }
@test "global: --help on save" { assert_help save; }
@test "global: --help on load" { assert_help load; }
@test "global: --help on image prune" { assert_help image prune; }
@test "global: --help on system df" { assert_help system df; }
@test "global: --help on system check" { assert_help system check; }

@test "global: GROUP --help and -h print the group's commands" {
  for group in image container system builder; do
    run --separate-stderr "$STRATA" "$group"
    assert_status 0
    want=$output
    assert_contains "$want" "Usage:  strata $group COMMAND"
    for h in --help -h; do
      run --separate-stderr "$STRATA" "$group" "$h"
      assert_status 0
      assert_eq "$stderr" ""
      assert_eq "$output" "$want"
    done
  done
  [ ! -e "$STRATA_ROOT" ]
}

@test "global: help and help CMD print what --help prints" {
  run --separate-stderr "$STRATA" --help
  want=$output
  # every group that has commands is listed as a management command
  mgmt=$(sed -n '/^Management Commands:/,/^$/p' <<<"$output" | awk 'NR > 1 && NF {print $1}' | tr '\n' ' ')
  assert_eq "$mgmt" "builder container image network system volume "
  run --separate-stderr "$STRATA" help
  assert_status 0
  assert_eq "$output" "$want"
  for cmd in images run "image ls" "system df" image; do
    # shellcheck disable=SC2086 # two-word commands split on purpose
    run --separate-stderr "$STRATA" $cmd --help
    assert_status 0
    want=$output
    # shellcheck disable=SC2086
    run --separate-stderr "$STRATA" help $cmd
    assert_status 0
    assert_eq "$stderr" ""
    assert_eq "$output" "$want"
  done
  run --separate-stderr "$STRATA" help frobnicate
  assert_status 1
  assert_contains "$stderr" "frobnicate"
  [ ! -e "$STRATA_ROOT" ]
}

@test "global: -h works like --help" {
  run --separate-stderr "$STRATA" images -h
  assert_status 0
  assert_match "$output" 'Usage:[[:space:]]+strata '
}

@test "global: --root DIR puts the store there and wins over STRATA_ROOT" {
  dir=$BATS_TEST_TMPDIR/elsewhere
  run --separate-stderr "$STRATA" --root "$dir" import "$(busybox_tar)" busybox
  assert_status 0
  id=$output
  [ -d "$dir" ]
  [ -n "$(ls -A "$dir")" ]
  [ ! -e "$STRATA_ROOT" ]
  run --separate-stderr "$STRATA" --root "$dir" images --no-trunc -q
  assert_status 0
  assert_eq "$output" "$id"
  run --separate-stderr "$STRATA" --root="$dir" images --no-trunc -q
  assert_status 0
  assert_eq "$output" "$id"
  # The environment's store is another, empty, store.
  run --separate-stderr "$STRATA" images -q
  assert_status 0
  assert_eq "$output" ""
}

@test "global: STRATA_ROOT selects the store" {
  run --separate-stderr "$STRATA" import "$(busybox_tar)" busybox
  assert_status 0
  id=$output
  [ -n "$(ls -A "$STRATA_ROOT")" ]
  STRATA_ROOT=$BATS_TEST_TMPDIR/other run --separate-stderr "$STRATA" images -q
  assert_status 0
  assert_eq "$output" ""
  run --separate-stderr "$STRATA" images --no-trunc -q
  assert_eq "$output" "$id"
}

@test "global: --log-level accepts debug and rejects nonsense" {
  run --separate-stderr "$STRATA" --log-level debug images -q
  assert_status 0
  run --separate-stderr "$STRATA" --log-level loud images
  assert_failure
  assert_contains "$stderr" "loud"
}

@test "global: an unknown command fails" {
  run --separate-stderr "$STRATA" frobnicate
  assert_failure
  assert_contains "$stderr" "frobnicate"
  [ ! -e "$STRATA_ROOT" ]
}

@test "global: an unknown global flag fails" {
  run --separate-stderr "$STRATA" --bogus images
  assert_failure
  assert_contains "$stderr" "unknown flag"
  assert_contains "$stderr" "--bogus"
}

@test "global: a management command lists its commands sorted by name, as Docker" {
  for g in builder container image network system volume; do
    run --separate-stderr "$STRATA" "$g"
    assert_status 0
    names=$(sed -n '/^Commands:/,/^$/p' <<<"$output" | awk 'NR > 1 && NF {print $1}')
    [ -n "$names" ]
    assert_eq "$names" "$(LC_ALL=C sort <<<"$names")"
  done
}
