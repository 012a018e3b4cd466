"""The cell graph: which cell reranks which (`input:`), cycles, dependency order, `--only` selection."""

from __future__ import annotations

from lrbench.errors import LrbenchError
from lrbench.suites.cells import Cell


def input_cycle(inputs: dict[str, str | None], start: str) -> list[str] | None:
    """The cycle reached by following `input:` from `start`, as [a, b, ..., a], or None."""
    path, seen = [], {}
    name: str | None = start
    while name is not None and name in inputs:
        if name in seen:
            return path[seen[name]:] + [name]
        seen[name] = len(path)
        path.append(name)
        name = inputs[name]
    return None


def depth_of(inputs: dict[str, str | None], name: str) -> int:
    """How many systems run before `name` (0 for a first stage); cycles are rejected before this is asked."""
    depth, seen = 0, {name}
    while inputs.get(name):
        name = inputs[name]
        if name in seen:
            break
        seen.add(name)
        depth += 1
    return depth


def order_cells(cells: list[Cell]) -> list[Cell]:
    """A reranker runs after its input system (stable otherwise: suite order)."""
    inputs = {c.system.name: c.input_system for c in cells}
    return sorted(cells, key=lambda c: depth_of(inputs, c.system.name))


def select_only(cells: list[Cell], only: list[str] | None) -> list[Cell]:
    """Keep the named systems (names or sweep-point labels) and the systems they rerank."""
    if not only:
        return cells
    wanted = set(only)
    known = {c.system.name for c in cells} | {c.system_label for c in cells}
    unknown = wanted - known
    if unknown:
        raise LrbenchError(f"--only names unknown system(s): {', '.join(sorted(unknown))}", key="--only",
                           hint=f"systems: {', '.join(sorted({c.system.name for c in cells}))}")
    inputs = {c.system.name: c.input_system for c in cells}
    for name in list(wanted):
        system = next((c.system.name for c in cells if name in (c.system.name, c.system_label)), None)
        while system and inputs.get(system):
            system = inputs[system]
            wanted.add(system)
    return [c for c in cells if c.system.name in wanted or c.system_label in wanted]
