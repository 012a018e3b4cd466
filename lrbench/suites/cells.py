"""Expand a suite into cell specs (dataset x system x sweep point), as written: no runner is consulted here.

The plan layer parses each spec once into a `lrbench.plan.PreparedCell` (typed params, key, dataset).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from lrbench.suites.schema import DatasetSpec, Suite, SystemSpec


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _set_dotted(target: dict, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


def sweep_points(system: SystemSpec) -> list[dict[str, Any]]:
    """Each combination of the sweep, as {dotted key: value}; `[{}]` when there is no sweep.

    Keys name params (`k1`, or `params.k1`) or the compress block (`compress.ratio`). A list given
    as `compress.ratio` is itself a sweep.
    """
    axes = dict(system.sweep or {})
    if system.compress and isinstance(system.compress.get("ratio"), list):
        axes["compress.ratio"] = system.compress["ratio"]
    if not axes:
        return [{}]
    keys = list(axes)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(axes[k] for k in keys))]


@dataclass(frozen=True)
class CellSpec:
    """One cell as the suite writes it: raw params and compress block of one sweep point."""

    dataset: DatasetSpec
    system: SystemSpec
    point: dict[str, Any]
    params: dict[str, Any]
    compress: dict[str, Any] | None
    #: every system whose run this cell reads (several for fusion)
    inputs: tuple[str, ...] = ()

    @property
    def input_systems(self) -> list[str]:
        return list(self.inputs)

    @property
    def input_system(self) -> str | None:
        """The first (for rerankers, the only) input."""
        return self.inputs[0] if self.inputs else None

    @property
    def system_label(self) -> str:
        if not self.point:
            return self.system.name
        inner = ",".join(f"{k.removeprefix('params.').removeprefix('compress.')}={v}" for k, v in self.point.items())
        return f"{self.system.name}[{inner}]"

    @property
    def dataset_label(self) -> str:
        return self.dataset.label


def expand_system(system: SystemSpec) -> list[tuple[dict, dict, dict | None]]:
    """(point, params, compress) per sweep point."""
    out = []
    for point in sweep_points(system):
        holder = {"params": dict(system.params),
                  "compress": dict(system.compress) if system.compress else None}
        for dotted, value in point.items():
            if dotted.startswith("compress."):
                holder["compress"] = holder["compress"] or {}
                _set_dotted(holder["compress"], dotted.removeprefix("compress."), value)
            else:
                _set_dotted(holder["params"], dotted.removeprefix("params."), value)
        out.append((point, holder["params"], holder["compress"]))
    return out


def applies_to(system: SystemSpec, dataset: DatasetSpec) -> bool:
    return not system.datasets or dataset.id in system.datasets or dataset.label in system.datasets


def expand_cells(suite: Suite) -> list[CellSpec]:
    cells = []
    for dataset in suite.datasets:
        for system in suite.systems:
            if not applies_to(system, dataset):
                continue
            for point, params, compress in expand_system(system):
                cells.append(CellSpec(dataset, system, point, params, compress, tuple(system.input_names)))
    return cells
