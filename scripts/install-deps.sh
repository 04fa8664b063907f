#!/usr/bin/env bash
# Installs the Debian packages strata needs, only when some are missing.
#   install-deps.sh build   what building needs
#   install-deps.sh test    + what the tests need (cmocka, bats, podman, ...)
#   install-deps.sh bench   + the peers the benchmarks compare against
#                           (docker.io is optional: bench/build.sh installs
#                           it itself and skips BuildKit without it)
set -eu
build="gcc meson ninja-build pkg-config libarchive-dev libjansson-dev libsqlite3-dev libssl-dev zlib1g-dev libisal-dev libcurl4-openssl-dev libseccomp-dev libmnl-dev libnftables-dev python3 binutils busybox-static"
test="$build libcmocka-dev bats clang clang-format tmux podman skopeo crun runc util-linux e2fsprogs docker-registry openssl apache2-utils python3 xz-utils zstd bzip2 procps valgrind openssh-client"
# the base images of tests/cli/build_realistic.bats (examples/make-bases.sh):
# Python with pip and Python-Markdown, Go, gcc with make and ccache
test="$test python3-pip python3-setuptools python3-wheel python3-markdown golang-go make libc6-dev ccache"
# install.bats renders the generated man pages and runs the zsh and fish
# completion scripts; network.bats plants a stale interface with ip(8)
test="$test man-db groff-base bsdextrautils zsh fish iproute2"
bench="$test hyperfine buildah time"
case "${1:-build}" in
build) pkgs=$build ;;
test) pkgs=$test ;;
bench) pkgs=$bench ;;
*) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "strata: missing packages:$missing; run as root or: sudo apt-get install$missing" >&2
  exit 1
fi
echo "installing:$missing" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq $missing >/dev/null
