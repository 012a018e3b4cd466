"""The scheduling loop shared by the parallel executors (Ray, local process pool).

The driver prepares every cell in order (keys, cached cells), then submits a cell as soon as its
input cell (`input:`) is stored, collects results as they finish, writes them to the store and moves
one progress bar. A task that keeps failing after its retries is reported failed; the others finish.
"""

from __future__ import annotations

import traceback

from lrbench.errors import LrbenchError
from lrbench.executor import CellResult, SuiteExecutor, SuiteResult
from lrbench.executors.task import CellTask, TaskResult
from lrbench.results.leaderboard import write_leaderboard

DEFAULT_RETRIES = 2


class ParallelExecutor(SuiteExecutor):
    """Subclasses implement the backend hooks `_open`, `_submit`, `_wait` and `_close`."""

    kind = "parallel"

    def __init__(self, loaded, out_dir=None, *, retries: int = DEFAULT_RETRIES, **kwargs):
        super().__init__(loaded, out_dir, **kwargs)
        if retries < 0:
            raise LrbenchError(f"--retries must be 0 or more, not {retries}")
        self.retries = retries

    # -- backend hooks ----------------------------------------------------------------
    def _open(self, cells) -> None: ...
    def _close(self) -> None: ...

    def _submit(self, task: CellTask):
        raise NotImplementedError

    def _wait(self, handles: list) -> list[tuple[object, TaskResult | BaseException]]:
        """Block until at least one handle is done; return (handle, result or the final exception)."""
        raise NotImplementedError

    def _infeasible(self, cell) -> str | None:
        """Why this cell can never be scheduled here (e.g. it asks for a GPU the cluster lacks)."""
        return None

    def _describe(self, exc: BaseException) -> str:
        if self.debug:
            return "".join(traceback.format_exception(exc))
        first = str(exc).strip().splitlines()
        return f"{type(exc).__name__}: {first[0] if first else ''}"

    # -- the loop ---------------------------------------------------------------------
    def run(self) -> SuiteResult:
        cells, result = self._begin()
        outcomes: dict[int, CellResult] = {}
        status_of: dict[tuple[str, str], str] = {}  # (dataset label, system name) -> worst status so far
        in_run = {(c.dataset.label, c.system.name) for c in cells}
        prepared: dict[int, tuple] = {}

        def finish(i: int, status: str, seconds: float = 0.0, error: str | None = None) -> None:
            cell = cells[i]
            outcomes[i] = CellResult(cell, status, seconds, error)
            slot = (cell.dataset.label, cell.system.name)
            if status == "failed" or slot not in status_of:
                status_of[slot] = status
            self.reporter.cell_finished(cell, status, seconds)

        def fail_now(i: int, error: str) -> None:
            self.reporter.cell_started(cells[i])
            finish(i, "failed", 0.0, error)

        self._open(cells)
        try:
            waiting: list[int] = []
            for i, cell in enumerate(cells):
                try:
                    prepared[i] = self._prepare_cell(cell)
                    dataset, _, key, _, _, measures = prepared[i]
                    cached = self._reuse_cached(cell, key, dataset, measures)
                except LrbenchError as exc:
                    if exc.key and not exc.key.startswith(("systems", "datasets")):
                        exc.key = f"{cell.system_label} on {cell.dataset_label}: {exc.key}"
                    raise
                except Exception as exc:  # one broken cell must not lose the others
                    fail_now(i, self._describe(exc))
                    continue
                if cached:
                    self.reporter.cell_started(cell)
                    finish(i, "cached")
                else:
                    waiting.append(i)

            running: dict[object, int] = {}
            while waiting or running:
                for i in list(waiting):
                    cell = cells[i]
                    parent = (cell.dataset.label, cell.input_system)
                    if cell.input_system and parent in in_run:
                        if parent not in status_of:
                            continue  # its input cell has not finished yet
                        if status_of[parent] == "failed":
                            waiting.remove(i)
                            fail_now(i, f"input system '{cell.input_system}' failed")
                            continue
                    waiting.remove(i)
                    reason = self._infeasible(cell)
                    if reason:
                        fail_now(i, reason)
                        continue
                    _, runner_cls, key, config, input_key, measures = prepared[i]
                    try:
                        inputs = self._inputs(cell, input_key)
                    except Exception as exc:
                        fail_now(i, self._describe(exc))
                        continue
                    task = CellTask(i, cell, runner_cls, key, config, measures, self.suite.name,
                                    self.loaded.base_dir, inputs, self.debug)
                    self.reporter.cell_started(cell)
                    running[self._submit(task)] = i
                if not running:
                    for i in waiting:  # inputs that can no longer arrive
                        fail_now(i, f"input system '{cells[i].input_system}' did not run")
                    break
                for handle, outcome in self._wait(list(running)):
                    i = running.pop(handle)
                    self._record(cells[i], i, prepared[i][2], outcome, finish)
        finally:
            self._close()
        result.cells = [outcomes[i] for i in sorted(outcomes)]
        result.leaderboard = write_leaderboard(self.out_dir, self.suite, self.store,
                                               [c.cell for c in result.cells if c.status != "failed"])
        return result

    def _record(self, cell, i: int, key: str, outcome, finish) -> None:
        if isinstance(outcome, BaseException):
            finish(i, "failed", 0.0, f"{self._describe(outcome)} (after {self.retries} retries)")
        elif outcome.status != "ok":
            finish(i, "failed", outcome.seconds, outcome.error)
        else:
            try:
                self.store.put(key, outcome.frames, outcome.meta)  # data first, meta.json last
            except Exception as exc:
                finish(i, "failed", outcome.seconds, f"storing the result failed: {self._describe(exc)}")
                return
            finish(i, "computed", outcome.seconds)
