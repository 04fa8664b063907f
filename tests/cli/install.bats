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
  run --separate-stderr "$STRATA" completion tcsh
  assert_status 1
  assert_contains "$stderr" 'unsupported shell "tcsh": bash, zsh and fish are supported'
}

# complete_zsh WORDS...: the zsh completion (bash's through zsh's
# bashcompinit) for `strata WORDS...`, filtered by the last word's prefix
# as zsh's compadd does, sorted.
complete_zsh() {
  local bindir=$BATS_TEST_TMPDIR/bin
  mkdir -p "$bindir"
  ln -sf "$STRATA" "$bindir/strata"
  PATH=$bindir:$PATH HOME=$BATS_TEST_TMPDIR zsh -f -c '
    source <(strata completion zsh)
    COMP_WORDS=(strata "$@")
    COMP_CWORD=$#
    _strata_zsh
    for m in $COMPREPLY; do [[ $m == ${@[-1]}* ]] && print -r -- $m; done | sort
  ' zsh "$@"
}

# complete_fish LINE: fish's completions for the command line LINE, the
# candidates only, sorted.
complete_fish() {
  local bindir=$BATS_TEST_TMPDIR/bin
  mkdir -p "$bindir"
  ln -sf "$STRATA" "$bindir/strata"
  PATH=$bindir:$PATH HOME=$BATS_TEST_TMPDIR fish --no-config -c '
    strata completion fish | source
    complete -C $argv[1] | string replace -r "\t.*" "" | sort
  ' "$1"
}

@test "completion zsh: the bash completion through bashcompinit: commands, subcommands, flags, image names" {
  command -v zsh >/dev/null || skip "zsh is not installed"
  run --separate-stderr "$STRATA" completion zsh
  assert_status 0
  zsh -n <<<"$output"
  run complete_zsh im
  assert_eq "$output" "image
images
import"
  run complete_zsh image l
  assert_eq "$output" "list
load
ls"
  run complete_zsh --root /x system df --
  assert_eq "$output" "$(printf '%s\n' --format --help --verbose | sort)"
  import_busybox busybox:latest >/dev/null
  run complete_zsh rmi b
  assert_eq "$output" "busybox:latest"
}

@test "completion fish: commands with their summaries, subcommands, flags from --help, image names" {
  command -v fish >/dev/null || skip "fish is not installed"
  run --separate-stderr "$STRATA" completion fish
  assert_status 0
  fish --no-config -n <<<"$output"
  run complete_fish "strata im"
  assert_eq "$output" "image
images
import"
  # the summary of `strata --help` describes each command
  run env HOME="$BATS_TEST_TMPDIR" fish --no-config -c "$("$STRATA" completion fish); complete -C 'strata pul'"
  assert_eq "$output" "pull	Download an image from a registry"
  run complete_fish "strata image l"
  assert_eq "$output" "list
load
ls"
  run complete_fish "strata ps --n"
  assert_eq "$output" "--no-trunc"
  run complete_fish "strata --root /x system df --"
  assert_eq "$output" "$(printf '%s\n' --format --help --verbose | sort)"
  import_busybox busybox:latest >/dev/null
  import_busybox other:1 >/dev/null
  run complete_fish "strata rmi b"
  assert_eq "$output" "busybox:latest"
  # more than one image: still offered after the first
  run complete_fish "strata rmi busybox:latest o"
  assert_eq "$output" "other:1"
}

@test "make install: PREFIX and DESTDIR; binary, bash completion and man pages from --help; make uninstall" {
  command -v make >/dev/null || skip "make is not installed"
  dest=$BATS_TEST_TMPDIR/dest
  # -o build: install the binary under test, do not rebuild
  run make -C "$REPO_ROOT" -o build install BUILD="$(dirname "$STRATA")" \
    DESTDIR="$dest" PREFIX=/opt/st
  assert_status 0
  [ -x "$dest/opt/st/bin/strata" ]
  run "$dest/opt/st/bin/strata" --version
  assert_eq "$output" "$("$STRATA" --version)"
  # fish finds its completion in vendor_completions.d
  cmp "$dest/opt/st/share/fish/vendor_completions.d/strata.fish" <("$STRATA" completion fish)
  comp=$dest/opt/st/share/bash-completion/completions/strata
  cmp "$comp" <("$STRATA" completion bash)
  man1=$dest/opt/st/share/man/man1
  [ -f "$man1/strata.1" ] && [ -f "$man1/strata-ps.1" ] &&
    [ -f "$man1/strata-image-ls.1" ] && [ -f "$man1/strata-system-df.1" ]
  # one page per command the help lists
  n=$("$STRATA" --help | sed -n '/^Commands:/,/^$/p' | grep -c '^  [a-z]')
  [ "$(ls "$man1" | grep -Ec '^strata-[a-z]+\.1$')" -ge "$n" ]
  # pages render cleanly and say what --help says
  run groff -man -Tutf8 -ww -z "$man1/strata-ps.1"
  assert_eq "$output" ""
  page=$(MANWIDTH=200 man -l "$man1/strata-ps.1" 2>/dev/null | col -b)
  assert_contains "$page" "strata-ps - List containers"
  assert_contains "$page" "strata ps [OPTIONS]"
  assert_match "$page" $'-s, --size\n[[:space:]]+Display total file sizes'
  # a relative PREFIX is refused with a clear message
  run make -C "$REPO_ROOT" -o build install BUILD="$(dirname "$STRATA")" \
    DESTDIR="$dest" PREFIX=opt
  assert_failure
  assert_contains "$output" "PREFIX must be an absolute path"
  run make -C "$REPO_ROOT" uninstall DESTDIR="$dest" PREFIX=/opt/st
  assert_status 0
  [ -z "$(find "$dest/opt/st" -type f)" ]
}
