#!/usr/bin/env python3
"""Checks calib8's module layering (docs/design.md, "Modules").

The declared graph is the one CMake builds: every `calib8_add_library(NAME m ... DEPS ...)` and
`target_link_libraries(calib8_m ... calib8::d ...)` in src/. A source file under src/m/ may
include "m/..." (its own module), "calib8/..." (the public headers) and "d/..." for any module d
that m reaches through its DEPS. Anything else goes up or sideways and fails the check, naming the
file, the line and the module graph edge that is missing. The declared graph must have no cycle.

The public headers (include/calib8/) include only each other and system headers. Those the api
module implements (API_HEADERS) may be used only by api itself, tools/ and examples/: a module
below api that included them would depend on its own client. The library example
(examples/library/) includes nothing of calib8 but the public headers.

Each module's unit tests are one binary that links only that module and its DEPS
(tests/CMakeLists.txt), plus the modules TEST_EXTRA below lists for it, with the reason; the same
extras are linked there (CALIB8_TEST_EXTRA_<module>). tools/calib8 (the CLI) is a client of the public API: it includes
only calib8/ headers and its own option groups, and links only calib8::api.

Usage: scripts/check_layering.py [REPO_ROOT]   (exit 0: clean; 1: violations, listed)
"""
import os
import re
import sys

# A module's *_test.cc / *test_util* files may also include these modules (the INT8 kernel tests
# build sessions through the runtime to compare against FP32, the op tests observe tensors through
# the statistics collector); tests/CMakeLists.txt links the same extras.
TEST_EXTRA = {
    "int8": {"runtime", "table"},
    "ops": {"stats"},
}


# include/calib8/ headers implemented by src/api/ (the rest, status.h, tensor.h, plugin.h, files.h,
# progress.h, are header-only or implemented by core/runtime and usable by every module).
API_HEADERS = {"model.h", "calibrate.h", "table.h", "calib8.h", "table_tools.h", "qdq.h", "plan.h",
               "evaluate.h"}
INCLUDE_RE = re.compile(r'\s*#\s*include\s+"([^"]+)"')


def check_public(root, errors):
    """include/calib8/ and examples/library/ use only public headers."""
    pub = os.path.join(root, "include", "calib8")
    for f in sorted(os.listdir(pub)):
        for n, line in enumerate(open(os.path.join(pub, f), encoding="utf-8"), 1):
            inc = INCLUDE_RE.match(line)
            if inc and not inc.group(1).startswith("calib8/"):
                errors.append(f"include/calib8/{f}:{n}: includes \"{inc.group(1)}\": a public header "
                              f"may include only calib8/ headers and system headers")
    ex = os.path.join(root, "examples", "library")
    for f in sorted(os.listdir(ex)) if os.path.isdir(ex) else []:
        if not f.endswith((".cc", ".h")):
            continue
        for n, line in enumerate(open(os.path.join(ex, f), encoding="utf-8"), 1):
            inc = INCLUDE_RE.match(line)
            if inc and not inc.group(1).startswith("calib8/"):
                errors.append(f"examples/library/{f}:{n}: includes \"{inc.group(1)}\": the library "
                              f"example may use only the public headers (include/calib8/)")


def check_cli(root, errors):
    """tools/calib8 (the CLI) is a client of the public API: it includes only calib8/ headers and
    its own (the option groups commands.h, int8_args.h, table_args.h)."""
    cli = os.path.join(root, "tools", "calib8")
    own = {f for f in os.listdir(cli) if f.endswith(".h")}
    for f in sorted(os.listdir(cli)):
        if not f.endswith((".cc", ".h")):
            continue
        for n, line in enumerate(open(os.path.join(cli, f), encoding="utf-8"), 1):
            inc = INCLUDE_RE.match(line)
            if inc and not inc.group(1).startswith("calib8/") and inc.group(1) not in own:
                errors.append(f"tools/calib8/{f}:{n}: includes \"{inc.group(1)}\": the CLI may use "
                              f"only the public headers (include/calib8/) and its own")


def cmake_calls(text, name):
    """Yields the argument text of every call `name(...)` in a CMake file."""
    for m in re.finditer(r"\b" + name + r"\s*\(", text):
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        yield text[m.end():i - 1]


def declared_graph(root):
    graph = {}
    for dirpath, _, files in os.walk(os.path.join(root, "src")):
        if "CMakeLists.txt" not in files:
            continue
        text = open(os.path.join(dirpath, "CMakeLists.txt")).read()
        text = re.sub(r"#[^\n]*", "", text)
        for args in cmake_calls(text, "calib8_add_library"):
            name = re.search(r"\bNAME\s+(\w+)", args).group(1)
            deps = re.search(r"\bDEPS\b(.*)", args, re.S)
            graph.setdefault(name, set()).update(
                re.findall(r"calib8::(\w+)", deps.group(1) if deps else ""))
        for args in cmake_calls(text, "target_link_libraries"):
            words = args.split()
            m = re.fullmatch(r"calib8_(\w+)", words[0]) if words else None
            if m and m.group(1) in graph:
                graph[m.group(1)].update(re.findall(r"calib8::(\w+)", args))
    return graph


def closure(graph, start):
    seen, todo = set(), list(graph.get(start, ()))
    while todo:
        d = todo.pop()
        if d not in seen:
            seen.add(d)
            todo.extend(graph.get(d, ()))
    return seen


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))
    graph = declared_graph(root)
    errors = []
    for m in sorted(graph):
        if m in closure(graph, m):
            errors.append(f"src/CMakeLists.txt: module '{m}' depends on itself through its DEPS "
                          f"(a cycle in the declared graph)")
    src = os.path.join(root, "src")
    modules = {d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d))}
    for d in sorted(modules - set(graph)):
        errors.append(f"src/{d}/: a source folder with no calib8_add_library(NAME {d} ...): "
                      f"every folder under src/ is one module")
    for mod in sorted(modules & set(graph)):
        allowed = closure(graph, mod) | {mod, "calib8"}
        for f in sorted(os.listdir(os.path.join(src, mod))):
            if not f.endswith((".h", ".cc", ".hpp")):
                continue
            extra = TEST_EXTRA.get(mod, set()) if ("_test" in f or "test_util" in f) else set()
            path = os.path.join(src, mod, f)
            for n, line in enumerate(open(path, encoding="utf-8"), 1):
                pub = re.match(r'\s*#\s*include\s+"calib8/([^"]+)"', line)
                if pub and pub.group(1) in API_HEADERS and mod != "api":
                    errors.append(f"src/{mod}/{f}:{n}: includes \"calib8/{pub.group(1)}\": the public "
                                  f"API header is implemented by module 'api', above '{mod}'")
                    continue
                inc = re.match(r'\s*#\s*include\s+"(\w+)/', line)
                if not inc or inc.group(1) in allowed | extra:
                    continue
                target = inc.group(1)
                if target not in modules and target != "calib8":
                    continue  # not a calib8 module (a third-party path)
                why = ("the reverse edge exists: a cycle" if mod in closure(graph, target)
                       else "not a declared dependency")
                errors.append(f"src/{mod}/{f}:{n}: includes \"{line.strip()[10:-1]}\": module "
                              f"'{mod}' may not use '{target}' ({why}; declared: "
                              f"{', '.join(sorted(closure(graph, mod))) or 'nothing'})")
    check_public(root, errors)
    check_cli(root, errors)
    for e in errors:
        print(e)
    if errors:
        print(f"layering: {len(errors)} violation(s)")
        return 1
    print(f"layering: {len(graph)} modules, every include follows the declared graph")
    return 0


if __name__ == "__main__":
    sys.exit(main())
