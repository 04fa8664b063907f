#!/usr/bin/env bash
# Soak test: WORKERS processes (default 8) for SECONDS (default 60) on one
# store, each doing random import, tag, rmi, image prune, container prune,
# create, run --rm, commit and save/load. Every command must succeed or fail
# cleanly for a reason the race explains (the image or container was removed
# by another worker, a conflict); anything else (a crash, a mount that finds
# no directory, a corrupt blob, a message without "Error: ") is a failure.
# At the end every container must start (all run `true`) and `system check
# --deep` must pass. tests/cli/soak.bats runs it for 30 s.
#
# Usage: bench/soak.sh [STRATA] [SECONDS] [WORKERS]
# Env:   STRATA_ROOT (default: a temp dir, removed at the end),
#        SOAK_TAR (a rootfs tar with /bin/true; default: built from
#        /bin/busybox), SOAK_LOG (directory for the per-worker logs).
# Exits 0 when nothing unexpected happened, 1 otherwise (the unexpected
# outcomes are printed).
set -u
set -o pipefail

strata=${1:-build/strata}
seconds=${2:-60}
workers=${3:-8}
case $strata in /*) ;; *) strata=$PWD/$strata ;; esac
[ -x "$strata" ] || {
  echo "soak: $strata is not executable" >&2
  exit 2
}
if [ "$(id -u)" != 0 ]; then
  echo "soak: containers need root" >&2
  exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/strata-soak.XXXXXX") || exit 2
own_root=0
if [ -z "${STRATA_ROOT:-}" ]; then
  export STRATA_ROOT=$work/root
  own_root=1
fi
logdir=${SOAK_LOG:-$work/logs}
mkdir -p "$logdir"
cleanup() {
  [ "$own_root" = 1 ] && "$strata" rm -f $("$strata" ps -aq 2>/dev/null) >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

tar=${SOAK_TAR:-}
if [ -z "$tar" ]; then
  r=$work/rootfs
  mkdir -p "$r/bin" "$r/etc" "$r/tmp"
  cp /bin/busybox "$r/bin/busybox" || exit 2
  for a in sh true echo cat; do ln -s busybox "$r/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
  echo 'root:x:0:' >"$r/etc/group"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    -C "$r" -cf "$work/rootfs.tar" bin etc tmp || exit 2
  tar=$work/rootfs.tar
fi
"$strata" import "$tar" soak:base >/dev/null || exit 2

# Failures a race explains: something another worker removed or holds.
expected='No such image|No such container|[Cc]onflict|removed by another command|being started or removed|is using|already in use|No such object|is not running|reference does not exist|not found'

# outcome WORKER OP RC ERRFILE: appends "ok", "clean" or "UNEXPECTED ...".
outcome() {
  local w=$1 op=$2 rc=$3 err=$4 first
  if [ "$rc" -eq 0 ]; then
    echo "$op ok"
    return
  fi
  first=$(grep -m1 '^Error: ' "$err")
  if [ "$rc" -lt 126 ] && [ -n "$first" ] && [[ $first =~ $expected ]] &&
    ! grep -q 'mount overlay\|corrupt\|database' "$err"; then
    echo "$op clean: $first"
  else
    echo "$op UNEXPECTED worker $w exit $rc: $(head -c 600 "$err" | tr '\n' ' ')"
  fi
}

pick() { # pick FILE: a random line of the command's output
  shuf -n1 2>/dev/null
}

worker() {
  local w=$1 end=$2 n=0 op rc ref ctr err=$work/err.$w
  while [ "$SECONDS" -lt "$end" ]; do
    n=$((n + 1))
    ref=$("$strata" images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null |
      grep -v '<none>' | pick)
    [ -n "$ref" ] || ref=soak:base
    rc=0
    case $((RANDOM % 10)) in
    0)
      op=import
      "$strata" import --change "LABEL w=$w n=$n" "$tar" "soak:w$w-$n" \
        >/dev/null 2>"$err" || rc=$?
      ;;
    1)
      op=tag
      "$strata" tag "$ref" "soak:t$w-$n" >/dev/null 2>"$err" || rc=$?
      ;;
    2)
      op=rmi
      [ "$ref" = soak:base ] && ref=soak:t$w-$((n - 1))
      "$strata" rmi "$ref" >/dev/null 2>"$err" || rc=$?
      ;;
    3)
      op=image-prune
      "$strata" image prune -f >/dev/null 2>"$err" || rc=$?
      ;;
    4)
      op=container-prune
      "$strata" container prune -f >/dev/null 2>"$err" || rc=$?
      ;;
    5)
      op=create
      "$strata" create --pull never "$ref" true >/dev/null 2>"$err" || rc=$?
      ;;
    6 | 7)
      op=run-rm
      "$strata" run --rm --pull never "$ref" true >/dev/null 2>"$err" || rc=$?
      ;;
    8)
      op=commit
      ctr=$("$strata" ps -aq 2>/dev/null | pick)
      if [ -z "$ctr" ]; then
        "$strata" create --pull never "$ref" true >/dev/null 2>"$err" || rc=$?
        op=create
      else
        "$strata" commit "$ctr" "soak:c$w-$n" >/dev/null 2>"$err" || rc=$?
      fi
      ;;
    9)
      op=save-load
      if "$strata" save -o "$work/save.$w.tar" "$ref" 2>"$err"; then
        "$strata" load -q -i "$work/save.$w.tar" >/dev/null 2>"$err" || rc=$?
      else
        rc=$?
      fi
      ;;
    esac
    outcome "$w" "$op" "$rc" "$err"
  done >"$logdir/worker.$w"
}

start=$SECONDS
end=$((SECONDS + seconds))
pids=()
for w in $(seq 1 "$workers"); do
  worker "$w" "$end" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
elapsed=$((SECONDS - start))

bad=0
echo "soak: $workers workers, ${elapsed}s"
cat "$logdir"/worker.* | awk '{k=$1" "$2; c[k]++} END {for (k in c) print "  " k, c[k]}' | sort
if grep -h UNEXPECTED "$logdir"/worker.*; then
  bad=1
fi

# Every container starts (they all run `true`).
n_ct=0
for c in $("$strata" ps -aq --no-trunc); do
  n_ct=$((n_ct + 1))
  if ! "$strata" start -a "$c" >/dev/null 2>"$work/start.err"; then
    echo "container $c does not start: $(cat "$work/start.err")"
    bad=1
  fi
done
echo "soak: $n_ct containers left, all started: $([ "$bad" = 0 ] && echo yes || echo no)"
if ! "$strata" system check --deep >"$work/check.out" 2>&1; then
  echo "soak: system check failed:"
  cat "$work/check.out"
  bad=1
else
  grep -v '^$' "$work/check.out"
fi
exit "$bad"
