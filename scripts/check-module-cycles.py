#!/usr/bin/env python3
"""Reports import cycles between the modules of a Rust library crate, at every level of its tree.

Usage: scripts/check-module-cycles.py [CRATE_DIR ...]   (default: both services)

A module depends on another when its code names it: `use crate::x`, `use super::x`, `use self::x`, a
child module named by its bare name (`pages::list::index`), or a full path inline (`crate::x::f()`).
`pub use` re-exports count like any other use, so `crate::Settings` re-exported by lib.rs is an edge to
the crate root, and from the root to where it is defined. `mod x;` declarations are not edges.
Comments, string literals and the trailing `#[cfg(test)]` block are ignored (tests may reach anywhere).

At each level (the crate root and its top-level modules; then each folder module and its children) the
modules below each node are folded into that node, and every strongly connected group of two or more
nodes is reported with the lines that make its edges. Exit status 1 when any cycle is found.
"""

import re
import sys
from collections import defaultdict
from pathlib import Path

DEFAULT_CRATES = ["crates/backend-api", "crates/frontend"]
ROOT = ()  # the crate root's module path


def module_path(src: Path, file: Path) -> tuple:
    rel = file.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts == ["lib"]:
        return ROOT
    if parts[-1] == "mod":
        parts.pop()
    return tuple(parts)


def strip_code(text: str) -> str:
    """Blanks comments and string/char literals (keeping line breaks) and drops the trailing tests."""
    cut = re.search(r"^#\[cfg\(test\)\]", text, re.M)
    if cut:
        text = text[: cut.start()]
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:]) and (i == 0 or not text[i - 1].isalnum()):
            hashes = re.match(r"r(#*)\"", text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            j = n if end < 0 else end + 1 + len(hashes)
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j + 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i : i + 4]):
            j = text.find("'", i + 2 if text[i + 1] == "\\" else i + 1) + 1
            out.append("' '")
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def inner_modules(code: str, pos: int) -> int:
    """How many inline `mod x {` blocks or macro bodies (`name! {`) enclose `pos`."""
    stack = []
    for m in re.finditer(r"[{}]", code[:pos]):
        if m.group() == "{":
            stack.append(bool(re.search(r"(\bmod\s+\w+|\w!)\s*$", code[max(0, m.start() - 80) : m.start()])))
        elif stack:
            stack.pop()
    return sum(stack)


def expand_use_tree(tree: str) -> list:
    """`a::{b, c::{d, e}}` -> ["a::b", "a::c::d", "a::c::e"]."""
    tree = re.sub(r"\s+", "", tree)
    depth, start = 0, None
    for k, ch in enumerate(tree):
        if ch == "{":
            if depth == 0:
                start = k
            depth += 1
        elif ch == "}":
            depth -= 1
    if start is None:
        return [tree]
    prefix, inner = tree[:start], tree[start + 1 : tree.rfind("}")]
    items, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    items.append(cur)
    paths = []
    for item in filter(None, items):
        for sub in expand_use_tree(item):
            paths.append(prefix + sub if sub != "self" else prefix.rstrip(":"))
    return paths


class Crate:
    def __init__(self, crate_dir: Path):
        self.src = crate_dir / "src"
        self.name = crate_dir.name
        self.files = {}
        for f in sorted(self.src.rglob("*.rs")):
            if f.name == "main.rs" and f.parent == self.src:
                continue  # the binary is a crate of its own
            self.files[module_path(self.src, f)] = f
        self.modules = set(self.files)
        self.edges = defaultdict(list)  # (from, to) -> [file:line]

    def resolve(self, here: tuple, path: list) -> tuple | None:
        """The deepest module of this crate that `path`, written in module `here`, names."""
        first = path[0]
        if first == "crate":
            base, rest = ROOT, path[1:]
        elif first == "self":
            base, rest = here, path[1:]
        elif first == "super":
            base, rest = here, path
            while rest and rest[0] == "super":
                base, rest = base[:-1], rest[1:]
        elif here + (first,) in self.modules:
            base, rest = here, path
        else:
            return None  # an external crate or a local item
        target = base
        for seg in rest:
            if target + (seg,) in self.modules:
                target = target + (seg,)
            else:
                break
        return target

    def scan(self):
        for here, file in self.files.items():
            code = strip_code(file.read_text())

            def add(path_text, line_no):
                target = self.resolve(here, [s for s in path_text.split("::") if s])
                if target is not None and target != here:
                    where = f"{file.relative_to(self.src.parent)}:{line_no}"
                    if where not in self.edges[(here, target)]:
                        self.edges[(here, target)].append(where)

            use_spans = []
            for m in re.finditer(r"\b(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", code):
                line_no = code.count("\n", 0, m.start()) + 1
                use_spans.append((m.start(), m.end()))
                inner = inner_modules(code, m.start())
                for p in expand_use_tree(m.group(1)):
                    p = re.sub(r"\s+as\s+\w+$", "", p)
                    # `super` inside an inline module (or a macro that makes one, as diesel's table!) is this file.
                    for _ in range(inner):
                        if p.startswith("super::"):
                            p = "self::" + p[len("super::") :]
                    add(p, line_no)
            children = {m[-1] for m in self.modules if m[:-1] == here and len(m) == len(here) + 1}
            heads = ["crate", "super", "self"] + sorted(children)
            pattern = re.compile(r"(?<![\w:])((?:" + "|".join(heads) + r")(?:::\w+)+)")
            for m in pattern.finditer(code):
                if any(a <= m.start() < b for a, b in use_spans):
                    continue
                add(m.group(1), code.count("\n", 0, m.start()) + 1)

    def cycles(self):
        """[(level, [node, ...], [(from, to, evidence)])] for every cycle at every level."""
        found = []
        parents = {ROOT} | {m for m in self.modules if any(o[: len(m)] == m and len(o) > len(m) for o in self.modules)}
        for parent in sorted(parents, key=lambda p: (len(p), p)):
            depth = len(parent)

            def node(m):
                if m[:depth] != parent:
                    return None
                return m[: depth + 1] if len(m) > depth else parent

            graph = defaultdict(set)
            evidence = defaultdict(list)
            for (a, b), where in self.edges.items():
                na, nb = node(a), node(b)
                if na is None or nb is None or na == nb:
                    continue
                graph[na].add(nb)
                evidence[(na, nb)].extend(where)
            for scc in strongly_connected(graph):
                if len(scc) > 1:
                    members = set(scc)
                    links = [
                        (a, b, evidence[(a, b)]) for a in sorted(members) for b in sorted(graph[a]) if b in members
                    ]
                    found.append((parent, sorted(scc), links))
        return found


def strongly_connected(graph):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    nodes = set(graph) | {b for bs in graph.values() for b in bs}

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def name(m: tuple) -> str:
    return "crate" if m == ROOT else "::".join(m)


def main(argv):
    crates = [Path(a) for a in argv] or [Path(c) for c in DEFAULT_CRATES]
    total = 0
    for crate_dir in crates:
        crate = Crate(crate_dir)
        crate.scan()
        top = sorted(m[0] for m in crate.modules if len(m) == 1)
        cycles = crate.cycles()
        total += len(cycles)
        print(f"{crate.name}: {len(top)} top-level modules ({', '.join(top)}), {len(cycles)} cycle(s)")
        for parent, members, links in cycles:
            level = "top level" if parent == ROOT else f"inside {name(parent)}"
            print(f"  cycle {level}: {' <-> '.join(name(m) for m in members)}")
            for a, b, where in links:
                shown = ", ".join(where[:3]) + (f" (+{len(where) - 3})" if len(where) > 3 else "")
                print(f"    {name(a)} -> {name(b)}: {shown}")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
