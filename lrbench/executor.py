"""Run a suite: order its cells, reuse complete ones from the store, run the rest, evaluate, rank.

suite -> cells -> runner -> store -> evaluation -> leaderboard; nothing here renders output.
"""

from __future__ import annotations

import datetime as dt
import platform
import resource
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import pandas as pd

from lrbench import __version__
from lrbench.errors import LrbenchError
from lrbench.results.environment import environment
from lrbench.results.evaluators import evaluator_for
from lrbench.results.leaderboard import write_leaderboard
from lrbench.results.store import CorruptCell, open_store
from lrbench.runners.base import RunContext
from lrbench.rerun import keyed_cell
from lrbench.suites.cells import Cell, canonical_json, expand_cells
from lrbench.suites.datasets import open_dataset
from lrbench.suites.loader import LoadedSuite
from lrbench.paths import cache_dir, default_out_dir


class Reporter:
    """Progress callbacks; the CLI supplies a rich implementation, tests use this silent one."""

    def start(self, total: int) -> None: ...
    def cell_started(self, cell: Cell) -> None: ...
    def cell_finished(self, cell: Cell, status: str, seconds: float) -> None: ...
    def warn(self, message: str) -> None: ...

    def track(self, items: Iterable, total: int | None = None, description: str = "") -> Iterable:
        return items


@dataclass
class CellResult:
    cell: Cell
    status: str  # computed | cached | failed
    seconds: float = 0.0
    error: str | None = None


@dataclass
class SuiteResult:
    out_dir: Path
    cells: list[CellResult] = field(default_factory=list)
    leaderboard: pd.DataFrame | None = None

    @property
    def failed(self) -> list[CellResult]:
        return [c for c in self.cells if c.status == "failed"]

    def count(self, status: str) -> int:
        return sum(c.status == status for c in self.cells)


def dataset_measures(loaded: LoadedSuite, cell: Cell, dataset) -> list[str]:
    if cell.dataset.measures:
        return cell.dataset.measures
    if loaded.suite.measures:
        return loaded.suite.measures
    if dataset.catalogue:
        return dataset.catalogue.measures
    return evaluator_for(dataset.task).default_measures


def order_cells(cells: list[Cell]) -> list[Cell]:
    """A reranker runs after its input system on the same dataset."""
    by_system: dict[str, int] = {}

    def level(cell: Cell, seen=()) -> int:
        if not cell.input_system:
            return 0
        parent = next((c for c in cells if c.system.name == cell.input_system), None)
        return 1 + (level(parent) if parent else 0)

    for cell in cells:
        by_system[cell.system.name] = level(cell)
    return sorted(cells, key=lambda c: by_system[c.system.name])


def select_only(cells: list[Cell], only: list[str] | None) -> list[Cell]:
    """Keep the named systems (and the systems they rerank)."""
    if not only:
        return cells
    wanted = set(only)
    known = {c.system.name for c in cells} | {c.system_label for c in cells}
    unknown = wanted - known
    if unknown:
        raise LrbenchError(f"--only names unknown system(s): {', '.join(sorted(unknown))}",
                           hint=f"systems: {', '.join(sorted({c.system.name for c in cells}))}")
    changed = True
    while changed:
        changed = False
        for c in cells:
            if (c.system.name in wanted or c.system_label in wanted) and c.input_system and c.input_system not in wanted:
                wanted.add(c.input_system)
                changed = True
    return [c for c in cells if c.system.name in wanted or c.system_label in wanted]


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"lrbench": __version__, "python": platform.python_version()}
    for pkg in ("ir-measures", "ir-datasets", "bm25s", "pandas", "pyarrow", "torch", "transformers"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def _peak_rss_mb() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return usage / (1024 * 1024) if sys.platform == "darwin" else usage / 1024


class SuiteExecutor:
    def __init__(self, loaded: LoadedSuite, out_dir: Path | None = None, *, force: bool = False,
                 only: list[str] | None = None, reporter: Reporter | None = None, debug: bool = False):
        self.loaded = loaded
        self.suite = loaded.suite
        # a local folder, file://, or any fsspec URI (s3://bucket/prefix, gs://...): see results/store.py
        self.store = open_store(out_dir if out_dir else default_out_dir(self.suite.name))
        self.out_dir = self.store.root
        self.force = force
        self.only = only
        self.reporter = reporter or Reporter()
        self.debug = debug
        self._datasets: dict[str, object] = {}
        self._keys: dict[tuple[str, str], str] = {}

    def dataset(self, cell: Cell):
        label = cell.dataset.label
        if label not in self._datasets:
            self._datasets[label] = open_dataset(cell.dataset, self.loaded.base_dir)
        return self._datasets[label]

    def _begin(self) -> tuple[list[Cell], SuiteResult]:
        """Clear what an interrupted run left, and list the cells to run in dependency order."""
        for stale in self.store.clean_incomplete():
            self.reporter.warn(f"removed incomplete file from an interrupted run: {stale}")
        cells = order_cells(select_only(expand_cells(self.suite), self.only))
        self.reporter.start(len(cells))
        return cells, SuiteResult(self.out_dir)

    def run(self) -> SuiteResult:
        cells, result = self._begin()
        failed_systems: set[tuple[str, str]] = set()
        for cell in cells:
            self.reporter.cell_started(cell)
            started = time.perf_counter()
            if cell.input_system and (cell.dataset.label, cell.input_system) in failed_systems:
                outcome = CellResult(cell, "failed", 0.0, f"input system '{cell.input_system}' failed")
            else:
                try:
                    status = self._run_cell(cell)
                    outcome = CellResult(cell, status, time.perf_counter() - started)
                except LrbenchError as exc:
                    if exc.key and not exc.key.startswith(("systems", "datasets")):
                        exc.key = f"{cell.system_label} on {cell.dataset_label}: {exc.key}"
                    raise
                except Exception as exc:  # one broken cell must not lose the others
                    detail = traceback.format_exc() if self.debug else f"{type(exc).__name__}: {exc}"
                    outcome = CellResult(cell, "failed", time.perf_counter() - started, detail)
            if outcome.status == "failed":
                failed_systems.add((cell.dataset.label, cell.system.name))
            result.cells.append(outcome)
            self.reporter.cell_finished(cell, outcome.status, outcome.seconds)
        result.leaderboard = write_leaderboard(self.out_dir, self.suite, self.store,
                                               [c.cell for c in result.cells if c.status != "failed"])
        return result

    # -- one cell ---------------------------------------------------------------------
    def _run_cell(self, cell: Cell) -> str:
        dataset, runner_cls, key, config, input_key, measures = self._prepare_cell(cell)
        if self._reuse_cached(cell, key, dataset, measures):
            return "cached"
        self._compute(cell, key, config, dataset, runner_cls, input_key, measures)
        return "computed"

    def _prepare_cell(self, cell: Cell):
        """Key, config and measures of a cell (its input cell must have been prepared first)."""
        dataset = self.dataset(cell)
        input_key = self._keys.get((cell.dataset.label, cell.input_system)) if cell.input_system else None
        runner_cls, key, config = keyed_cell(cell, dataset, input_key, self.loaded.base_dir)
        cell.key, cell.config = key, config
        self._keys[(cell.dataset.label, cell.system_label)] = key
        measures = cell.measures = dataset_measures(self.loaded, cell, dataset)
        return dataset, runner_cls, key, config, input_key, measures

    def _reuse_cached(self, cell: Cell, key: str, dataset, measures: list[str]) -> bool:
        """True when the store holds this cell complete and readable (re-scored if measures changed)."""
        evaluator = evaluator_for(dataset.task)
        if self.store.has(key) and not self.force:
            try:
                self.store.check(key, (evaluator.frame, "perquery", "scores"))
                self._ensure_measures(key, dataset, measures, evaluator)
                return True
            except CorruptCell as exc:
                self.reporter.warn(f"{cell.system_label} on {cell.dataset_label}: corrupt cell {key} "
                                   f"({exc}); recomputing")
                self.store.discard(key)
        return False

    def _ensure_measures(self, key: str, dataset, measures: list[str], evaluator) -> None:
        """A cached cell evaluated with other measures is re-scored from its stored output, not rerun."""
        scores = self.store.read_frame(key, "scores")
        wanted = {evaluator.canonical(m) for m in measures}
        if not wanted <= set(scores["measure"]):
            frame = self.store.read_frame(key, evaluator.frame)
            perquery, scores = evaluator.evaluate(frame, dataset, measures)
            self.store.write_frame(key, "perquery", perquery)
            self.store.write_frame(key, "scores", scores)

    def _inputs(self, cell: Cell, input_key: str | None) -> dict[str, pd.DataFrame]:
        if not cell.input_system:
            return {}
        return {cell.input_system: self.store.get_run(input_key)[["query_id", "doc_id", "score"]]}

    def _compute(self, cell, key, config, dataset, runner_cls, input_key, measures) -> None:
        frames, meta = compute_cell(cell, key, config, dataset, runner_cls, self._inputs(cell, input_key), measures,
                                    suite_name=self.suite.name, suite_dir=self.loaded.base_dir,
                                    progress=self.reporter.track, debug=self.debug, store=self.store)
        self.store.put(key, frames, meta)


def cell_context(cell: Cell, suite_dir: Path, *, progress=None, debug: bool = False, store=None) -> RunContext:
    return RunContext(cache_dir=cache_dir(), suite_dir=suite_dir, progress=progress or Reporter().track,
                      depth=cell.system.depth, compress=cell.compress, debug=debug, store=store)


def compute_cell(cell: Cell, key: str, config: dict, dataset, runner_cls, inputs: dict[str, pd.DataFrame],
                 measures: list[str], *, suite_name: str, suite_dir: Path, progress=None,
                 debug: bool = False, store=None) -> tuple[dict[str, pd.DataFrame], dict]:
    """Run one cell and evaluate it: (frames to store, meta.json). It writes no cell to the store (the
    caller does, data first and meta.json last), so it also runs inside a worker process or a Ray task
    (lrbench/executors/); `store` only serves the runner's intermediate artifacts."""
    runner = runner_cls(cell.params)
    ctx = cell_context(cell, suite_dir, progress=progress, debug=debug, store=store)
    started_at = dt.datetime.now(dt.timezone.utc).isoformat()
    t0 = time.perf_counter()
    output = runner.run(dataset, inputs, ctx)
    wall = time.perf_counter() - t0
    evaluator = evaluator_for(dataset.task)
    frame = output.frame(evaluator.frame)
    perquery, scores = evaluator.evaluate(frame, dataset, measures)
    profile = {"wall_seconds": wall, "peak_rss_mb_process": _peak_rss_mb(), **output.profile}
    meta = {
        "key": key, "config": config, "suite": suite_name,
        "dataset": {"id": cell.dataset.id, "label": cell.dataset_label, "fingerprint": config["dataset"]},
        "system": {"name": cell.system.name, "label": cell.system_label, "type": cell.system.type,
                   "point": cell.point, "input": cell.input_system},
        "task": dataset.task, "measures": measures, "versions": versions(), "profile": profile,
        "started_at": started_at, "host": platform.node(), "environment": environment(),
        "config_json": canonical_json(config),
    }
    return {evaluator.frame: frame, "perquery": perquery, "scores": scores}, meta
