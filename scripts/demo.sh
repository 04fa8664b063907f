#!/usr/bin/env bash
# The quick-start demo: makes a busybox base image from Debian's
# busybox-static with `strata import` (no internet needed), then shows the
# image store at work and a build: examples/hello (two stages), a warm
# rebuild (every step CACHED), an edit and the miss explained, `build
# --check` on a badly ordered Dockerfile, and the result run.
#
# Every command is printed as it can be pasted into a shell (quoted where
# the shell needs it), after the line that points the shell at the same
# binary and store. The store (unless STRATA_ROOT is set) and the files
# stay in a directory under $TMPDIR or /tmp, named at the end, for trying more.
set -euo pipefail
strata=$(readlink -f "${1:-build/strata}")
demo=$(mktemp -d "${TMPDIR:-/tmp}/strata-demo.XXXXXX")
root=${STRATA_ROOT:-$demo/store}
export STRATA_ROOT=$root
work=$demo

# Bold commands and dim comments on a terminal only, so a saved transcript
# pastes as it is.
bold="" dim="" off=""
if [ -t 1 ]; then
  bold=$'\033[1m' dim=$'\033[2m' off=$'\033[0m'
fi

# q ARG: ARG as a shell reads it back: bare when it has no special
# character, else in single quotes (a quote inside as '\'').
q() {
  if [[ $1 =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
    printf '%s' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}

# step CMD ARGS...: prints the command (strata for the binary), runs it.
step() {
  local a line=""
  for a in "$@"; do
    if [ "$a" = "$strata" ]; then
      line+=" strata"
    else
      line+=" $(q "$a")"
    fi
  done
  printf '\n%s$%s%s\n' "$bold" "$line" "$off"
  "$@"
}

# note TEXT: a comment line, so a pasted transcript stays valid shell.
note() {
  printf '\n%s# %s%s\n' "$dim" "$*" "$off"
}

# A minimal rootfs: busybox and its applets, /etc/passwd, /tmp.
rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,etc,tmp,root}
cp /bin/busybox "$rootfs/bin/busybox"
for a in sh ls cat echo true false env id pwd sleep mkdir rm touch wc head \
         grep sed uname hostname ps; do
  ln -s busybox "$rootfs/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
chmod 1777 "$rootfs/tmp"
tar -C "$rootfs" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
  -czf "$work/busybox.tar.gz" .
rm -rf "$rootfs"

note "to paste the commands below, first:"
printf 'export STRATA_ROOT=%s PATH=%s:"$PATH"\n' "$(q "$STRATA_ROOT")" "$(q "$(dirname "$strata")")"
note "busybox.tar.gz: a busybox rootfs made from Debian's busybox-static in $work"
step "$strata" import --change 'CMD ["sh"]' "$work/busybox.tar.gz" busybox:latest
step "$strata" images
step "$strata" image inspect --format '{{.Id}} {{.Os}}/{{.Architecture}} cmd={{json .Config.Cmd}} layers={{len .RootFS.Layers}}' busybox
step "$strata" history busybox
note "A second name for the same image, then removing only that name."
step "$strata" tag busybox localhost:5000/demo/busybox:v1
step "$strata" images
step "$strata" rmi localhost:5000/demo/busybox:v1
note "Re-importing under the same tag moves it: the old image becomes dangling."
step "$strata" import --change 'CMD ["sh"]' --change 'LABEL demo=2' "$work/busybox.tar.gz" busybox:latest
step "$strata" images
step "$strata" images --filter dangling=true
step "$strata" image prune -f
step "$strata" images
step "$strata" system df
step "$strata" system check
note "A build: the example's two stages, every step a layer or a config change."
src=$(cd "$(dirname "$0")/../examples/hello" && pwd)
step cp -r "$src" "$work/hello"
step cat "$work/hello/Dockerfile"
step "$strata" build --progress=plain -t hello:1.0 "$work/hello"
step "$strata" run --rm hello:1.0
note "Nothing changed: every step comes from the cache, the same image ID."
step "$strata" build --progress=plain -t hello:1.0 "$work/hello"
note "One source edited: that step misses and says why; the steps after rebuild."
step sed -i 's/Hello from/Hello again from/' "$work/hello/greeting.txt"
step "$strata" build --progress=plain -t hello:1.1 "$work/hello"
step "$strata" run --rm hello:1.1
step "$strata" history hello:1.1
note "A Dockerfile whose order defeats the cache: --check says what to change."
step cat "$work/hello/Dockerfile.slow-order"
step "$strata" build --check -f "$work/hello/Dockerfile.slow-order" "$work/hello" || true
step "$strata" images
note "A container: the image's layers read-only under a thin read-write layer."
step "$strata" run --rm --hostname demo busybox sh -c 'echo "hello from $(hostname)"; echo written >/tmp/f; cat /tmp/f; id'
step "$strata" run --rm busybox ls /tmp
if [ "$root" = "$demo/store" ]; then
  note "the store and the files are in $demo: rm -rf $(q "$demo") removes them"
else
  note "the files are in $demo: rm -rf $(q "$demo") removes them (the store $root stays)"
fi
