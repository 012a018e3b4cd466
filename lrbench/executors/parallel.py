"""The scheduling loop shared by the parallel executors (Ray, local process pool).

The driver prepares every cell in order (keys, cached cells), then submits a cell as soon as its
input cell (`input:`) is stored, collects results as they finish, writes them to the store and moves
one progress bar. A task that keeps failing after its retries is reported failed; the others finish.
A cell whose runner has shards (the embedder's `shards: N`) first runs N shard tasks, which leave their
work in the run store; the cell task, submitted once they all succeed, merges it.
"""

from __future__ import annotations

import traceback

from lrbench.errors import LrbenchError
from lrbench.executor import CellResult, SuiteExecutor, SuiteResult
from lrbench.executors.task import CellTask, ShardTask, TaskResult
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

            running: dict[object, tuple[int, int | None]] = {}  # handle -> (cell, shard or None)
            shards = ShardBook()

            def submit_cell(i: int) -> None:
                cell = cells[i]
                _, runner_cls, key, config, input_key, measures = prepared[i]
                try:
                    inputs = self._inputs(cell, input_key)
                except Exception as exc:
                    finish(i, "failed", 0.0, self._describe(exc))
                    return
                task = CellTask(i, cell, runner_cls, key, config, measures, self.suite.name,
                                self.loaded.base_dir, inputs, self.debug, self._store_uri())
                running[self._submit(task)] = (i, None)

            def submit_shards(i: int, count: int) -> None:
                shards.start(i, count)
                for shard in range(count):
                    task = ShardTask(i, shard, count, cells[i], prepared[i][1], self.loaded.base_dir,
                                     self._store_uri(), self.debug)
                    running[self._submit(task)] = (i, shard)

            while waiting or running:
                for i in list(waiting):
                    cell = cells[i]
                    parents = [(cell.dataset.label, name) for name in cell.input_systems]
                    if any(p in in_run and p not in status_of for p in parents):
                        continue  # an input cell has not finished yet
                    failed = next((p for p in parents if p in in_run and status_of[p] == "failed"), None)
                    if failed:
                        waiting.remove(i)
                        fail_now(i, f"input system '{failed[1]}' failed")
                        continue
                    waiting.remove(i)
                    reason = self._infeasible(cell)
                    if reason:
                        fail_now(i, reason)
                        continue
                    self.reporter.cell_started(cell)
                    try:
                        count = prepared[i][1](cell.params).shard_count(bool(cell.input_system))
                    except Exception as exc:
                        finish(i, "failed", 0.0, self._describe(exc))
                        continue
                    if count > 1:
                        submit_shards(i, count)
                    else:
                        submit_cell(i)
                if not running:
                    for i in waiting:  # inputs that can no longer arrive
                        fail_now(i, f"input system '{cells[i].input_system}' did not run")
                    break
                for handle, outcome in self._wait(list(running)):
                    i, shard = running.pop(handle)
                    if shard is None:
                        self._record(cells[i], i, prepared[i][2], outcome, finish, shards.reports.get(i))
                        continue
                    error = shards.finished(i, shard, outcome, self._describe, self.retries)
                    if error:
                        finish(i, "failed", 0.0, error)
                    elif error is not None:  # every shard is in the store: the cell merges them
                        submit_cell(i)
        finally:
            self._close()
        result.cells = [outcomes[i] for i in sorted(outcomes)]
        result.leaderboard = write_leaderboard(self.out_dir, self.suite, self.store,
                                               [c.cell for c in result.cells if c.status != "failed"])
        return result

    def _store_uri(self) -> str:
        """Where workers find the run store: an absolute path (their working folder may differ) or a URI."""
        root = self.store.root
        return str(root.resolve()) if hasattr(root, "resolve") else str(root)

    def _record(self, cell, i: int, key: str, outcome, finish, shard_reports: list[dict] | None = None) -> None:
        if isinstance(outcome, BaseException):
            finish(i, "failed", 0.0, f"{self._describe(outcome)} (after {self.retries} retries)")
        elif outcome.status != "ok":
            finish(i, "failed", outcome.seconds, outcome.error)
        else:
            if shard_reports:
                outcome.meta["profile"]["shard_tasks"] = sorted(shard_reports, key=lambda r: r.get("shard", 0))
            try:
                self.store.put(key, outcome.frames, outcome.meta)  # data first, meta.json last
            except Exception as exc:
                finish(i, "failed", outcome.seconds, f"storing the result failed: {self._describe(exc)}")
                return
            finish(i, "computed", outcome.seconds)


class ShardBook:
    """The shard tasks of the cells that have them: which are still running, their summaries, their errors."""

    def __init__(self):
        self.left: dict[int, set[int]] = {}
        self.reports: dict[int, list[dict]] = {}
        self.errors: dict[int, list[str]] = {}

    def start(self, cell: int, count: int) -> None:
        self.left[cell], self.reports[cell], self.errors[cell] = set(range(count)), [], []

    def finished(self, cell: int, shard: int, outcome, describe, retries: int) -> str | None:
        """Record one shard's outcome. None while the cell has shards running; once all are done, "" when
        they all succeeded, else the errors in one line."""
        if isinstance(outcome, BaseException):
            self.errors[cell].append(f"shard {shard + 1}: {describe(outcome)} (after {retries} retries)")
        elif outcome.status != "ok":
            self.errors[cell].append(f"shard {shard + 1}: {outcome.error}")
        else:
            self.reports[cell].append(outcome.meta)
        self.left[cell].discard(shard)
        if self.left[cell]:
            return None
        return "; ".join(self.errors[cell])
