"""One cell as a self-contained task, and `compute_cell`: what every backend runs, in-process or in a worker.

The task carries everything a worker needs (the prepared cell: parsed params, runner class, key, config,
measures; the input runs as frames) and returns the frames and meta.json to store; the driver writes them, so the store's
write-data-then-meta guarantee holds wherever the worker ran and whatever filesystem holds the results.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import platform
import resource
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from lrbench.errors import LrbenchError
from lrbench.plan.prepared import PreparedCell
from lrbench.suites.cells import canonical_json


@dataclass
class CellTask:
    """A prepared cell and its input runs. Pickled for a worker, the cell leaves its dataset behind: the
    worker reopens it from the cell's dataset spec."""

    index: int
    cell: PreparedCell
    suite_name: str
    suite_dir: Path
    inputs: dict[str, pd.DataFrame] = field(default_factory=dict)
    debug: bool = False
    store_uri: str | None = None  # the run store, for the runner's intermediate artifacts (shards)

    @property
    def key(self) -> str:
        return self.cell.key

    @property
    def title(self) -> str:
        return f"lrbench {self.cell.system_label} on {self.cell.dataset_label}"


@dataclass
class ShardTask:
    """Shard `shard` of a cell's preparatory work (e.g. a slice of the corpus encoding); the runner writes
    what it makes to the run store itself, block by block, and returns a summary."""

    index: int
    shard: int
    shards: int
    cell: PreparedCell
    suite_dir: Path
    store_uri: str
    debug: bool = False

    @property
    def title(self) -> str:
        return f"lrbench {self.cell.system_label} on {self.cell.dataset_label}, shard {self.shard + 1}/{self.shards}"


@dataclass
class TaskResult:
    index: int
    status: str  # ok | error (a user-fixable LrbenchError: retrying cannot help)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None
    worker: str = ""


@functools.cache  # installed versions do not change within a process; each lookup scans every path entry
def _installed_versions() -> tuple[tuple[str, str], ...]:
    from importlib.metadata import PackageNotFoundError, version

    from lrbench.version import __version__

    out = {"lrbench": __version__, "python": platform.python_version()}
    for pkg in ("ir-measures", "ir-datasets", "bm25s", "pandas", "pyarrow", "torch", "transformers"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return tuple(out.items())


def versions() -> dict[str, str]:
    return dict(_installed_versions())


def _peak_rss_mb() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return usage / (1024 * 1024) if sys.platform == "darwin" else usage / 1024


def cell_context(cell: PreparedCell, suite_dir: Path, *, progress=None, debug: bool = False, store=None):
    from lrbench.paths import cache_dir
    from lrbench.runners.base import RunContext

    kwargs = {"progress": progress} if progress is not None else {}
    return RunContext(cache_dir=cache_dir(), suite_dir=suite_dir, depth=cell.system.depth, compress=cell.compress,
                      keep_tail=cell.system.keep_tail, debug=debug, store=store, **kwargs)


def compute_cell(cell: PreparedCell, dataset, inputs: dict[str, pd.DataFrame], *, suite_name: str, suite_dir: Path,
                 progress=None, debug: bool = False, store=None) -> tuple[dict[str, pd.DataFrame], dict]:
    """Run one cell and evaluate it: (frames to store, meta.json). It writes no cell to the store (the
    driver does, data first and meta.json last); `store` only serves the runner's intermediate artifacts."""
    from lrbench.environment import environment
    from lrbench.evaluation.evaluators import evaluator_for

    runner = cell.runner()
    ctx = cell_context(cell, suite_dir, progress=progress, debug=debug, store=store)
    started_at = dt.datetime.now(dt.timezone.utc).isoformat()
    t0 = time.perf_counter()
    try:
        output = runner.run(dataset, inputs, ctx)
    except OSError:
        from lrbench.paths import cache_failed

        if not cache_failed():
            raise
        # the cache folder is full or unwritable: run the cell again on a temporary cache (warned once)
        runner, ctx = cell.runner(), cell_context(cell, suite_dir, progress=progress, debug=debug, store=store)
        t0 = time.perf_counter()
        output = runner.run(dataset, inputs, ctx)
    wall = time.perf_counter() - t0
    evaluator = evaluator_for(dataset.task)
    frame = output.frame(evaluator.frame)
    measures, config = list(cell.measures), cell.config
    perquery, scores = evaluator.evaluate(frame, dataset, measures)
    profile = {"wall_seconds": wall, "peak_rss_mb_process": _peak_rss_mb(), **output.profile}
    meta = {
        "key": cell.key, "config": config, "suite": suite_name,
        "dataset": {"id": cell.dataset_spec.id, "label": cell.dataset_label, "fingerprint": config["dataset"]},
        "system": {"name": cell.system.name, "label": cell.system_label, "type": cell.system.type,
                   "point": cell.point, "input": cell.input_system, "inputs": cell.input_systems},
        "dataset_profile": dataset.profile(), "task": dataset.task, "measures": measures, "versions": versions(), "profile": profile,
        "started_at": started_at, "host": platform.node(), "environment": environment(),
        "config_json": canonical_json(config),
    }
    extra = {name: f for name, f in output.frames.items() if name != evaluator.frame}  # e.g. LLM generations
    return {**extra, evaluator.frame: frame, "perquery": perquery, "scores": scores}, meta


def describe_error(exc: BaseException, cell=None, debug: bool = False) -> str:
    """One line for a failed cell (a traceback with --debug); a suite error names the cell it happened in
    (`cell`: a CellSpec or PreparedCell)."""
    if debug:
        return "".join(traceback.format_exception(exc))
    if isinstance(exc, LrbenchError):
        if cell is not None and exc.key and not exc.key.startswith(("systems", "datasets")):
            exc.key = f"{cell.system_label} on {cell.dataset_label}: {exc.key}"
        return exc.one_line()
    first = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {first[0] if first else ''}"


def execute(task: CellTask | ShardTask, *, dataset=None, store=None, progress=None) -> TaskResult:
    """Run a task here. A LrbenchError becomes an error result (retrying cannot help); other exceptions
    propagate, for the backend to retry or report."""
    from lrbench.store.store import open_store
    from lrbench.datasets import open_dataset

    started = time.perf_counter()
    worker = f"{platform.node()}:{os.getpid()}"
    if store is None and task.store_uri:
        store = open_store(task.store_uri)
    try:
        if dataset is None:
            dataset = task.cell.dataset
            if dataset is None:  # a worker's copy of the cell: open the dataset here
                dataset = open_dataset(task.cell.dataset_spec, task.suite_dir)
        if isinstance(task, ShardTask):
            ctx = cell_context(task.cell, task.suite_dir, debug=task.debug, store=store)
            summary = task.cell.runner().run_shard(dataset, ctx, task.shard)
            return TaskResult(task.index, "ok", meta={**summary, "worker": worker},
                              seconds=time.perf_counter() - started, worker=worker)
        frames, meta = compute_cell(task.cell, dataset, task.inputs, suite_name=task.suite_name,
                                    suite_dir=task.suite_dir, progress=progress, debug=task.debug, store=store)
    except LrbenchError as exc:
        return TaskResult(task.index, "error", seconds=time.perf_counter() - started,
                          error=describe_error(exc, task.cell, task.debug), worker=worker)
    meta["worker"] = worker
    return TaskResult(task.index, "ok", frames, meta, time.perf_counter() - started, worker=worker)


def run_task(task: CellTask | ShardTask) -> TaskResult:
    """The entry point of a worker process or Ray task: open the dataset and store here, then execute."""
    return execute(task)
