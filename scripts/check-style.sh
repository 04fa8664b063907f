#!/usr/bin/env bash
# Style check for the C sources in src/ and tests/unit/:
#   - every file is clang-format clean with the repo's .clang-format;
#   - no banned string functions (sprintf, vsprintf, strcpy, strcat, strtok,
#     strtok_r, gets): use snprintf/asprintf, a length-checked copy, or st_buf.
# Lists every offender and exits 1 when there is one; 0 when clean.
set -u
cd "$(dirname "$0")/.." || exit 2

if ! command -v clang-format >/dev/null 2>&1; then
  echo "check-style: clang-format is not installed (apt-get install clang-format)" >&2
  exit 2
fi

files=()
while IFS= read -r -d '' f; do
  files+=("$f")
done < <(find src tests/unit tools -type f \( -name '*.c' -o -name '*.h' \) -print0 2>/dev/null | LC_ALL=C sort -z)

if [ "${#files[@]}" -eq 0 ]; then
  echo "check-style: no C files under src/ or tests/unit/" >&2
  exit 1
fi

bad=0

unformatted=()
for f in "${files[@]}"; do
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    unformatted+=("$f")
  fi
done
if [ "${#unformatted[@]}" -gt 0 ]; then
  bad=1
  echo "check-style: not clang-format clean (fix with: clang-format -i FILE):"
  for f in "${unformatted[@]}"; do
    echo "  $f"
    # The first few places, so the reason is visible in CI logs.
    clang-format --dry-run "$f" 2>&1 | grep -m 3 'warning:' | sed 's/^/    /'
  done
fi

# Banned calls, ignoring comments and string literals (blanked out with
# their newlines kept, so the reported line numbers are right).
banned='\b(sprintf|vsprintf|strcpy|strcat|strtok|strtok_r|gets)\s*\('
hits=$(perl -0777 -ne '
  my $src = $_;
  $src =~ s{(/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|'"'"'(?:\\.|[^'"'"'\\\n])*'"'"')}
           { my $m = $1; $m =~ s/[^\n]/ /g; $m }gse;
  my $n = 0;
  for my $line (split /\n/, $src, -1) {
    $n++;
    while ($line =~ /'"$banned"'/g) {
      print "$ARGV:$n: $1() is banned\n";
    }
  }
' "${files[@]}")
if [ -n "$hits" ]; then
  bad=1
  echo "check-style: banned functions (use snprintf/asprintf, st_buf, strtok-free parsing):"
  printf '%s\n' "$hits" | sed 's/^/  /'
fi

if [ "$bad" -ne 0 ]; then
  exit 1
fi
echo "check-style: ${#files[@]} files clean"
exit 0
