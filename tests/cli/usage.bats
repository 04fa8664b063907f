#!/usr/bin/env bats
# Usage errors in Docker's words: unknown flags, missing flag arguments.

load helpers

# assert_flag_error STATUS LINE CMD...: `strata CMD...` exits STATUS, prints
# nothing on stdout, exactly LINE then "See 'strata VERB --help'." on
# stderr (VERB being CMD's first word), and does not create the store.
assert_flag_error() {
  local status=$1 line=$2
  shift 2
  run --separate-stderr "$STRATA" "$@"
  assert_status "$status"
  assert_eq "$output" ""
  assert_eq "$stderr" "$line"$'\n'"See 'strata $1 --help'."
  if [ -e "$STRATA_ROOT" ]; then
    echo "a usage error created the store at $STRATA_ROOT"
    return 1
  fi
}

@test "usage: run and create report unknown flags as Docker, status 125" {
  assert_flag_error 125 "unknown flag: --bogus" run --bogus busybox true
  assert_flag_error 125 "unknown flag: --bogus" run --bogus=1 busybox true
  assert_flag_error 125 "unknown shorthand flag: 'Z' in -Z" run -Z busybox
  assert_flag_error 125 "unknown shorthand flag: 'Z' in -Zi" run -Zi busybox
  assert_flag_error 125 "unknown shorthand flag: 'Z' in -Z" run -iZ busybox
  assert_flag_error 125 "unknown flag: --bogus" create --bogus busybox
  assert_flag_error 125 "unknown shorthand flag: 'd' in -d" create -d busybox
  assert_flag_error 125 "unknown flag: --detach" create --detach busybox
}

@test "usage: run and create report a missing flag argument, status 125" {
  assert_flag_error 125 "flag needs an argument: --name" run --name
  assert_flag_error 125 "flag needs an argument: 'e' in -e" run -e
  assert_flag_error 125 "flag needs an argument: 'e' in -e" run -ie
  assert_flag_error 125 "flag needs an argument: --env-file" create --env-file
}

@test "usage: other commands report unknown flags as Docker, status 1" {
  assert_flag_error 1 "unknown flag: --bogus" images --bogus
  assert_flag_error 1 "unknown shorthand flag: 'Z' in -Z" images -Z
  assert_flag_error 1 "unknown shorthand flag: 'Z' in -Zq" images -aZq
  assert_flag_error 1 "unknown flag: --bogus" build --bogus .
  assert_flag_error 1 "unknown shorthand flag: 'Z' in -Z" build -Z .
  assert_flag_error 1 "unknown flag: --bogus" rmi --bogus busybox
  assert_flag_error 1 "unknown shorthand flag: 'Z' in -Z" rmi busybox -Z
  assert_flag_error 1 "unknown flag: --bogus" ps --bogus
  assert_flag_error 1 "unknown shorthand flag: 'Z' in -Z" ps -Z
  assert_flag_error 1 "unknown flag: --bogus" tag --bogus a b
  assert_flag_error 1 "unknown flag: --bogus" stop --bogus x
}

@test "usage: other commands report a missing flag argument, status 1" {
  assert_flag_error 1 "flag needs an argument: --filter" images --filter
  assert_flag_error 1 "flag needs an argument: 'f' in -f" images -f
  assert_flag_error 1 "flag needs an argument: 't' in -t" build . -t
  assert_flag_error 1 "flag needs an argument: --tag" build . --tag
  assert_flag_error 1 "flag needs an argument: 'n' in -n" ps -n
  assert_flag_error 1 "flag needs an argument: --format" ps --format
  assert_flag_error 1 "flag needs an argument: 'o' in -o" save -o
}

@test "usage: group commands report unknown flags as Docker" {
  run --separate-stderr "$STRATA" system df --bogus
  assert_status 1
  assert_eq "$stderr" "unknown flag: --bogus"$'\n'"See 'strata system df --help'."
}

@test "usage: an abbreviated long flag is unknown, as in Docker" {
  assert_flag_error 125 "unknown flag: --nam" run --nam x busybox true
  assert_flag_error 1 "unknown flag: --quie" images --quie
  assert_flag_error 1 "unknown flag: --filt" images --filt=x
}

@test "usage: a flag the command does not have is unknown" {
  run --separate-stderr "$STRATA" image inspect --type container x
  assert_status 1
  assert_eq "$stderr" "unknown flag: --type"$'\n'"See 'strata image inspect --help'."
}

@test "usage: every command's --help lines up its option descriptions in one column" {
  # every help text into a file of its own, then one python checks them all
  local d=$BATS_TEST_TMPDIR/helps n=0
  mkdir -p "$d"
  cmds=$("$STRATA" --help | awk '/^(Management )?Commands:/ {on = 1; next} /^$/ {on = 0} on {print $1}')
  for c in $cmds; do
    subs=$("$STRATA" "$c" --help | awk '/^Commands:/ {on = 1; next} /^$/ {on = 0} on {print $1}')
    for s in "" $subs; do
      n=$((n + 1))
      echo "$c $s" >"$d/$n.name"
      # shellcheck disable=SC2086 # the subcommand is one word or none
      "$STRATA" $c $s --help >"$d/$n.help" || return 1
    done
  done
  [ "$n" -gt 50 ] || {
    echo "only $n help texts found" >&2
    return 1
  }
  python3 - "$d" "$n" <<'PY'
import re, sys
d, n = sys.argv[1], int(sys.argv[2])
bad = 0
for i in range(1, n + 1):
    name = open("%s/%d.name" % (d, i)).read().strip()
    lines = open("%s/%d.help" % (d, i)).read().split("\n")
    if "Options:" not in lines:
        continue
    cols = set()
    for l in lines[lines.index("Options:") + 1:]:
        if not l.strip():
            break
        m = re.match(r"^(  -\S, |      )--\S+( \S+)?( {2,})(\S)", l)
        if m:
            cols.add(m.start(4))
        elif re.match(r"^ {8,}\S", l):
            cols.add(len(l) - len(l.lstrip()))
        else:
            print("%s: unexpected option line: %r" % (name, l))
            bad += 1
            break
    if len(cols) > 1:
        print("%s: descriptions start at columns %s" % (name, sorted(cols)))
        bad += 1
sys.exit(1 if bad else 0)
PY
}
