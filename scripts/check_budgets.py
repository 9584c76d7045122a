#!/usr/bin/env python3
"""Checks calib8's size budgets (issue 11; docs/design.md, "Budgets").

- No C++ source or header under src/, tools/, include/, examples/, fuzz/, bench/ over MAX_FILE
  lines (tests included: a test file that long wants splitting by what it tests).
- No function over MAX_FUNCTION lines, counted from the first line of its signature to its closing
  brace. Functions are found as the project writes them: a definition starts at column 0 (inside a
  namespace, which is not indented) and ends at the next `}` at column 0. Member functions defined
  inside a class body are not counted. A data table (a long initializer list) is not a function;
  one that must stay long is marked by a line `// budget: data table` right above it.

Usage: scripts/check_budgets.py [REPO_ROOT]   (exit 0: within budget; 1: the offenders, listed)
"""
import os
import re
import sys

MAX_FILE = 800
MAX_FUNCTION = 100
ROOTS = ["src", "tools", "include", "examples", "fuzz", "bench"]
EXTS = (".cc", ".h", ".hpp", ".cpp")
NOT_A_DEFINITION = re.compile(
    r"(//|/\*|\*|#|}|namespace\b|using\b|struct\b|class\b|enum\b|extern\b|static_assert\b|typedef\b|"
    r"template\s*<[^>]*>\s*(struct|class)\b)")


def functions(lines):
    """Yields (first line, last line, signature) of each top-level function definition."""
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line or line[0].isspace() or NOT_A_DEFINITION.match(line):
            i += 1
            continue
        j = i  # the signature ends at the first line ending in '{' (a definition) or ';'
        while j < len(lines) and j - i < 12 and not lines[j].rstrip().endswith(("{", ";")):
            j += 1
        head = " ".join(lines[i:j + 1])
        if (j >= len(lines) or not lines[j].rstrip().endswith("{") or "(" not in head
                or "=" in head.split("(")[0]):
            i += 1
            continue
        k = j + 1
        while k < len(lines) and not lines[k].startswith("}"):
            k += 1
        table = i > 0 and lines[i - 1].strip() == "// budget: data table"
        if not table:
            yield i + 1, k + 1, line.strip()
        i = k + 1


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))
    errors = []
    files = 0
    for top in ROOTS:
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for name in sorted(names):
                if not name.endswith(EXTS):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root)
                lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
                if lines and lines[-1] == "":
                    lines.pop()
                files += 1
                if len(lines) > MAX_FILE:
                    errors.append(f"{rel}: {len(lines)} lines (budget {MAX_FILE}): split it by concern")
                for first, last, sig in functions(lines):
                    n = last - first + 1
                    if n > MAX_FUNCTION:
                        errors.append(f"{rel}:{first}: function of {n} lines (budget {MAX_FUNCTION}): "
                                      f"{sig[:70]}")
    for e in errors:
        print(e)
    if errors:
        print(f"budgets: {len(errors)} over budget")
        return 1
    print(f"budgets: {files} files, none over {MAX_FILE} lines, no function over {MAX_FUNCTION}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
