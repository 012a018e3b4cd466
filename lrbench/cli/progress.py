"""Rich progress for suite runs: one bar over cells, transient bars for long work inside a cell."""

from __future__ import annotations

from typing import Iterable

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from lrbench.executors.core import Reporter


class RichReporter(Reporter):
    def __init__(self, console: Console):
        self.console = console
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True)
        self.cells_task = None

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()

    def start(self, total: int) -> None:
        self.cells_task = self.progress.add_task("cells", total=total)

    def cell_started(self, cell) -> None:
        self.progress.update(self.cells_task, description=escape(f"{cell.system_label} on {cell.dataset_label}"))

    def cell_finished(self, cell, status: str, seconds: float) -> None:
        style = {"computed": "green", "cached": "cyan", "failed": "red"}[status]
        self.console.print(f"[{style}]{status:>8}[/{style}] {escape(cell.system_label)} on {escape(cell.dataset_label)}"
                           f" [dim]({seconds:.1f}s)[/dim]")
        self.progress.advance(self.cells_task)

    def warn(self, message: str) -> None:
        self.console.print(f"[yellow]warning:[/yellow] {escape(message)}")

    def track(self, items: Iterable, total: int | None = None, description: str = "") -> Iterable:
        if total is None and hasattr(items, "__len__"):
            total = len(items)
        task = self.progress.add_task(description, total=total)
        try:
            for item in items:
                yield item
                self.progress.advance(task)
        finally:
            self.progress.remove_task(task)
