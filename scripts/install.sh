#!/bin/sh
# install.sh BINARY DESTDIR PREFIX: what `make install` does.
#   DESTDIR/PREFIX/bin/strata                                the binary
#   DESTDIR/PREFIX/share/bash-completion/completions/strata  `strata completion bash`
#   DESTDIR/PREFIX/share/fish/vendor_completions.d/strata.fish  `... fish`
#   DESTDIR/PREFIX/share/man/man1/strata*.1                   from the --help texts
set -eu
bin=$1 destdir=$2 prefix=$3
if [ ! -x "$bin" ]; then
  echo "install: $bin is not built: run 'make build' first" >&2
  exit 1
fi
case $prefix in
/*) ;;
*)
  echo "install: PREFIX must be an absolute path, not '$prefix'" >&2
  exit 1
  ;;
esac
root=$destdir$prefix
here=$(cd "$(dirname "$0")" && pwd)
install -d "$root/bin" "$root/share/bash-completion/completions" \
  "$root/share/fish/vendor_completions.d" "$root/share/man/man1"
install -m 0755 "$bin" "$root/bin/strata"
"$bin" completion bash >"$root/share/bash-completion/completions/strata"
chmod 0644 "$root/share/bash-completion/completions/strata"
"$bin" completion fish >"$root/share/fish/vendor_completions.d/strata.fish"
chmod 0644 "$root/share/fish/vendor_completions.d/strata.fish"
python3 "$here/gen-man.py" "$bin" "$root/share/man/man1" >/dev/null
echo "installed strata in $root/bin (completion and man pages under $root/share)"
