#!/usr/bin/env bash
# The quick-start demo: makes a busybox base image from Debian's
# busybox-static with `strata import` (no internet needed), then shows the
# image store at work. Uses a throwaway store unless STRATA_ROOT is set.
set -euo pipefail
strata=$(readlink -f "${1:-build/strata}")
root=${STRATA_ROOT:-$(mktemp -d /tmp/strata-demo.XXXXXX)}
export STRATA_ROOT=$root
work=$(mktemp -d /tmp/strata-demo-rootfs.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Each command is shown quoted, so it can be pasted as it is.
step() {
  printf '\n\033[1m$'
  printf ' %q' "$@" | sed "s|$strata|strata|g"
  printf '\033[0m\n'
  "$@"
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

echo "store: $STRATA_ROOT"
step "$strata" import --change 'CMD ["sh"]' "$work/busybox.tar.gz" busybox:latest
step "$strata" images
step "$strata" image inspect --format '{{.Id}} {{.Os}}/{{.Architecture}} cmd={{json .Config.Cmd}} layers={{len .RootFS.Layers}}' busybox
step "$strata" history busybox
# A second name for the same image, then removing only that name.
step "$strata" tag busybox localhost:5000/demo/busybox:v1
step "$strata" images
step "$strata" rmi localhost:5000/demo/busybox:v1
# Re-importing under the same tag moves it: the old image becomes dangling.
step "$strata" import --change 'CMD ["sh"]' --change 'LABEL demo=2' "$work/busybox.tar.gz" busybox:latest
step "$strata" images
step "$strata" images --filter dangling=true
step "$strata" image prune -f
step "$strata" images
step "$strata" system df
step "$strata" system check
# A build: the example's two stages, every step a layer or a config change.
src=$(cd "$(dirname "$0")/../examples/hello" && pwd)
cp -r "$src" "$work/hello"
step "$strata" build --progress=plain -t hello:1.0 "$work/hello"
step "$strata" run --rm hello:1.0
# Nothing changed: every step comes from the cache, the same image ID.
step "$strata" build --progress=plain -t hello:1.0 "$work/hello"
# One source edited: that step misses and says why; the steps after rebuild.
echo "Hello again from a strata build" >"$work/hello/greeting.txt"
step "$strata" build --progress=plain -t hello:1.1 "$work/hello"
step "$strata" run --rm hello:1.1
step "$strata" history hello:1.1
# A Dockerfile whose order defeats the cache: --check says what to change.
step "$strata" build --check -f "$work/hello/Dockerfile.slow-order" "$work/hello" || true
step "$strata" images
# A container: the image's layers read-only under a thin read-write layer.
step "$strata" run --rm --hostname demo busybox sh -c 'echo "hello from $(hostname)"; echo written >/tmp/f; cat /tmp/f; id'
step "$strata" run --rm busybox ls /tmp
