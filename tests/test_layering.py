"""The import graph of lrbench, between packages: each arrow of the one road points one way.

Edges come from every import a module makes (at the top or inside a function, absolute or relative), from
`import_module("lrbench...")` calls and from strings naming modules ("lrbench.x.y:Class" in registries).
A node is a first-level package (lrbench.store) or a first-level module (lrbench.atomic)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "lrbench"
#: the entry point hands over to the command line by design; nothing else may close a loop
ALLOWED_LOOPS = [{"lrbench.cli", "lrbench.entrypoint"}]
#: rooms that read the store and must not run anything
READERS = ("lrbench.store", "lrbench.evaluation", "lrbench.statistics", "lrbench.presentation")
RUNNING = ("lrbench.executors", "lrbench.plan", "lrbench.rerun", "lrbench.api")
NAMED_MODULE = re.compile(r"[\"'](lrbench(?:\.\w+)+)[:\"']")


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    parts = name.split(".")
    while parts:
        if ".".join(parts) in known:
            return ".".join(parts)
        parts.pop()
    return None


def _targets(module: str, path: Path) -> set[str]:
    """Every lrbench name a module imports or names."""
    is_package = path.name == "__init__.py"
    source = path.read_text(encoding="utf-8")
    found: set[str] = set(NAMED_MODULE.findall(source))
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{a.name}" for a in node.names)
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.add(node.args[0].value)
    return {t for t in found if t.startswith("lrbench")}


def room(module: str, known: dict[str, Path]) -> str:
    parts = module.split(".")
    if len(parts) == 2 and known[module].name != "__init__.py":
        return module
    return ".".join(parts[:2])


def edges() -> dict[tuple[str, str], list[str]]:
    """(room, room) -> the modules that make the edge, 'a imports b'."""
    known = _modules()
    out: dict[tuple[str, str], list[str]] = {}
    for module, path in known.items():
        for target in _targets(module, path):
            resolved = _resolve(target, known)
            if resolved and room(resolved, known) != room(module, known):
                out.setdefault((room(module, known), room(resolved, known)), []).append(f"{module} -> {resolved}")
    return out


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter; counter += 1; stack.append(root); on.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter; counter += 1; stack.append(child); on.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop(); on.discard(member); component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(component)
    return out


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for a, b in edges():
        graph.setdefault(a, set()).add(b)
    return graph


def test_no_package_level_cycle():
    found = [c for c in cycles(_graph()) if c not in ALLOWED_LOOPS]
    detail = {edge: made for edge, made in edges().items() if any(set(edge) <= c for c in found)}
    assert not found, f"cycles {found}; edges inside them: {detail}"


def test_suites_and_datasets_import_neither_runners_nor_results():
    bad = {edge: made for edge, made in edges().items()
           if edge[0] in ("lrbench.suites", "lrbench.datasets")
           and edge[1].startswith(("lrbench.runners", "lrbench.store", "lrbench.presentation", "lrbench.executors"))}
    assert not bad


def test_readers_of_the_store_run_nothing():
    bad = {edge: made for edge, made in edges().items() if edge[0] in READERS and edge[1] in RUNNING}
    assert not bad


def test_the_graph_sees_every_kind_of_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("from .sibling import x\nimport_module('lrbench.store.store')\n"
                      "def f():\n    from lrbench.plan import keys\nREG = {'a': 'lrbench.runners.retrieval.bm25:R'}\n")
    found = _targets("lrbench.presentation.m", module)
    assert {"lrbench.presentation.sibling", "lrbench.store.store", "lrbench.plan", "lrbench.runners.retrieval.bm25"} <= found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
