"""A results folder as DataFrames, for notebooks and scripts (what `lrbench.run` returns).

Reads through ResultsDir and reuses compare/report: the numbers are those `lrbench show/compare/report` print.
"""

from __future__ import annotations

import math
from functools import cached_property
from pathlib import Path

import pandas as pd

from lrbench.errors import LrbenchError
from lrbench.evaluation.measures import canonical
from lrbench.store.resultsdir import CellInfo, ResultsDir


class Results:
    def __init__(self, folder, *, outcome=None, baseline: str | None = None):
        from lrbench.store.location import ResultsLocation

        self.location = ResultsLocation.of(folder)
        #: the results folder, or its URI (s3://...) when the run stored its cells in object storage
        self.dir = str(self.location) if self.location.remote else self.location.path
        self._baseline = baseline
        #: the executor's SuiteResult when these results come from a run (None when opened from disk)
        self.outcome = outcome
        #: what `log` wrote last (lrbench.presentation.tracking.Logged), None before
        self.last_log = None
        if outcome is None or not self.location.remote:
            # read the cell index now: a later run into the same folder rewrites it (cells themselves never
            # change), and a folder without results fails here with the reason; a URI is fetched on first use
            self.data

    @cached_property
    def data(self) -> ResultsDir:
        """The folder's cells and leaderboard (for a URI: a local copy, fetched on first use)."""
        return ResultsDir(self.location)

    def __repr__(self) -> str:
        return f"Results({str(self.dir)!r}: {len(self.data.cells)} cells, {len(self.failed)} failed)"

    # -- what ran ---------------------------------------------------------------------
    @property
    def leaderboard(self) -> pd.DataFrame:
        """dataset, system, measure, value: the table `lrbench run` prints."""
        if self.outcome is not None and self.outcome.leaderboard is not None:
            return self.outcome.leaderboard.copy()
        return self.data.board.copy()

    @property
    def cells(self) -> pd.DataFrame:
        """One row per stored cell: dataset, system, system name, type, key, queries."""
        return pd.DataFrame([{"dataset": c.dataset, "system": c.system, "system_name": c.system_name,
                              "type": c.type, "key": c.key, "queries": c.queries} for c in self.data.cells])

    @property
    def failed(self) -> list[tuple[str, str, str]]:
        """(dataset, system, error) of each cell that failed in this run."""
        if self.outcome is None:
            return []
        return [(c.cell.dataset_label, c.cell.system_label, c.error or "failed") for c in self.outcome.failed]

    def count(self, status: str) -> int:
        """Cells `computed`, `cached` or `failed` in this run."""
        return self.outcome.count(status) if self.outcome is not None else 0

    @property
    def baseline(self) -> str | None:
        return self._baseline if self.outcome is not None else self.data.baseline

    # -- one cell ---------------------------------------------------------------------
    def _dataset(self, dataset: str | None) -> str:
        labels = self.data.datasets()
        if dataset is None:
            if len(labels) == 1:
                return labels[0]
            raise LrbenchError("these results hold several datasets: name one", key="dataset",
                               hint=f"datasets: {', '.join(labels)}")
        for label in labels:
            if self.data.dataset_matches(label, dataset):
                return label
        raise LrbenchError(f"no dataset '{dataset}' in {self.dir}", key="dataset", hint=f"datasets: {', '.join(labels)}")

    def cell(self, system: str, dataset: str | None = None) -> CellInfo:
        label = self._dataset(dataset)
        matches = self.data.resolve(label, system)
        if len(matches) == 1:
            return matches[0]
        if not matches:
            names = sorted({c.system for c in self.data.cells_of(label)})
            raise LrbenchError(f"no system '{system}' on {label}", key="system", hint=f"systems: {', '.join(names)}")
        raise LrbenchError(f"'{system}' is a sweep on {label}", key="system",
                           hint="name one point: " + ", ".join(c.system for c in matches))

    def perquery(self, system: str, dataset: str | None = None, measure: str | None = None) -> pd.DataFrame:
        """Per-query values (measure, query_id, value) of one cell, optionally of one measure."""
        cell = self.cell(system, dataset)
        frame = cell.perquery
        if measure is not None:
            frame = frame[frame["measure"] == canonical(measure, cell.task)]
        return frame.reset_index(drop=True)

    def run(self, system: str, dataset: str | None = None) -> pd.DataFrame:
        """The stored output of one cell: the run (query_id, doc_id, rank, score) for ranking datasets."""
        from lrbench.evaluation.evaluators import evaluator_for

        cell = self.cell(system, dataset)
        path = cell.dir / f"{evaluator_for(cell.task).frame}.parquet"
        if not path.exists():
            raise LrbenchError(f"cell {cell.key} has no {path.name}", file=str(path),
                               hint="rerun the suite to recompute it")
        return pd.read_parquet(path)

    def profile(self, system: str, dataset: str | None = None) -> dict:
        """The cell's profile (timings, latency percentiles, memory, model facts)."""
        return dict(self.cell(system, dataset).meta.get("profile") or {})

    # -- statistics -------------------------------------------------------------------
    def compare(self, a: str, b: str, *, test: str = "t", alpha: float = 0.05) -> pd.DataFrame:
        """System a against system b on every dataset both ran on: the rows of `lrbench compare DIR A B`
        (delta = b - a, as the report's system - baseline; p of the paired test, Holm-corrected p, b's
        wins/ties/losses per query)."""
        from lrbench.presentation import compare as comparing
        from lrbench.statistics.significance import TESTS

        if test not in TESTS:
            raise LrbenchError(f"unknown test '{test}'", key="test", hint=f"choose one of: {', '.join(TESTS)}")
        result = comparing.compare_targets([str(self.data.root), a, b], test=test, alpha=alpha)
        rows = [{"dataset": r.dataset, "measure": r.measure, "a": r.a, "b": r.b, "delta": r.delta, "n": r.n,
                 "p": r.pvalue, "p_holm": r.adjusted,
                 "significant": bool(not math.isnan(r.adjusted) and r.adjusted < alpha and r.delta),
                 "wins": r.wtl.wins if r.wtl else None, "ties": r.wtl.ties if r.wtl else None,
                 "losses": r.wtl.losses if r.wtl else None, "note": r.note} for r in result.rows]
        return pd.DataFrame(rows)

    def report(self, path: str | Path | None = None, *, fmt: str | None = None, baseline: str | None = None,
               test: str = "t", alpha: float = 0.05, plots: bool = True) -> Path:
        """Write the `lrbench report` document (Markdown, or HTML for a .html path) and return its path."""
        from lrbench.presentation.render import write_report
        from lrbench.presentation.report import build_report

        path = Path(path) if path is not None else self.data.root / ("report.html" if fmt == "html" else "report.md")
        fmt = fmt or ("html" if path.suffix == ".html" else "md")
        if fmt not in ("md", "html"):
            raise LrbenchError(f"unknown format '{fmt}'", key="fmt", hint="choose md or html")
        write_report(build_report(self.data.root, baseline=baseline, test=test, alpha=alpha), path, fmt=fmt, plots=plots)
        return path

    def log(self, to: str, *, experiment: str | None = None, folder: str | Path | None = None):
        """Log every cell to MLflow (a local file store at folder [default: ./mlruns], or a tracking URI) or W&B
        (offline unless WANDB_MODE is set; folder [default: .] gets wandb/): one run per cell with its config as
        params, its scores and numeric profile entries as metrics (`lrbench log`)."""
        from lrbench.presentation.tracking import log_results

        self.last_log = log_results(self.data.root, to, experiment=experiment, folder=folder)
        return self.last_log

    def to_latex(self, folder: str | Path | None = None, *, baseline: str | None = None, test: str = "t",
                 alpha: float = 0.05) -> dict[str, Path]:
        """Write one LaTeX table per dataset (`lrbench report --format latex`: best in bold, superscript letters
        for the systems a score is significantly better than) under folder [default: RESULTS/latex];
        returns dataset -> file."""
        from lrbench.presentation.latex import write_latex
        from lrbench.presentation.report import build_report

        report = build_report(self.data.root, baseline=baseline, test=test, alpha=alpha)
        paths = write_latex(report, Path(folder) if folder is not None else self.data.root / "latex")
        return dict(zip(report.stats, paths))


__all__ = ["Results"]
