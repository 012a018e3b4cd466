"""Read a results folder written by `lrbench run` (cells.json, leaderboard.parquet, cells/<key>/...).

Shared by report, compare and gate. Measures are matched by their canonical form (the one stored in
perquery/scores.parquet) and shown with the suite's display string.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from lrbench.errors import LrbenchError
from lrbench.measures import canonical
from lrbench.results.profile import Profile


@dataclass
class CellInfo:
    dataset: str
    system: str
    system_name: str
    type: str
    key: str
    queries: int
    profile: Profile
    root: Path
    _meta: dict | None = field(default=None, repr=False)

    @property
    def dir(self) -> Path:
        return self.root / "cells" / self.key

    @property
    def meta(self) -> dict[str, Any]:
        if self._meta is None:
            try:
                self._meta = json.loads((self.dir / "meta.json").read_text())
            except (OSError, ValueError):
                self._meta = {}
        return self._meta

    @property
    def task(self) -> str:
        return self.meta.get("task", "ranking")

    @property
    def dataset_id(self) -> str:
        return self.meta.get("dataset", {}).get("id", self.dataset)

    @property
    def fingerprint(self) -> str | None:
        return self.meta.get("dataset", {}).get("fingerprint")

    @property
    def point(self) -> dict[str, Any]:
        return self.meta.get("system", {}).get("point") or {}

    @property
    def params(self) -> dict[str, Any]:
        return self.meta.get("config", {}).get("params") or {}

    @property
    def compress(self) -> dict[str, Any] | None:
        return self.meta.get("config", {}).get("compress")

    @cached_property
    def perquery(self) -> pd.DataFrame:
        path = self.dir / "perquery.parquet"
        if not path.exists():
            return pd.DataFrame(columns=["measure", "query_id", "value"])
        frame = pd.read_parquet(path)
        frame["query_id"] = frame["query_id"].astype(str)
        return frame

    @cached_property
    def scores(self) -> dict[str, float]:
        path = self.dir / "scores.parquet"
        if not path.exists():
            return {}
        frame = pd.read_parquet(path)
        return {str(m): float(v) for m, v in zip(frame["measure"], frame["value"])}

    def values(self, measure: str) -> pd.Series:
        """Per-query values of a canonical measure, indexed by query id."""
        part = self.perquery[self.perquery["measure"] == measure]
        return pd.Series(part["value"].to_numpy(dtype=float), index=part["query_id"].to_numpy()).sort_index()

    def score(self, measure: str) -> float | None:
        if measure in self.scores:
            return self.scores[measure]
        values = self.values(measure)
        return float(values.mean()) if len(values) else None


class ResultsDir:
    def __init__(self, root: str | Path):
        from lrbench.results.remote import local_results

        self.root = local_results(root)  # a folder, or a local copy of s3://... results
        if not (self.root / "cells.json").exists():
            raise LrbenchError(f"{self.root} is not a results folder (no cells.json)",
                               hint="run `lrbench run SUITE --out DIR` first and pass DIR")
        try:
            self.info = json.loads((self.root / "cells.json").read_text())
        except ValueError as exc:
            raise LrbenchError(f"{self.root / 'cells.json'} is not valid JSON ({exc})",
                               hint="rerun `lrbench run` to rewrite it") from None
        board_path = self.root / "leaderboard.parquet"
        self.board = pd.read_parquet(board_path) if board_path.exists() else \
            pd.DataFrame(columns=["dataset", "system", "measure", "value"])
        self.cells = [CellInfo(c["dataset"], c["system"], c.get("system_name", c["system"]), c.get("type", "?"),
                               c["key"], int(c.get("queries", 0)), Profile.from_dict(c.get("profile")), self.root)
                      for c in self.info.get("cells", [])]

    @property
    def suite_name(self) -> str:
        return self.info.get("suite", self.root.name)

    @property
    def baseline(self) -> str | None:
        return self.info.get("baseline")

    @property
    def suite_config(self) -> dict[str, Any]:
        return self.info.get("suite_config") or {}

    def datasets(self) -> list[str]:
        return list(dict.fromkeys(c.dataset for c in self.cells))

    def dataset_id(self, label: str) -> str:
        for spec in self.suite_config.get("datasets", []):
            if (spec.get("name") or spec.get("id")) == label:
                return spec.get("id", label)
        cell = next((c for c in self.cells if c.dataset == label), None)
        return cell.dataset_id if cell else label

    def dataset_matches(self, label: str, wanted: str) -> bool:
        return wanted in (label, self.dataset_id(label))

    def cells_of(self, dataset: str) -> list[CellInfo]:
        return [c for c in self.cells if c.dataset == dataset]

    def cell(self, dataset: str, system: str) -> CellInfo | None:
        return next((c for c in self.cells if c.dataset == dataset and c.system == system), None)

    def resolve(self, dataset: str, name: str) -> list[CellInfo]:
        """Cells of a system on a dataset: an exact label first, else every sweep point of a system name."""
        exact = [c for c in self.cells_of(dataset) if c.system == name]
        return exact or [c for c in self.cells_of(dataset) if c.system_name == name]

    def measures(self, dataset: str) -> list[tuple[str, str]]:
        """(display, canonical) per measure evaluated on a dataset, in the suite's order."""
        out: dict[str, str] = {}
        for cell in self.cells_of(dataset):
            for display in cell.meta.get("measures", []):
                out.setdefault(canonical(display, cell.task), display)
        if not out:
            part = self.board[self.board["dataset"] == dataset]
            for display in dict.fromkeys(part["measure"]):
                out.setdefault(canonical(display), display)
        return [(display, canon) for canon, display in out.items()]

    def baseline_label(self, dataset: str, override: str | None = None) -> str | None:
        """The baseline system's label on a dataset (the first sweep point when the baseline is a sweep)."""
        name = override or self.baseline
        if not name:
            return None
        matches = self.resolve(dataset, name)
        return matches[0].system if matches else None
