#!/usr/bin/env bash
# Crash test: kills strata with SIGKILL at random moments of an import, a
# build, an rmi or a prune, and checks after every kill that the store is consistent
# and that no image lost its data.
#
# Usage: tests/crash/crash.sh [TRIALS] [STRATA]     (default: 50, $STRATA_BIN or build/strata)
# Env:   CRASH_SEED=N   seed for the random choices (printed; timing still varies)
#        CRASH_KEEP=1   keep the work directory (store, logs) at the end
#        CRASH_VERBOSE=1  one line per trial
#
# Each trial runs one operation against a throwaway store, in a cycle:
#   import (file)     a fresh ~8 MB tarball under a new tag
#   import (stdin)    the same, read from a pipe
#   import (moving)   under crash/moving:latest, whose old image goes dangling
#   rmi TAG           one of the tagged images
#   image prune -f    the dangling images
#   image prune -a -f every image
#   build             FROM scratch, COPY of ~6 MB and 200 small files, a
#                     unique COPY, LABEL; tagged crash/built:tN
#   load              a docker-archive of a fresh image (made here, not by
#                     strata) tagged crash/loaded:tN
#   commit            a new image from a container with ~3 MB of changes,
#                     tagged crash/committed:tN
#   run --rm          `run --rm IMG true` of an image imported just before
#                     (not killed), so the kill also lands in the layer's
#                     conversion for the store's backend (erofs file or
#                     unpacked tree)
#   pull              (when docker-registry is installed) an image from a
#                     local registry on 127.0.0.1, removed locally before
#                     each pull so that every pull downloads
# and SIGKILLs it after a random delay between 0 and the operation's median
# uninterrupted duration (microsecond resolution; some finish first).
# Then:
#   - `strata system check` exits 0;
#   - every tag that existed before still points at the same image, except
#     the one the operation targeted (which is either as before or as after
#     the operation; prune -a may remove any);
#   - no image appears that the operation could not have made: an import adds
#     at most one image, and only under its tag (no half-imported image); a
#     build adds untagged step images (its cache) and at most its target tag;
#   - every image `images -a -q` lists passes `image inspect`, and every
#     tagged image streams completely through `strata save` (when save exists);
#   - every container `ps -a` lists passes `inspect`, and the ones a trial
#     left are removed with `rm -f` (which must succeed).
# The store's layer backend is the environment's (STRATA_STORAGE_DRIVER):
# the CLI suite runs this once per backend.
# Prints "crash: N trials, M failures" and exits 1 on any failure.
set -u
set -o pipefail

trials=${1:-50}
strata=${2:-${STRATA:-${STRATA_BIN:-build/strata}}}
case $strata in
/*) ;;
*) strata=$PWD/$strata ;;
esac
if [ ! -x "$strata" ]; then
  echo "crash: strata binary not found: $strata" >&2
  exit 2
fi
case $trials in
'' | *[!0-9]*)
  echo "usage: $0 [TRIALS] [STRATA]" >&2
  exit 2
  ;;
esac

seed=${CRASH_SEED:-$(($(date +%s%N) % 1000000))}
RANDOM=$seed
work=$(mktemp -d "${TMPDIR:-/tmp}/strata-crash.XXXXXX") || exit 2
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  if [ "${CRASH_KEEP:-0}" = 1 ]; then
    echo "crash: kept $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
export STRATA_ROOT=$work/root
unset STRATA_LOG_LEVEL
log=$work/log
: >"$log"

# The kill timer: the operation runs with fd 9 on the write end of this FIFO
# and nothing else holds it, so a read with a timeout on the read end
# returns at EOF the moment the process exits, or times out: the kill moment
# has microsecond resolution, and a finished operation's duration is known.
done_fifo=$work/done
mkfifo "$done_fifo"

now_us() {
  local t=${EPOCHREALTIME/./}
  echo "$((10#$t))"
}

rand() { # rand N: uniform-ish in [0, N)
  echo $(((RANDOM * 32768 + RANDOM) % $1))
}

S() {
  timeout -k 5 120 "$strata" "$@"
}

# --- the tarball ----------------------------------------------------------------
# body.tar: busybox rootfs + 6 MB of random data + 200 small files, without
# the end-of-archive blocks; each trial prepends a small unique member
# (crash-id) so every import writes a new layer blob.
mk_tarballs() {
  local r=$work/rootfs a
  mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/data/small" "$work/uniq" || return 1
  cp "${BUSYBOX_BIN:-/bin/busybox}" "$r/bin/busybox" || return 1
  for a in sh ls cat echo true env; do ln -s busybox "$r/bin/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
  for a in 1 2 3; do head -c 2000000 /dev/urandom >"$r/data/blob$a"; done
  for a in $(seq 200); do echo "small file $a" >"$r/data/small/f$a"; done
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu \
    -C "$r" -cf "$work/full.tar" bin etc tmp data || return 1
  # Strip the trailing zero blocks: cut after the last member's data.
  python3 - "$work/full.tar" "$work/body.tar" <<'EOF' || return 1
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    end = 0
    for m in t:
        end = m.offset_data + ((m.size + 511) // 512) * 512
with open(sys.argv[1], "rb") as f, open(sys.argv[2], "wb") as o:
    o.write(f.read(end))
EOF
  rm -rf "$r" "$work/full.tar"
  # the build context: the same kind of data, and a per-trial crash-id
  mkdir -p "$work/bctx/data/small" || return 1
  for a in 1 2 3; do head -c 2000000 /dev/urandom >"$work/bctx/data/blob$a"; done
  for a in $(seq 200); do echo "small file $a" >"$work/bctx/data/small/f$a"; done
  printf 'FROM scratch\nCOPY data /data\nCOPY crash-id /crash-id\nLABEL crash=1\n' \
    >"$work/bctx/Dockerfile"
}

# build_ctx N: makes the build context unique to trial N, prints its path.
build_ctx() {
  # in data/ too, so the big COPY misses the cache and runs every time
  echo "trial $1 seed $seed" >"$work/bctx/crash-id"
  cp "$work/bctx/crash-id" "$work/bctx/data/crash-id"
  echo "$work/bctx"
}

# trial_head N: prints the path of a small tar member (with end blocks) that
# makes N's tarball unique; the full tarball is body.tar followed by it.
trial_head() {
  echo "trial $1 seed $seed" >"$work/uniq/crash-id"
  tar --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu \
    -C "$work/uniq" -cf "$work/head.tar" crash-id
  echo "$work/head.tar"
}

trial_tar() { # trial_tar N: writes the whole tarball of trial N, prints its path
  local h
  h=$(trial_head "$1") || return 1
  cat "$work/body.tar" "$h" >"$work/trial.tar" && echo "$work/trial.tar"
}

# trial_archive N: a docker-archive (`docker save` layout) of a new image
# whose only layer is trial N's tarball, tagged crash/loaded:tN; prints its
# path. Made with python, not strata, so the archive exists before the kill.
trial_archive() {
  local t
  t=$(trial_tar "$1") || return 1
  python3 - "$t" "$work/trial-archive.tar" "crash/loaded:t$1" <<'EOF' || return 1
import hashlib, io, json, sys, tarfile
layer = open(sys.argv[1], "rb").read()
diff = "sha256:" + hashlib.sha256(layer).hexdigest()
cfg = json.dumps({"architecture": "amd64", "os": "linux",
                  "config": {"Cmd": ["/bin/sh"]},
                  "rootfs": {"type": "layers", "diff_ids": [diff]},
                  "created": "2024-01-01T00:00:00Z"}).encode()
cname = hashlib.sha256(cfg).hexdigest() + ".json"
lname = diff[7:] + "/layer.tar"
man = json.dumps([{"Config": cname, "RepoTags": [sys.argv[3]],
                   "Layers": [lname]}]).encode()
with tarfile.open(sys.argv[2], "w") as out:
    for name, data in ((cname, cfg), (lname, layer), ("manifest.json", man)):
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        out.addfile(ti, io.BytesIO(data))
EOF
  echo "$work/trial-archive.tar"
}

# --- store state -----------------------------------------------------------------
# snapshot PREFIX: PREFIX.tags ("name id" per tag, sorted), PREFIX.ids (every
# image ID, sorted).
snapshot() {
  S images --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}' >"$1.rawtags" 2>>"$log" || return 1
  grep -v '^<none>:<none> ' "$1.rawtags" | LC_ALL=C sort >"$1.tags"
  S images -a -q --no-trunc 2>>"$log" | LC_ALL=C sort -u >"$1.ids" || return 1
}

# makes_image: the trial's operation may add one image, under $target
makes_image() {
  [[ $op == import* || $op == build || $op == load || $op == commit || $op == pull ]]
}

failures=0
fail() {
  failures=$((failures + 1))
  echo "crash: trial $trial ($op, kill after ${delay_us}us, rc $rc): $*" >&2
}

# check_trial: every invariant listed at the top, after one trial.
check_trial() {
  local out
  if ! out=$(S system check 2>&1); then
    fail "system check failed: $out"
  fi
  if ! snapshot "$work/after"; then
    fail "images failed: $(tail -3 "$log")"
    return
  fi
  declare -A before=() after=() before_id=()
  local name id
  while read -r name id; do before[$name]=$id; done <"$work/before.tags"
  while read -r name id; do after[$name]=$id; done <"$work/after.tags"
  while read -r id; do before_id[$id]=1; done <"$work/before.ids"

  # Tags that existed before.
  for name in "${!before[@]}"; do
    if [ "$name" = "$target" ] || [ "$op" = "prune -a" ]; then
      # May be gone (rmi, prune -a) or moved (moving import); checked below.
      if [ -n "${after[$name]:-}" ] && [ "${after[$name]}" != "${before[$name]}" ] &&
        [ "$op" != "import (moving)" ]; then
        fail "tag $name moved from ${before[$name]} to ${after[$name]}"
      fi
    elif [ -z "${after[$name]:-}" ]; then
      fail "tag $name (${before[$name]}) disappeared"
    elif [ "${after[$name]}" != "${before[$name]}" ]; then
      fail "tag $name moved from ${before[$name]} to ${after[$name]}"
    fi
  done
  # New tags: only the import's target.
  for name in "${!after[@]}"; do
    if [ -z "${before[$name]:-}" ] && { [ "$name" != "$target" ] || ! makes_image; }; then
      fail "unexpected new tag $name -> ${after[$name]}"
    fi
  done
  # New images: only an import's, and only under its tag.
  local new=()
  while read -r id; do
    [ -n "${before_id[$id]:-}" ] || new+=("$id")
  done <"$work/after.ids"
  if [ ${#new[@]} -gt 0 ]; then
    if [ "$op" = build ]; then
      # step images are untagged cache; only the target may be tagged
      local nt=0 n2
      for n2 in "${!after[@]}"; do
        [ -n "${before[$n2]:-}" ] || nt=$((nt + 1))
      done
      [ "$nt" -le 1 ] || fail "build left $nt new tags"
    elif ! makes_image; then
      fail "images appeared during $op: ${new[*]}"
    elif [ ${#new[@]} -gt 1 ]; then
      fail "import left ${#new[@]} new images: ${new[*]}"
    elif [ "${after[$target]:-}" != "${new[0]}" ]; then
      fail "half-imported image ${new[0]}: not tagged $target (tag -> ${after[$target]:-none})"
    fi
  fi
  # Every listed image is complete.
  local ids=()
  mapfile -t ids <"$work/after.ids"
  if [ ${#ids[@]} -gt 0 ] && ! out=$(S image inspect "${ids[@]}" 2>&1 >/dev/null); then
    fail "image inspect of a listed image failed: $out"
  fi
  if [ "$have_save" = 1 ] && [ ${#after[@]} -gt 0 ]; then
    local n
    for n in "${!after[@]}"; do
      if ! out=$(S save "$n" 2>&1 >/dev/null); then
        fail "save $n (${after[$n]}) failed: $out"
      fi
    done
  fi
  # Containers: each one listed inspects; what the trial left goes.
  local cts=() c
  mapfile -t cts < <(S ps -a -q --no-trunc 2>>"$log")
  for c in "${cts[@]}"; do
    [ "$c" = "$commit_ct" ] && continue
    if ! out=$(S inspect "$c" 2>&1 >/dev/null); then
      fail "inspect of listed container $c failed: $out"
    elif ! out=$(S rm -f "$c" 2>&1 >/dev/null); then
      fail "rm -f of container $c failed: $out"
    fi
  done
  if [ -n "$commit_ct" ] && ! out=$(S inspect "$commit_ct" 2>&1 >/dev/null); then
    fail "the commit source container is gone: $out"
  fi
  # Import outcomes: finished, killed after its commit, killed before.
  if [[ $op == import* ]]; then
    if [ "$rc" = 0 ]; then
      imp_done=$((imp_done + 1))
    elif [ ${#new[@]} -eq 1 ]; then
      imp_after=$((imp_after + 1))
    else
      imp_before=$((imp_before + 1))
    fi
  fi
}

# --- setup ------------------------------------------------------------------------
t_start=$(now_us)
mk_tarballs || {
  echo "crash: cannot build the test tarball" >&2
  exit 2
}
have_save=0
"$strata" save --help >/dev/null 2>&1 && have_save=1

# Calibrate: time each operation three times, uninterrupted; the median is
# the range of the random kill delay. This leaves a few images in the store.
time_op() { # time_op CMD...: runs it, prints microseconds; fails if it fails
  local t0 t1
  t0=$(now_us)
  "$@" >/dev/null 2>>"$log" || return 1
  t1=$(now_us)
  echo $((t1 - t0))
}
calibrate() {
  local a b c p1 p2 p3 r1 r2 r3
  a=$(time_op "$strata" import "$(trial_tar c1)" crash/base:1) &&
    b=$(time_op "$strata" import "$(trial_tar c2)" crash/moving:latest) &&
    c=$(time_op "$strata" import "$(trial_tar c3)" crash/moving:latest) &&
    p1=$(time_op "$strata" image prune -f) &&
    "$strata" import "$(trial_tar c4)" crash/moving:latest >/dev/null 2>>"$log" &&
    p2=$(time_op "$strata" image prune -f) &&
    p3=$(time_op "$strata" image prune -f) &&
    "$strata" import "$(trial_tar c5)" crash/victim:1 >/dev/null 2>>"$log" &&
    "$strata" tag crash/victim:1 crash/victim:2 >/dev/null 2>>"$log" &&
    "$strata" tag crash/victim:1 crash/victim:3 >/dev/null 2>>"$log" &&
    r1=$(time_op "$strata" rmi crash/victim:3) &&
    r2=$(time_op "$strata" rmi crash/victim:2) &&
    r3=$(time_op "$strata" rmi crash/victim:1) &&
    "$strata" import "$(trial_tar c6)" crash/base:2 >/dev/null 2>>"$log" &&
    b1=$(time_op "$strata" build -q -t crash/built:c1 "$(build_ctx c1)") &&
    b2=$(time_op "$strata" build -q -t crash/built:c2 "$(build_ctx c2)") &&
    b3=$(time_op "$strata" build -q -t crash/built:c3 "$(build_ctx c3)") &&
    l1=$(time_op "$strata" load -q -i "$(trial_archive c7)") &&
    l2=$(time_op "$strata" load -q -i "$(trial_archive c8)") &&
    l3=$(time_op "$strata" load -q -i "$(trial_archive c9)") || return 1
  # the container the commit trials commit: its image is untagged, so no
  # rmi trial can target it, and prune keeps it while the container exists
  local ctimg x
  ctimg=$("$strata" import "$(trial_tar c10)" 2>>"$log") &&
    commit_ct=$("$strata" run -d --pull never --name crash-commit "$ctimg" \
      /bin/busybox sh -c 'head -c 3000000 /dev/urandom >/big; echo x >/f' 2>>"$log") &&
    "$strata" wait "$commit_ct" >/dev/null 2>>"$log" &&
    m1=$(time_op "$strata" commit "$commit_ct" crash/committed:c1) &&
    m2=$(time_op "$strata" commit "$commit_ct" crash/committed:c2) &&
    m3=$(time_op "$strata" commit "$commit_ct" crash/committed:c3) || return 1
  hist_run=()
  for x in 1 2 3; do
    "$strata" import "$(trial_tar "r$x")" crash/runimg:latest >/dev/null 2>>"$log" &&
      hist_run+=("$(time_op "$strata" run --rm --pull never crash/runimg:latest /bin/busybox true)") ||
      return 1
  done
  hist_pull=()
  if [ -n "$pull_ref" ]; then
    for x in 1 2 3; do
      pull_prep
      hist_pull+=("$(time_op "$strata" pull -q "$pull_ref")") || return 1
    done
  fi
  # shellcheck disable=SC2034
  hist_load=("$l1" "$l2" "$l3")
  # shellcheck disable=SC2034
  hist_commit=("$m1" "$m2" "$m3")
  # shellcheck disable=SC2034
  hist_build=("$b1" "$b2" "$b3")
  # shellcheck disable=SC2034 # read through namerefs in estimate/observe
  hist_import=("$a" "$b" "$c")
  # shellcheck disable=SC2034
  hist_prune=("$p1" "$p2" "$p3")
  # shellcheck disable=SC2034
  hist_rmi=("$r1" "$r2" "$r3")
}
# estimate KIND: median of the last 7 uninterrupted durations of KIND (us).
estimate() {
  local -n h=hist_$1
  local n=${#h[@]}
  printf '%s\n' "${h[@]:$((n > 7 ? n - 7 : 0))}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}
# observe KIND US: records an uninterrupted duration.
observe() {
  local -n h=hist_$1
  h+=("$2")
}
# pull trials: one image in a local registry (when docker-registry is
# installed), removed from the store before each pull
commit_ct=
pull_ref=
if command -v docker-registry >/dev/null 2>&1; then
  # shellcheck source=../registry/registry.bash
  . "$(dirname "$0")/../registry/registry.bash"
  if reg_start http "$work/registry" >>"$log" 2>&1; then
    trap 'reg_stop >/dev/null 2>&1; cleanup' EXIT
    pull_ref=$REG/crash/pulled:latest
    if ! { "$strata" import "$(trial_tar p0)" "$pull_ref" >/dev/null &&
      "$strata" push -q "$pull_ref" >/dev/null &&
      "$strata" rmi "$pull_ref" >/dev/null; } 2>>"$log"; then
      echo "crash: cannot push the pull trials' image: $(tail -3 "$log")" >&2
      exit 1
    fi
  else
    echo "crash: no local registry ($(tail -1 "$log")); no pull trials" >&2
  fi
fi
# pull_prep: the pulled image is not in the store
pull_prep() {
  "$strata" rmi -f "$pull_ref" >/dev/null 2>&1
  "$strata" image prune -f >/dev/null 2>&1
  return 0
}
if ! calibrate; then
  echo "crash: calibration failed: $(tail -5 "$log")" >&2
  exit 1
fi
if ! out=$("$strata" system check 2>&1); then
  echo "crash: system check fails before any kill: $out" >&2
  exit 1
fi
echo "crash: seed $seed, $trials trials; uninterrupted: import $(($(estimate import) / 1000)) ms," \
  "rmi $(($(estimate rmi) / 1000)) ms, prune $(($(estimate prune) / 1000)) ms," \
  "build $(($(estimate build) / 1000)) ms, load $(($(estimate load) / 1000)) ms," \
  "commit $(($(estimate commit) / 1000)) ms, run $(($(estimate run) / 1000)) ms," \
  "pull $([ -n "$pull_ref" ] && echo "$(($(estimate pull) / 1000)) ms" || echo off);" \
  "save checks: $([ $have_save = 1 ] && echo on || echo off)"

# --- trials ---------------------------------------------------------------------------
ops=("import (file)" "import (moving)" "image prune -f" "import (stdin)" "rmi"
  "build" "load" "run --rm" "commit" "pull" "import (moving)" "import (file)"
  "image prune -f" "rmi" "build" "load" "run --rm" "commit" "pull" "prune -a")
killed=0 completed=0 imp_done=0 imp_after=0 imp_before=0
for ((trial = 1; trial <= trials; trial++)); do
  op=${ops[$(((trial - 1) % ${#ops[@]}))]}
  [ "$op" = pull ] && [ -z "$pull_ref" ] && op=load
  rc=-
  delay_us=-
  # not killed: what the operation needs first
  case $op in
  "run --rm") "$strata" import "$(trial_tar "$trial")" crash/runimg:latest >/dev/null 2>>"$log" ;;
  pull) pull_prep ;;
  esac
  if ! snapshot "$work/before"; then
    fail "images failed before the trial: $(tail -3 "$log")"
    continue
  fi
  ntags=$(wc -l <"$work/before.tags")
  # Keep the store small: rmi when it holds more than 8 tags.
  [ "$ntags" -gt 8 ] && makes_image && op=rmi
  target=
  case $op in
  "import (file)")
    target=localhost/crash/img:t$trial
    cmd=("$strata" import --change "LABEL trial=$trial" "$(trial_tar "$trial")" "$target")
    kind=import
    ;;
  "import (stdin)")
    target=localhost/crash/img:t$trial
    cmd=("$strata" import -)
    kind=import
    ;;
  "import (moving)")
    target=crash/moving:latest
    cmd=("$strata" import "$(trial_tar "$trial")" "$target")
    kind=import
    ;;
  "image prune -f")
    cmd=("$strata" image prune -f)
    kind=prune
    ;;
  build)
    target=localhost/crash/built:t$trial
    cmd=("$strata" build -q -t "$target" "$(build_ctx "$trial")")
    kind=build
    ;;
  load)
    target=crash/loaded:t$trial
    cmd=("$strata" load -q -i "$(trial_archive "$trial")")
    kind=load
    ;;
  commit)
    target=crash/committed:t$trial
    cmd=("$strata" commit "$commit_ct" "$target")
    kind=commit
    ;;
  "run --rm")
    cmd=("$strata" run --rm --pull never crash/runimg:latest /bin/busybox true)
    kind=run
    ;;
  pull)
    target=$pull_ref
    cmd=("$strata" pull -q "$pull_ref")
    kind=pull
    ;;
  "prune -a")
    cmd=("$strata" image prune -a -f)
    # Deletes every image: give it time for all of them.
    kind=prune_all
    ;;
  rmi)
    mapfile -t names < <(cut -d' ' -f1 "$work/before.tags")
    if [ ${#names[@]} -eq 0 ]; then
      op="image prune -f"
      cmd=("$strata" image prune -f)
      kind=prune
    else
      target=${names[$(rand ${#names[@]})]}
      cmd=("$strata" rmi "$target")
      kind=rmi
    fi
    ;;
  esac
  if [ "$kind" = prune_all ]; then
    dur=$(($(estimate prune) + $(estimate rmi) * ntags))
  else
    dur=$(estimate "$kind")
  fi
  if ! [[ $dur =~ ^[0-9]+$ ]]; then
    echo "crash: internal error: no duration estimate for $kind" >&2
    exit 2
  fi
  [ "$dur" -lt 3000 ] && dur=3000
  delay_us=$(rand $((dur * 5 / 4)))
  delay=$(printf '%d.%06d' $((delay_us / 1000000)) $((delay_us % 1000000)))

  if [ "$op" = "import (stdin)" ]; then
    head_tar=$(trial_head "$trial")
    "${cmd[@]}" "$target" < <(cat "$work/body.tar" "$head_tar") >/dev/null 2>"$work/op.err" 9>"$done_fifo" &
  else
    "${cmd[@]}" >/dev/null 2>"$work/op.err" 9>"$done_fifo" &
  fi
  pid=$!
  exec {done_r}<"$done_fifo"
  t0=$(now_us)
  read -r -t "$delay" -u "$done_r" _
  timer=$?
  t1=$(now_us)
  exec {done_r}<&-
  # > 128: timed out, the process still runs; else it exited by itself.
  [ "$timer" -gt 128 ] && kill -KILL "$pid" 2>/dev/null
  { wait "$pid"; } 2>/dev/null # no "Killed" job notice
  rc=$?
  if [ "$rc" -eq 0 ] && [ "$kind" != prune_all ]; then
    observe "$kind" $((t1 - t0))
  fi
  if [ "$rc" -eq 137 ]; then
    killed=$((killed + 1))
  elif [ "$rc" -eq 0 ]; then
    completed=$((completed + 1))
  else
    fail "exited $rc without being killed: $(head -c 500 "$work/op.err")"
  fi
  check_trial
  [ "${CRASH_VERBOSE:-0}" = 1 ] &&
    echo "trial $trial: $op ${target:+$target }delay ${delay_us}us rc $rc failures $failures"
done

# The store must still work normally afterwards: prune everything, check.
trial=end op="image prune -a -f (after all trials)" rc=- delay_us=-
if ! out=$(S image prune -a -f 2>&1); then
  fail "$out"
elif ! out=$(S system check 2>&1); then
  fail "system check after the final prune: $out"
fi

t_end=$(now_us)
echo "crash: $killed operations killed, $completed finished before the kill; imports:" \
  "$imp_before killed before their commit, $imp_after killed after it, $imp_done finished;" \
  "$(((t_end - t_start) / 1000)) ms"
echo "crash: $trials trials, $failures failures"
if [ "$failures" -gt 0 ]; then
  [ "${CRASH_KEEP:-0}" = 1 ] || echo "crash: rerun with CRASH_SEED=$seed CRASH_KEEP=1 to keep the store" >&2
  exit 1
fi
exit 0
