"""Progress for suite runs: one bar over cells, transient bars for long work inside a cell (items done of N,
ETA). When the output is not a terminal (a log file, CI) no bar can draw, so every LRBENCH_LOG_EVERY seconds
(default 30) a plain line says where each long step inside the running cell stands."""

from __future__ import annotations

import os
import threading
import time
from typing import Callable, Iterable

from rich.console import Console
from rich.markup import escape
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)

from lrbench.errors import LrbenchError
from lrbench.executors.core import Reporter

LOG_EVERY_ENV = "LRBENCH_LOG_EVERY"
DEFAULT_LOG_EVERY = 30.0


def log_every() -> float:
    """Seconds between plain progress lines (LRBENCH_LOG_EVERY; 0 turns them off)."""
    raw = os.environ.get(LOG_EVERY_ENV, "").strip()
    if not raw:
        return DEFAULT_LOG_EVERY
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        raise LrbenchError(f"{LOG_EVERY_ENV} must be a number of seconds, got '{raw}'", key=LOG_EVERY_ENV,
                           hint="e.g. LRBENCH_LOG_EVERY=30 (0: no periodic progress lines)")
    return value


def duration(seconds: float) -> str:
    """72.4 -> '1m12s', 3725 -> '1h02m', 8.2 -> '8s'."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def progress_line(where: str, description: str, done: float, total: float | None, elapsed: float) -> str:
    """'embedder on scifact: encoding corpus 2,048/5,183 (40%), 1m12s elapsed, ETA 1m48s'; without a total
    the count and elapsed time alone."""
    head = f"{where}: {description}" if where else description
    if not total:
        return f"{head} {int(done):,} done, {duration(elapsed)} elapsed"
    eta = f", ETA {duration(elapsed / done * (total - done))}" if done else ""
    return f"{head} {int(done):,}/{int(total):,} ({100 * done / total:.0f}%), {duration(elapsed)} elapsed{eta}"


class RichReporter(Reporter):
    def __init__(self, console: Console, every: float | None = None):
        self.console = console
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                 console=console, transient=True)
        self.cells_task = None
        self.cell = ""  # "system on dataset" of the running cell, for the plain lines
        self.every = log_every() if every is None else every
        self._steps: dict[int, tuple[str, str, float]] = {}  # task id -> (cell, description, started)
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __enter__(self):
        self.progress.start()
        if not self.console.is_terminal and self.every > 0:
            self._ticker = threading.Thread(target=self._tick, name="lrbench-progress-log", daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        self.progress.stop()

    def start(self, total: int) -> None:
        self.cells_task = self.progress.add_task("cells", total=total)

    def cell_started(self, cell) -> None:
        self.cell = f"{cell.system_label} on {cell.dataset_label}"
        self.progress.update(self.cells_task, description=escape(self.cell))

    def cell_finished(self, cell, status: str, seconds: float) -> None:
        style = {"computed": "green", "cached": "cyan", "failed": "red"}[status]
        self.console.print(f"[{style}]{status:>8}[/{style}] {escape(cell.system_label)} on {escape(cell.dataset_label)}"
                           f" [dim]({seconds:.1f}s)[/dim]")
        self.progress.advance(self.cells_task)

    def warn(self, message: str) -> None:
        self.console.print(f"[yellow]warning:[/yellow] {escape(message)}")

    def track(self, items: Iterable, total: int | None = None, description: str = "",
              size: Callable[[object], int] | None = None) -> Iterable:
        """Yield `items`, counting each as `size(item)` units (default 1: documents of a block, pairs of a
        batch) against `total` units."""
        if total is None and size is None and hasattr(items, "__len__"):
            total = len(items)
        task = self.progress.add_task(escape(description), total=total)
        self._steps[task] = (self.cell, description, time.perf_counter())
        try:
            for item in items:
                yield item
                self.progress.advance(task, size(item) if size else 1)
        finally:
            self._steps.pop(task, None)
            self.progress.remove_task(task)

    # -- plain lines when no bar can draw ---------------------------------------------------------
    def _tick(self) -> None:
        while not self._stop.wait(self.every):
            for line in self.status_lines():
                self.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def status_lines(self) -> list[str]:
        """One line per long step now running (what the periodic log prints)."""
        tasks = {t.id: t for t in self.progress.tasks}
        now = time.perf_counter()
        return [progress_line(cell, description, tasks[i].completed, tasks[i].total, now - started)
                for i, (cell, description, started) in list(self._steps.items()) if i in tasks]
