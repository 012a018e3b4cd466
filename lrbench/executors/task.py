"""One cell as a self-contained task: what a worker process or a Ray task receives and returns.

The task carries everything the worker needs (cell, runner class, key, measures, the input run as a
frame) and returns the frames and meta.json to store; the driver writes them, so the store's
write-data-then-meta guarantee holds wherever the worker ran and whatever filesystem holds the results.
"""

from __future__ import annotations

import os
import platform
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from lrbench.errors import LrbenchError
from lrbench.suites.cells import Cell


@dataclass
class CellTask:
    index: int
    cell: Cell
    runner_cls: type
    key: str
    config: dict
    measures: list[str]
    suite_name: str
    suite_dir: Path
    inputs: dict[str, pd.DataFrame] = field(default_factory=dict)
    debug: bool = False
    store_uri: str | None = None  # the run store, for the runner's intermediate artifacts (shards)

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
    cell: Cell
    runner_cls: type
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


def run_task(task: CellTask | ShardTask) -> TaskResult:
    """Open the dataset in this process, run the cell's runner (or one of its shards), evaluate. A
    LrbenchError becomes an error result; other exceptions propagate (and are retried by the executor);
    a killed worker is retried the same way."""
    from lrbench.executor import cell_context, compute_cell
    from lrbench.results.store import open_store
    from lrbench.suites.datasets import open_dataset

    started = time.perf_counter()
    worker = f"{platform.node()}:{os.getpid()}"
    store = open_store(task.store_uri) if task.store_uri else None
    try:
        dataset = open_dataset(task.cell.dataset, task.suite_dir)
        if isinstance(task, ShardTask):
            ctx = cell_context(task.cell, task.suite_dir, debug=task.debug, store=store)
            summary = task.runner_cls(task.cell.params).run_shard(dataset, ctx, task.shard)
            return TaskResult(task.index, "ok", meta={**summary, "worker": worker},
                              seconds=time.perf_counter() - started, worker=worker)
        frames, meta = compute_cell(task.cell, task.key, task.config, dataset, task.runner_cls, task.inputs,
                                    task.measures, suite_name=task.suite_name, suite_dir=task.suite_dir,
                                    debug=task.debug, store=store)
    except LrbenchError as exc:
        if exc.key and not exc.key.startswith(("systems", "datasets")):
            exc.key = f"{task.cell.system_label} on {task.cell.dataset_label}: {exc.key}"
        detail = traceback.format_exc() if task.debug else exc.one_line()
        return TaskResult(task.index, "error", seconds=time.perf_counter() - started, error=detail, worker=worker)
    meta["worker"] = worker
    return TaskResult(task.index, "ok", frames, meta, time.perf_counter() - started, worker=worker)
