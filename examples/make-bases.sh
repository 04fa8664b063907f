#!/usr/bin/env bash
# Makes the local base images the examples build on, from Debian packages
# installed on this host (no registry, no network): what python:3.11,
# golang:1.19 and gcc:12 would be, plus busybox for the final stages.
#
#   examples/make-bases.sh [STRATA]     (STRATA defaults to build/strata)
#
# Each rootfs is made by scripts/mkbase.py and imported with
# `strata import`. MKBASE_CACHE=DIR keeps the tarballs there, named by a
# hash of the package versions, so a second call only imports (the tests
# use it). The packages come from `scripts/install-deps.sh test`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mkbase=$here/../scripts/mkbase.py
strata=$(readlink -f "${1:-$here/../build/strata}")
cache=${MKBASE_CACHE:-}
tmp=""
if [ -z "$cache" ]; then
  tmp=$(mktemp -d /tmp/strata-bases.XXXXXX)
  trap 'rm -rf "$tmp"' EXIT
  cache=$tmp
fi
mkdir -p "$cache"

# base NAME PACKAGES [--exclude GLOB]...
base() {
  local name=$1 pkgs=$2 key tar
  shift 2
  # shellcheck disable=SC2086 # a list of package names
  key=$(python3 "$mkbase" "$@" --print-key x $pkgs)
  tar=$cache/base-${name//[:\/]/-}-$key.tar
  # shellcheck disable=SC2086
  [ -s "$tar" ] || python3 "$mkbase" "$@" "$tar" $pkgs
  "$strata" import --change 'CMD ["/bin/sh"]' "$tar" "$name" >/dev/null
  echo "$name"
}

# python:3.11 without Debian's EXTERNALLY-MANAGED marker (the official
# python images do not have it, so `pip install` works as it does there);
# Python-Markdown is the static site's generator.
base local/python:3.11 "python3 python3-pip python3-markdown" \
  --exclude '*/EXTERNALLY-MANAGED'
# golang:1.19 without what `go build` never reads: the compiled commands
# and their sources, the tests, the API files, the tools go vet/pprof use.
base local/golang:1.19 "golang-go" \
  --exclude '*/testdata/*' --exclude '/usr/share/go-1.19/test/*' \
  --exclude '/usr/share/go-1.19/src/cmd/*' --exclude '/usr/share/go-1.19/api/*' \
  --exclude '/usr/lib/go-1.19/pkg/linux_amd64/cmd/*' \
  --exclude '/usr/lib/go-1.19/pkg/tool/linux_amd64/[!acl]*' \
  --exclude '/usr/lib/go-1.19/pkg/tool/linux_amd64/cover'
# gcc:12 with make and ccache, without the sanitizer runtimes and lto-dump.
base local/gcc:12 "gcc libc6-dev make ccache" \
  --exclude '*lto-dump*' --exclude '*/lib*san.so*' --exclude '*/libgprofng*'

# busybox, every applet a link: the final stages' small runtime.
bb=$cache/busybox-$(sha256sum /bin/busybox | cut -c1-16).tar
if [ ! -s "$bb" ]; then
  r=$(mktemp -d "$cache/.busybox.XXXXXX")
  mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/root"
  cp /bin/busybox "$r/bin/busybox"
  for a in $(/bin/busybox --list); do
    [ "$a" = busybox ] || ln -s busybox "$r/bin/$a"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$r/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
  chmod 1777 "$r/tmp"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$r" \
    -cf "$bb.tmp" bin etc root tmp
  mv "$bb.tmp" "$bb"
  rm -rf "$r"
fi
"$strata" import --change 'CMD ["sh"]' "$bb" busybox:latest >/dev/null
echo busybox:latest
