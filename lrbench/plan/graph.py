"""The cell graph: which cell reads which (`input:`, or `inputs:` for fusion), cycles, dependency order,
`--only` selection."""

from __future__ import annotations

from lrbench.errors import LrbenchError
from lrbench.suites.cells import CellSpec


def _parents(value) -> list[str]:
    """A system's inputs: accepts the name of one (or None) or a list of them (fusion)."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def input_cycle(inputs: dict[str, list[str] | str | None], start: str) -> list[str] | None:
    """A cycle reached by following inputs from `start`, as [a, b, ..., a], or None."""
    path: list[str] = []
    on_path: dict[str, int] = {}
    done: set[str] = set()

    def visit(name: str) -> list[str] | None:
        if name in on_path:
            return path[on_path[name]:] + [name]
        if name in done or name not in inputs:
            return None
        on_path[name] = len(path)
        path.append(name)
        for parent in _parents(inputs[name]):
            cycle = visit(parent)
            if cycle:
                return cycle
        path.pop()
        del on_path[name]
        done.add(name)
        return None

    return visit(start)


def depth_of(inputs: dict[str, list[str] | str | None], name: str, seen: frozenset = frozenset()) -> int:
    """How many stages run before `name` (0 for a first stage: the longest chain of inputs); cycles are
    rejected before this is asked."""
    parents = [p for p in _parents(inputs.get(name)) if p not in seen]
    return max((1 + depth_of(inputs, p, seen | {name}) for p in parents), default=0)


def order_cells(cells: list[CellSpec]) -> list[CellSpec]:
    """A reranker (or fusion) runs after its input systems (stable otherwise: suite order)."""
    inputs = {c.system.name: c.input_systems for c in cells}
    return sorted(cells, key=lambda c: depth_of(inputs, c.system.name))


def select_only(cells: list[CellSpec], only: list[str] | None) -> list[CellSpec]:
    """Keep the named systems (names or sweep-point labels) and the systems they read (transitively)."""
    if not only:
        return cells
    wanted = set(only)
    known = {c.system.name for c in cells} | {c.system_label for c in cells}
    unknown = wanted - known
    if unknown:
        raise LrbenchError(f"--only names unknown system(s): {', '.join(sorted(unknown))}", key="--only",
                           hint=f"systems: {', '.join(sorted({c.system.name for c in cells}))}")
    inputs = {c.system.name: c.input_systems for c in cells}
    pending = [next((c.system.name for c in cells if name in (c.system.name, c.system_label)), None)
               for name in wanted]
    while pending:
        system = pending.pop()
        for parent in _parents(inputs.get(system)):
            if parent not in wanted:
                wanted.add(parent)
                pending.append(parent)
    return [c for c in cells if c.system.name in wanted or c.system_label in wanted]
