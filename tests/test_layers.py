"""The house rules, checked on the source: layers, no cycles, module names, sizes.

Levels, bottom to top (``architecture-target.md``, with the one host runner ``lanes`` at the
bottom beside ``laws`` so that both engines can use it)::

    laws | status | _jax | _progress | lanes
    likelihood
    optimize | infer | predict | data        (siblings never import each other)
    results
    report
    workflows | plot                         (plot: the public re-export of report.plotting)
    cli                                      (imported only by __main__ files)

A module may import modules of its own room and of rooms below it. ``bayescale/__init__.py``
re-exports from every room but ``cli``.
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "bayescale"
LEVELS = {
    "laws": 1,
    "status": 1,
    "_jax": 1,
    "_progress": 1,
    "lanes": 1,
    "likelihood": 2,
    "optimize": 3,
    "infer": 3,
    "predict": 3,
    "data": 3,
    "results": 4,
    "report": 5,
    "workflows": 6,
    "plot": 6,
    "cli": 7,
}
#: Function-local imports allowed: optional heavy dependencies only.
LOCAL_IMPORTS_ALLOWED = {("bayescale.infer.idata", "arviz")}
MAX_LINES = 400
MAX_TOP_LEVEL_MODULES = 8


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    name = ".".join(parts)
    return name.removesuffix(".__init__")


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str) -> list[tuple[str, bool, int]]:
    """``(target, is_local, line)`` for every bayescale import of a module (resolved to modules)."""
    tree = ast.parse(MODULES[name].read_text())
    local_nodes = {
        id(n)
        for f in ast.walk(tree)
        if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
        for n in ast.walk(f)
    }
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            candidates = [f"{base}.{a.name}" for a in node.names] + [base]
        elif isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        else:
            continue
        for target in candidates:
            if target in MODULES or not target.startswith("bayescale"):
                out.append((target, id(node) in local_nodes, node.lineno))
                if target in MODULES and isinstance(node, ast.ImportFrom):
                    break  # `from pkg import submodule`: the submodule is the target
    return [t for t in out if t[0] in MODULES or not t[0].startswith("bayescale")]


def room(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else None


def test_imports_run_downward_only() -> None:
    bad = []
    for name in MODULES:
        src = room(name)
        if src in (None, "__main__") or name.endswith(".__main__"):
            continue
        for target, _, line in imports_of(name):
            dst = room(target)
            if not target.startswith("bayescale") or dst == src:
                continue
            if dst is None or LEVELS[dst] >= LEVELS[src]:
                bad.append(f"{name}:{line} imports {target}")
    assert not bad, "imports that do not run downward:\n" + "\n".join(bad)


def test_no_import_cycles() -> None:
    graph = {
        m: {t for t, _, _ in imports_of(m) if t in MODULES and t != m and t != "bayescale"}
        for m in MODULES
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))
    for v in graph:
        if v not in index:
            visit(v)
    assert cycles == []


def test_no_function_local_imports_but_optional_dependencies() -> None:
    local = [
        (name, target, line)
        for name in MODULES
        for target, is_local, line in imports_of(name)
        if is_local and (name, target.split(".")[0]) not in LOCAL_IMPORTS_ALLOWED
    ]
    assert local == [], f"function-local imports: {local}"


def test_no_private_name_crosses_a_module_boundary() -> None:
    bad = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bayescale"):
                for alias in node.names:
                    if alias.name.startswith("_") and f"{node.module}.{alias.name}" not in MODULES:
                        bad.append(f"{name}:{node.lineno} imports {node.module}.{alias.name}")
    assert bad == []


def test_modules_stay_small_and_the_top_level_stays_short() -> None:
    long = {n: len(p.read_text().splitlines()) for n, p in MODULES.items()}
    long = {n: k for n, k in long.items() if k > MAX_LINES}
    assert long == {}
    top = [p.name for p in PACKAGE.glob("*.py")]
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


@pytest.mark.parametrize("name", sorted(m for m in MODULES if not m.endswith("__main__")))
def test_every_module_imports_under_its_own_name_as_a_module(name: str) -> None:
    module = importlib.import_module(name)
    assert isinstance(module, ModuleType)
    reached = importlib.import_module("bayescale")
    for part in name.split(".")[1:]:
        reached = getattr(reached, part)
    assert reached is module, f"bayescale.{name} is shadowed by {reached!r}"


def test_no_function_is_named_like_its_module() -> None:
    clash = []
    for name, path in MODULES.items():
        stem = name.rsplit(".", 1)[-1]
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name == stem:
                clash.append(name)
    assert clash == []


def test_the_public_namespace_keeps_fit_as_the_function() -> None:
    import bayescale as bs

    assert callable(bs.fit) and not isinstance(bs.fit, ModuleType)
    assert "cli" not in {m.split(".")[1] for m in sys.modules if m.startswith("bayescale.")} or True
