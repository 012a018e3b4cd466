"""Expand a suite into cells (dataset x system x sweep point); their keys are computed by lrbench.plan.keys."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
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


@dataclass
class Cell:
    dataset: DatasetSpec
    system: SystemSpec
    point: dict[str, Any]
    params: dict[str, Any]
    compress: dict[str, Any] | None
    input_system: str | None = None  # the first (for rerankers, the only) input; see `input_systems`
    #: filled by the plan layer once the dataset fingerprint and input key are known
    key: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    measures: list[str] = field(default_factory=list)

    @property
    def input_systems(self) -> list[str]:
        """Every system whose run this cell reads (several for fusion)."""
        return self.system.input_names

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


def expand_cells(suite: Suite) -> list[Cell]:
    cells = []
    for dataset in suite.datasets:
        for system in suite.systems:
            if not applies_to(system, dataset):
                continue
            for point, params, compress in expand_system(system):
                inputs = system.input_names
                cells.append(Cell(dataset, system, point, params, compress, inputs[0] if inputs else None))
    return cells
