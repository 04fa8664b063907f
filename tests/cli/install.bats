#!/usr/bin/env bats
# Getting strata onto a machine as a CLI is expected to: `make install`
# (PREFIX, DESTDIR), bash completion made from the commands' --help, man
# pages made from the same help texts.

load helpers

# complete WORDS...: runs the bash completion for `strata WORDS...` (the
# last word is the one being completed) and prints the candidates sorted.
complete_words() {
  local bindir=$BATS_TEST_TMPDIR/bin
  mkdir -p "$bindir"
  ln -sf "$STRATA" "$bindir/strata"
  PATH=$bindir:$PATH bash -c '
    source <(strata completion bash)
    COMP_WORDS=(strata "$@")
    COMP_CWORD=$#
    _strata
    printf "%s\n" "${COMPREPLY[@]}" | sort
  ' bash "$@"
}

@test "completion bash: commands, group subcommands, flags from --help, image and container names" {
  run --separate-stderr "$STRATA" completion bash
  assert_status 0
  bash -n <<<"$output"
  run complete_words im
  assert_eq "$output" "image
images
import"
  run complete_words image l
  assert_eq "$output" "list
load
ls"
  run complete_words ps --n
  assert_eq "$output" "--no-trunc"
  run complete_words --root /x system df -
  assert_eq "$output" "$(printf '%s\n' --format --help --verbose -h -v | sort)"
  # every flag ps --help lists is offered
  run complete_words ps -
  for f in --all --filter --format --last --latest --no-trunc --quiet --size; do
    assert_contains "$output" "$f"
  done
  import_busybox busybox:latest >/dev/null
  import_busybox other:1 >/dev/null
  run complete_words rmi b
  assert_eq "$output" "busybox:latest"
  if [ "$(id -u)" = 0 ]; then
    "$STRATA" create --name web1 busybox true >/dev/null
    run complete_words logs w
    assert_eq "$output" "web1"
  fi
  run --separate-stderr "$STRATA" completion zsh
  assert_status 1
  assert_contains "$stderr" 'unsupported shell "zsh"'
}
