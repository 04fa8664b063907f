# Shared by every tests/cli/*.bats file (`load helpers`).
#
# $STRATA        the binary under test: $STRATA_BIN (tests/run.sh sets it to
#                BUILD_DIR/strata) or build/strata, made absolute.
# setup()        gives every test a throwaway store: STRATA_ROOT under
#                $BATS_TEST_TMPDIR. A file that needs its own setup() calls
#                strata_setup first.
# busybox_tar    a deterministic busybox rootfs tarball (cached in
#                tests/fixtures/gen/); `busybox_tar gz|xz|zst` for the
#                compressed variants.
# hostile_tar    tarballs that must be refused (see below).
# assert_*       small assertions that print what they expected.

bats_require_minimum_version 1.5.0

REPO_ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
GEN_DIR=$REPO_ROOT/tests/fixtures/gen
BUSYBOX_BIN=${BUSYBOX_BIN:-/bin/busybox}
# Bump when the recipe below changes, so stale cached tarballs are not used.
FIXTURE_RECIPE=1
BUSYBOX_APPLETS="sh ls cat echo true false env id pwd sleep mkdir rm touch wc head grep sed"

STRATA=${STRATA_BIN:-build/strata}
case $STRATA in
/*) ;;
*)
  if [ -e "$PWD/$STRATA" ]; then
    STRATA=$PWD/$STRATA
  else
    STRATA=$REPO_ROOT/$STRATA
  fi
  ;;
esac
export STRATA

strata_setup() {
  export STRATA_ROOT=$BATS_TEST_TMPDIR/root
  export TZ=UTC
  if [ ! -x "$STRATA" ]; then
    echo "strata binary not found or not executable: $STRATA (set STRATA_BIN)" >&2
    return 1
  fi
}

setup() {
  strata_setup
}

# hybrid_cgroups_for_crun: crun refuses a v1/v2 hybrid host while any
# controller is still attached to the v2 hierarchy ("cgroups in hybrid mode
# not supported"), so every such controller gets a v1 hierarchy of its own
# at /sys/fs/cgroup/<controller>, as docs/ARCHITECTURE.md says to do once
# per boot. Nothing is done on a pure v1 or pure v2 host. cgroupfs files report size 0, so
# the controller list is read, never tested with -s. Fails, saying what is
# left, when a controller stays on v2.
hybrid_cgroups_for_crun() {
  local root=/sys/fs/cgroup c left
  [ -e "$root/cgroup.controllers" ] && return 0 # pure v2
  [ -e "$root/unified/cgroup.controllers" ] || return 0 # pure v1
  for c in $(cat "$root/unified/cgroup.controllers"); do
    mountpoint -q "$root/$c" && continue
    mkdir -p "$root/$c" && mount -t cgroup -o "$c" cgroup "$root/$c" || return 1
  done
  left=$(cat "$root/unified/cgroup.controllers")
  if [ -n "$left" ]; then
    echo "hybrid_cgroups_for_crun: still on cgroup v2: $left" >&2
    return 1
  fi
}

# --- assertions -------------------------------------------------------------

# assert_status N: the last `run` exited with N.
assert_status() {
  if [ "$status" -ne "$1" ]; then
    echo "exit status $status, expected $1"
    echo "stdout: $output"
    echo "stderr: ${stderr-}"
    return 1
  fi
}

# assert_failure: the last `run` failed cleanly: a non-zero status that is
# not a crash (signal, sanitizer abort) nor "command not found".
assert_failure() {
  if [ "$status" -eq 0 ] || [ "$status" -ge 126 ]; then
    echo "exit status $status, expected a clean failure (1..125)"
    echo "stdout: $output"
    echo "stderr: ${stderr-}"
    return 1
  fi
}

# assert_eq ACTUAL EXPECTED
assert_eq() {
  if [ "$1" != "$2" ]; then
    echo "expected (| marks line ends):"
    printf '%s\n' "$2" | sed 's/^/  /; s/$/|/'
    echo "actual:"
    printf '%s\n' "$1" | sed 's/^/  /; s/$/|/'
    return 1
  fi
}

# assert_match ACTUAL ERE
assert_match() {
  if ! [[ $1 =~ $2 ]]; then
    echo "expected to match: $2"
    echo "actual: |$1|"
    return 1
  fi
}

# assert_imatch ACTUAL ERE: like assert_match, ignoring case.
assert_imatch() {
  local rc=0
  shopt -s nocasematch
  [[ $1 =~ $2 ]] || rc=1
  shopt -u nocasematch
  if [ "$rc" -ne 0 ]; then
    echo "expected to match (ignoring case): $2"
    echo "actual: |$1|"
    return 1
  fi
}

# assert_contains HAYSTACK NEEDLE
assert_contains() {
  if [[ $1 != *"$2"* ]]; then
    echo "expected to contain: |$2|"
    echo "actual: |$1|"
    return 1
  fi
}

# assert_error_line ERE: the first stderr line is "Error: ..." matching ERE
# (case-insensitive). Checking the first line only keeps a trailing
# "See 'strata tag --help'." from matching by accident.
assert_error_line() {
  local first=${stderr%%$'\n'*}
  assert_match "$first" '^Error: '
  assert_imatch "${first#Error: }" "$1"
}

# assert_json_valid TEXT: TEXT is one JSON document.
assert_json_valid() {
  printf '%s' "$1" | python3 -c 'import json,sys; json.load(sys.stdin)' || {
    echo "not valid JSON: |$1|"
    return 1
  }
}

# The store holds no image and passes its own consistency check.
assert_store_empty_and_clean() {
  run --separate-stderr "$STRATA" images -q
  assert_status 0
  assert_eq "$output" ""
  run --separate-stderr "$STRATA" system check
  assert_status 0
}

# --- strata shortcuts ---------------------------------------------------------

# import_busybox [IMPORT ARGS...] REF: imports the plain busybox tarball and
# prints the image ID ("sha256:<64 hex>"); fails the test otherwise.
import_busybox() {
  local tar id
  tar=$(busybox_tar) || return 1
  local args=("$@")
  local n=${#args[@]}
  # The reference is the last argument; options go before the file.
  if [ "$n" -gt 0 ]; then
    id=$("$STRATA" import "${args[@]:0:n-1}" "$tar" "${args[n - 1]}") || return 1
  else
    id=$("$STRATA" import "$tar") || return 1
  fi
  if ! [[ $id =~ ^sha256:[0-9a-f]{64}$ ]]; then
    echo "import printed |$id|, expected sha256:<64 hex>" >&2
    return 1
  fi
  echo "$id"
}

# short_id sha256:<hex>: the 12-hex form `images` prints.
short_id() {
  local hex=${1#sha256:}
  echo "${hex:0:12}"
}

# --- Docker's formatting, for computing expected output -----------------------

# tabwriter: stdin has tab-separated cells, one row per line; prints them as
# Docker's table writer does (Go text/tabwriter, minwidth 10, padding 3):
# every cell but the last of a line is padded to max(widest cell + 3, 10).
tabwriter() {
  python3 -c '
import sys
rows = [l.rstrip("\n").split("\t") for l in sys.stdin if l != ""]
ncols = max(len(r) for r in rows) - 1
width = [10] * ncols
for r in rows:
    for j, c in enumerate(r[:-1]):
        width[j] = max(width[j], len(c) + 3)
for r in rows:
    print("".join(c.ljust(width[j]) for j, c in enumerate(r[:-1])) + r[-1])
'
}

# docker_size BYTES [PRECISION]: Docker's sizes (decimal units, go-units'
# %.<PRECISION>g). Precision 3 (the default) is `images`' SIZE: 1982371 ->
# 1.98MB, 9140 -> 9.14kB; 4 is HumanSize, what `system df` and prune's
# "Total reclaimed space" print: 12345 -> 12.35kB.
docker_size() {
  python3 -c '
import sys
s, units, i = float(sys.argv[1]), ["B", "kB", "MB", "GB", "TB", "PB"], 0
while s >= 1000 and i < len(units) - 1:
    s /= 1000
    i += 1
print("%.*g%s" % (int(sys.argv[2]), s, units[i]))
' "$1" "${2:-3}"
}

# human_size4 BYTES: go-units HumanSize (4 significant digits).
human_size4() {
  docker_size "$1" 4
}

# tar_content_size TAR: the bytes the unpacked tree holds, Docker's way
# (regular files once per inode plus symlink target lengths; directories
# count 0). Prints "REG REG_PLUS_SYMLINKS" so a test can accept either rule.
tar_content_size() {
  python3 -c '
import sys, tarfile
reg = sym = 0
with tarfile.open(sys.argv[1]) as t:
    for m in t:
        if m.isreg():
            reg += m.size
        elif m.issym():
            sym += len(m.linkname)
print(reg, reg + sym)
' "$1"
}

# The host architecture as Docker (GOARCH) names it.
goarch() {
  case $(uname -m) in
  x86_64) echo amd64 ;;
  aarch64 | arm64) echo arm64 ;;
  armv7l | armv6l) echo arm ;;
  i?86) echo 386 ;;
  ppc64le) echo ppc64le ;;
  s390x) echo s390x ;;
  riscv64) echo riscv64 ;;
  *) uname -m ;;
  esac
}

# --- fixtures -------------------------------------------------------------------

# _publish TMP DEST: moves a finished fixture into place atomically, so a
# concurrent or interrupted run never sees half a file.
_publish() {
  mv -f "$1" "$2"
}

_build_busybox_tar() {
  local out=$1 tmp r a
  [ -x "$BUSYBOX_BIN" ] || {
    echo "$BUSYBOX_BIN missing: apt-get install busybox-static" >&2
    return 1
  }
  mkdir -p "$GEN_DIR" || return 1
  tmp=$(mktemp -d "$GEN_DIR/.busybox.XXXXXX") || return 1
  r=$tmp/rootfs
  mkdir -p "$r/bin" "$r/etc" "$r/tmp" &&
    cp "$BUSYBOX_BIN" "$r/bin/busybox" || {
    rm -rf "$tmp"
    return 1
  }
  for a in $BUSYBOX_APPLETS; do
    ln -s busybox "$r/bin/$a"
  done
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
    'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$r/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$r/etc/group"
  # Fixed modes so neither umask nor the user changes the bytes.
  chmod 0755 "$r/bin" "$r/etc" "$r/bin/busybox"
  chmod 0644 "$r/etc/passwd" "$r/etc/group"
  chmod 1777 "$r/tmp"
  if ! tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    --format=gnu -C "$r" -cf "$tmp/out.tar" bin etc tmp; then
    rm -rf "$tmp"
    return 1
  fi
  _publish "$tmp/out.tar" "$out"
  rm -rf "$tmp"
}

# busybox_tar [tar|gz|xz|zst]: prints the path of the busybox rootfs tarball
# (bin/busybox, bin/sh and common applets as symlinks, etc/passwd,
# etc/group, tmp/ 1777), byte-identical on every run; built once and cached.
busybox_tar() {
  local kind=${1:-tar}
  local base=$GEN_DIR/busybox-r$FIXTURE_RECIPE.tar
  if [ ! -s "$base" ]; then
    _build_busybox_tar "$base" || return 1
  fi
  local out cmd
  case $kind in
  tar | plain)
    echo "$base"
    return 0
    ;;
  gz | gzip) out=$base.gz cmd="gzip -n -9 -c" ;;
  xz) out=$base.xz cmd="xz -T1 -6 -c" ;;
  zst | zstd) out=$base.zst cmd="zstd -q -3 -c" ;;
  *)
    echo "busybox_tar: unknown kind $kind" >&2
    return 1
    ;;
  esac
  if [ ! -s "$out" ]; then
    local tmp
    tmp=$(mktemp "$out.XXXXXX") || return 1
    if ! $cmd <"$base" >"$tmp"; then
      rm -f "$tmp"
      return 1
    fi
    _publish "$tmp" "$out"
  fi
  echo "$out"
}

# hostile_tar KIND: prints the path of a tarball strata must refuse:
#   dotdot        ok/file.txt, then ../evil-dotdot
#   dotdot-nested ok/file.txt, then ok/../../evil-nested
#   absolute      ok/file.txt, then /abs-evil
#   hardlink      ok/file.txt, then evil-link, a hard link to ../x
#   truncated-gz  the busybox .tar.gz cut in half
#   text          a text file (not a tar)
#   random        64 KiB of random bytes (fixed seed)
# Each starts with a good entry, so a half-done import would leave traces.
hostile_tar() {
  local kind=$1 out
  mkdir -p "$GEN_DIR" || return 1
  case $kind in
  truncated-gz)
    out=$GEN_DIR/hostile-r$FIXTURE_RECIPE-truncated.tar.gz
    if [ ! -s "$out" ]; then
      local gz size tmp
      gz=$(busybox_tar gz) || return 1
      size=$(stat -c %s "$gz")
      tmp=$(mktemp "$out.XXXXXX") || return 1
      head -c $((size / 2)) "$gz" >"$tmp" && _publish "$tmp" "$out"
    fi
    ;;
  text)
    out=$GEN_DIR/hostile-r$FIXTURE_RECIPE-notes.txt
    [ -s "$out" ] || printf 'These are notes, not an archive.\nline two\n' >"$out"
    ;;
  dotdot | dotdot-nested | absolute | hardlink | random)
    out=$GEN_DIR/hostile-r$FIXTURE_RECIPE-$kind.tar
    [ "$kind" = random ] && out=$GEN_DIR/hostile-r$FIXTURE_RECIPE-random.bin
    if [ ! -s "$out" ]; then
      local tmp
      tmp=$(mktemp "$out.XXXXXX") || return 1
      python3 - "$kind" "$tmp" <<'EOF' || { rm -f "$tmp"; return 1; }
import io, random, sys, tarfile
kind, path = sys.argv[1], sys.argv[2]
if kind == "random":
    data = random.Random(20240601).randbytes(65536)
    # Never start like a compressed stream or a tar by chance.
    data = b"\x00RND" + data[4:]
    open(path, "wb").write(data)
    sys.exit(0)

def entry(name, typ=tarfile.REGTYPE, data=b"", linkname=""):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.mtime, ti.uid, ti.gid = typ, 0o644, 0, 0, 0
    ti.linkname = linkname
    ti.size = len(data) if typ == tarfile.REGTYPE else 0
    if typ == tarfile.DIRTYPE:
        ti.mode = 0o755
    return ti, io.BytesIO(data) if typ == tarfile.REGTYPE else None

entries = [entry("ok", tarfile.DIRTYPE), entry("ok/file.txt", data=b"fine\n")]
if kind == "dotdot":
    entries.append(entry("../evil-dotdot", data=b"pwned\n"))
elif kind == "dotdot-nested":
    entries.append(entry("ok/../../evil-nested", data=b"pwned\n"))
elif kind == "absolute":
    entries.append(entry("/abs-evil", data=b"pwned\n"))
elif kind == "hardlink":
    entries.append(entry("evil-link", tarfile.LNKTYPE, linkname="../x"))
with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as t:
    for ti, f in entries:
        t.addfile(ti, f)
EOF
      _publish "$tmp" "$out"
    fi
    ;;
  *)
    echo "hostile_tar: unknown kind $kind" >&2
    return 1
    ;;
  esac
  echo "$out"
}

# symlink_escape_tar TARGET_DIR: a tarball (written under $BATS_TEST_TMPDIR)
# whose "escape" entry is a symlink to TARGET_DIR, followed by a file
# "escape/evil-through-symlink": extracting it naively writes into
# TARGET_DIR.
symlink_escape_tar() {
  local target=$1 out=$BATS_TEST_TMPDIR/symlink-escape.tar
  python3 - "$target" "$out" <<'EOF' || return 1
import io, sys, tarfile
target, path = sys.argv[1], sys.argv[2]
with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as t:
    link = tarfile.TarInfo("escape")
    link.type, link.linkname, link.mtime = tarfile.SYMTYPE, target, 0
    t.addfile(link)
    data = b"pwned\n"
    f = tarfile.TarInfo("escape/evil-through-symlink")
    f.size, f.mode, f.mtime = len(data), 0o644, 0
    t.addfile(f, io.BytesIO(data))
EOF
  echo "$out"
}

# table_cells: splits each stdin line of a Docker table on runs of 2+ spaces
# (cells never hold two spaces in a row, padding is at least 3) and prints
# the cells tab-separated.
table_cells() {
  python3 -c '
import re, sys
for line in sys.stdin.read().split("\n"):
    if line:
        print("\t".join(re.split(r" {2,}", line)))
'
}

# assert_table_layout TEXT: TEXT is laid out exactly as Docker's table
# writer would lay out its own cells (no empty cells allowed).
assert_table_layout() {
  local want
  want=$(printf '%s\n' "$1" | table_cells | tabwriter) || return 1
  assert_eq "$1" "$want"
}

# The CREATED column of something made during this test.
CREATED_RECENTLY='^(Less than a second|[0-9]+ seconds?|About a minute) ago$'

# assert_busybox_size SIZE: SIZE is Docker's rendering of the busybox
# layer's content size (files + symlinks, or files alone: both round to the
# same 3 digits for this tarball, but either rule is accepted).
assert_busybox_size() {
  local reg all
  read -r reg all < <(tar_content_size "$(busybox_tar)")
  local a b
  a=$(docker_size "$reg")
  b=$(docker_size "$all")
  assert_match "$1" '^[0-9.]+(B|kB|MB)$'
  if [ "$1" != "$a" ] && [ "$1" != "$b" ]; then
    echo "size |$1|, expected |$a| (files: $reg bytes) or |$b| (files + symlinks: $all bytes)"
    return 1
  fi
}

# containers_setup / containers_teardown: the setup and teardown of a
# file whose tests run containers: a store of the test's own with busybox
# imported (skipped without root), and every container removed after.
containers_setup() {
  strata_setup
  if [ "$(id -u)" != 0 ]; then
    skip "containers need root here"
  fi
  import_busybox busybox >/dev/null
}

# cgroup_file ID CONTROLLER V1FILE V2FILE: the first line of container ID's
# cgroup file on the host (the v1 hierarchy of CONTROLLER, else the unified
# one); fails naming it when neither exists.
cgroup_file() {
  local f
  for f in "/sys/fs/cgroup/$2/strata/$1/$3" "/sys/fs/cgroup/unified/strata/$1/$4" "/sys/fs/cgroup/strata/$1/$4"; do
    if [ -e "$f" ]; then
      head -1 "$f"
      return 0
    fi
  done
  echo "no $3 or $4 for $1" >&2
  return 1
}

containers_teardown() {
  # shellcheck disable=SC2046 # one word per container ID
  "$STRATA" rm -f $("$STRATA" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
}

# erofs_or_skip: skips unless the kernel mounts an EROFS image from a file
# on the file system of $BATS_TEST_TMPDIR (and strata runs as root).
erofs_or_skip() {
  [ "$(id -u)" = 0 ] || skip "erofs mounts need root here"
  local probe=$BATS_TEST_TMPDIR/probe-root
  if ! STRATA_ROOT=$probe STRATA_STORAGE_DRIVER=erofs "$STRATA" import "$(busybox_tar)" probe >/dev/null 2>&1 ||
    ! STRATA_ROOT=$probe STRATA_STORAGE_DRIVER=erofs "$STRATA" run --rm --pull never probe true >/dev/null 2>&1; then
    skip "the kernel cannot mount a file-backed EROFS image here"
  fi
  rm -rf "$probe"
}

# ---- networking tests (network*.bats) ----

NET_APPLETS="sh ls cat echo true false sleep hostname nc httpd wget ip grep sed head tail mkdir seq sort wc timeout readlink"

# net_image [PAGE]: a busybox image "nbb" with the networking applets and
# /www/index.html saying PAGE (default hello-from-web). Debian's busybox
# 1.35 wget crashes with -T: timeouts come from timeout(1).
net_image() {
  local r=$BATS_TEST_TMPDIR/netfs a
  mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/www"
  cp "$BUSYBOX_BIN" "$r/bin/busybox"
  for a in $NET_APPLETS; do ln -s busybox "$r/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
  echo 'root:x:0:' >"$r/etc/group"
  echo "${1:-hello-from-web}" >"$r/www/index.html"
  tar -C "$r" -cf "$BATS_TEST_TMPDIR/net.tar" bin etc tmp www
  "$STRATA" import "$BATS_TEST_TMPDIR/net.tar" nbb >/dev/null
}

# net_setup [PAGE]: a networking file's setup(): the test's store and
# net_image PAGE; skips the test when not root (namespaces, netlink).
net_setup() {
  strata_setup
  if [ "$(id -u)" != 0 ]; then
    skip "networks need root here"
  fi
  net_image "$@"
}

# net_teardown: removes the test's containers, then its own networks (a
# network goes only once no container is on it).
net_teardown() {
  local id n
  for id in $("$STRATA" ps -aq 2>/dev/null); do
    "$STRATA" rm -f "$id" >/dev/null 2>&1 || true
  done
  for n in $("$STRATA" network ls -q --filter type=custom 2>/dev/null); do
    "$STRATA" network rm "$n" >/dev/null 2>&1 || true
  done
}
