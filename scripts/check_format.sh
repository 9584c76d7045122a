#!/usr/bin/env bash
# scripts/check_format.sh [REPO_ROOT] — every C++ source and header of calib8 is formatted as
# .clang-format says (Google-based, 100 columns; clang-format 14, Debian 12's). Lists each file
# that is not, with the first differences; fix with: clang-format -i --style=file FILE.
# Exit 0: all formatted; 1: some not; 77: no clang-format here (ctest counts it as skipped).
set -uo pipefail
ROOT="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
cd "$ROOT" || exit 1
command -v clang-format >/dev/null || { echo "format: clang-format not installed (scripts/setup.sh installs it)"; exit 77; }
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -- 'src/*.cc' 'src/*.h' 'tools/*.cc' 'tools/*.h' 'include/*.h' \
    'include/*.hpp' 'examples/*.cc' 'fuzz/*.cc' 'bench/*.cc' 'tests/*.cc' 'python/*.cc')
else
  mapfile -t files < <(find src tools include examples fuzz bench tests python \
    \( -name '*.cc' -o -name '*.h' -o -name '*.hpp' \) 2>/dev/null | sort)
fi
bad=0
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  if ! clang-format --style=file "$f" | cmp -s - "$f"; then
    bad=$((bad+1))
    echo "format: $f is not clang-formatted:"
    clang-format --style=file "$f" | diff "$f" - | head -8
  fi
done
if [ $bad -gt 0 ]; then
  echo "format: $bad of ${#files[@]} files differ from clang-format $(clang-format --version | grep -o '[0-9][0-9.]*' | head -1)"
  exit 1
fi
echo "format: ${#files[@]} files, all clang-formatted"
