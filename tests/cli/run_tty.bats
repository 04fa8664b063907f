#!/usr/bin/env bats
# -t through a real terminal: `strata run -it` and `strata exec -it` in a
# tmux pane of a private tmux server (-L, killed by its own socket at the
# end). Checks the window size, a resize reaching the container (SIGWINCH
# relayed), Ctrl-C interrupting the foreground command and not the shell,
# and `exit N` coming back as strata's exit status.

load helpers

setup() {
  strata_setup
  [ "$(id -u)" = 0 ] || skip "containers need root here"
  command -v tmux >/dev/null || skip "tmux is not installed"
  import_busybox busybox >/dev/null
  SOCK=strata-tty-$$-$BATS_TEST_NUMBER
  OUT=$BATS_TEST_TMPDIR/status
}

teardown() {
  [ -n "${SOCK-}" ] && tmux -L "$SOCK" kill-server 2>/dev/null || true
  "$STRATA" rm -f ttyc >/dev/null 2>&1 || true
}

t() { tmux -L "$SOCK" "$@"; }

# pane: what the pane shows now.
pane() { t capture-pane -p -t s; }

# wait_for ERE: until the pane shows a line matching ERE (10 s).
wait_for() {
  for _ in $(seq 100); do
    pane | grep -Eq "$1" && return 0
    sleep 0.1
  done
  echo "pane never showed /$1/:"
  pane
  return 1
}

# start CMD: a 100x30 session running CMD, then `echo status=$?`.
start() {
  t -f /dev/null new-session -d -s s -x 100 -y 30 \
    "env STRATA_ROOT=$STRATA_ROOT $1; echo status=\$? >$OUT; sleep 30"
}

# A shell in the container: size, resize, Ctrl-C, exit status.
check_shell() {
  wait_for '^/ #'
  t send-keys -t s 'stty size' Enter
  wait_for '^30 100$'
  t resize-window -t s -x 120 -y 40
  sleep 0.3
  t send-keys -t s 'clear; stty size' Enter
  wait_for '^40 120$'
  t send-keys -t s 'sleep 100' Enter
  sleep 0.5
  t send-keys -t s C-c
  # the interactive shell survives; the interrupted command's status
  t send-keys -t s 'echo rc=$?' Enter
  wait_for '^rc=130$'
  t send-keys -t s 'exit 3' Enter
  for _ in $(seq 100); do
    [ -s "$OUT" ] && break
    sleep 0.1
  done
  assert_eq "$(cat "$OUT")" "status=3"
}

@test "tty: run -it: window size, SIGWINCH, Ctrl-C, exit status" {
  start "$STRATA run -it --rm busybox sh"
  check_shell
}

@test "tty: exec -it: window size, SIGWINCH, Ctrl-C, exit status" {
  "$STRATA" run -d --name ttyc busybox sleep 300 >/dev/null
  start "$STRATA exec -it ttyc sh"
  check_shell
}

@test "tty: TERM is set and the shell's stdin is a terminal" {
  start "$STRATA run -it --rm busybox sh -c 'echo term=\$TERM; [ -t 0 ] && echo tty-ok; exit 0'"
  wait_for '^term=xterm'
  wait_for '^tty-ok'
}
