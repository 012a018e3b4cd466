"""Read a results folder written by `lrbench run` (cells.json, leaderboard.parquet, cells/<key>/...).

Shared by report, compare and gate. Measures are matched by their canonical form (the one stored in
perquery/scores.parquet) and shown with the suite's display string.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from lrbench.errors import LrbenchError
from lrbench.evaluation.measures import canonical
from lrbench.store.profile import Profile


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
        """The cell's folder, refused when it resolves outside the results folder (the store's rule)."""
        from lrbench.store.store import LocalStore

        return LocalStore(self.root).cell_dir(self.key)

    @property
    def meta(self) -> dict[str, Any]:
        if self._meta is None:
            self._meta = self._verified(lambda store: store.meta(self.key))
        return self._meta

    def _verified(self, read):
        """Read through the store, which checks every file against meta.json's checksums."""
        from lrbench.store.store import CorruptCell, LocalStore

        try:
            return read(LocalStore(self.root))
        except CorruptCell as exc:
            raise LrbenchError(f"cell {self.key} ({self.system} on {self.dataset}) is damaged: {exc}",
                               file=str(self.dir), hint="rerun `lrbench run` on the suite: damaged cells are "
                               "recomputed") from None

    def frame(self, name: str) -> pd.DataFrame | None:
        """One stored frame of the cell (run, perquery, scores ...), verified against meta.json."""
        return self._frame(name, [])

    def _frame(self, name: str, columns: list[str]) -> pd.DataFrame | None:
        frame = self._verified(lambda store: store.read_frame(self.key, name))
        if frame is not None and not set(columns) <= set(frame.columns):
            raise LrbenchError(f"{name}.parquet lacks columns {', '.join(sorted(set(columns) - set(frame.columns)))}",
                               file=str(self.dir / f"{name}.parquet"), hint="rerun `lrbench run` to recompute the cell")
        return frame

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
        frame = self._frame("perquery", ["measure", "query_id", "value"])
        if frame is None:
            return pd.DataFrame(columns=["measure", "query_id", "value"])
        frame["query_id"] = frame["query_id"].astype(str)
        return frame

    @cached_property
    def scores(self) -> dict[str, float]:
        frame = self._frame("scores", ["measure", "value"])
        if frame is None:
            return {}
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
        from lrbench.store.remote import local_results

        from lrbench.store.manifest import load

        self.root = local_results(root)  # a folder, or a local copy of s3://... results
        self.board, self.info = load(self.root)  # only what the manifest commits
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

    def rpp(self, cell) -> float | None:
        """The cell's ranking quality per PetaFLOP (E2R-FLOPs' RPP) on its dataset's first measure."""
        measures = self.measures(cell.dataset)
        return cell.profile.rpp(cell.score(measures[0][1])) if measures else None

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
