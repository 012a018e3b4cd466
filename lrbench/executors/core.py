"""The one scheduling loop: prepare cells in plan order, reuse stored ones, run the rest on a backend.

The driver prepares every cell (key, cached?), submits a cell once its input cell (`input:`) is stored,
collects results as they finish, stores them (data first, meta.json last) and moves one progress bar.
Backends (inline, process pool, Ray) only run tasks: `ExecutorBackend` below is all they implement. An error in
one cell, a suite error (LrbenchError) included, fails that cell and the cells that rerank it; the others
finish and are stored, and the leaderboard is written from the cells that succeeded.
A cell whose runner has shards (the embedder's `shards: N`) on a backend that runs them first runs N shard
tasks, which leave their work in the run store; the cell task, submitted once they all succeed, merges it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, replace
from typing import Iterable, Protocol

import pandas as pd

from lrbench.executors.task import CellTask, ShardTask, TaskResult, describe_error, execute
from lrbench.plan import PreparedCell, build_plan
from lrbench.store.location import ResultsLocation
from lrbench.suites.cells import CellSpec
from lrbench.suites.loader import LoadedSuite

DEFAULT_RETRIES = 2
#: TaskResult statuses of the inline backend: another run stored the cell first / this result is stored
CACHED_ELSEWHERE, STORED = "cached", "stored"


class Reporter:
    """Progress callbacks; the CLI supplies a rich implementation, tests use this silent one."""

    def start(self, total: int) -> None: ...
    def cell_started(self, cell: CellSpec) -> None: ...
    def cell_finished(self, cell: CellSpec, status: str, seconds: float) -> None: ...
    def warn(self, message: str) -> None: ...

    def track(self, items: Iterable, total: int | None = None, description: str = "", size=None) -> Iterable:
        """Report progress over `items`; `size(item)` is how many units (documents, pairs) an item holds."""
        return items


@dataclass
class CellResult:
    #: the prepared cell; its spec when it failed before it could be prepared (a dataset that cannot open)
    cell: PreparedCell | CellSpec
    status: str  # computed | cached | failed
    seconds: float = 0.0
    error: str | None = None

    @property
    def key(self) -> str | None:
        return self.cell.key if isinstance(self.cell, PreparedCell) else None


@dataclass
class SuiteResult:
    location: ResultsLocation
    cells: list[CellResult] = field(default_factory=list)
    leaderboard: pd.DataFrame | None = None

    @property
    def out_dir(self):
        """The store's root: a Path, or a RemotePath for object storage."""
        return self.location.root

    @property
    def failed(self) -> list[CellResult]:
        return [c for c in self.cells if c.status == "failed"]

    def count(self, status: str) -> int:
        return sum(c.status == status for c in self.cells)


class ExecutorBackend(Protocol):
    """Where tasks run. `submit` returns a handle; `wait` blocks until at least one is done and returns
    (handle, TaskResult or the exception that ended it after the backend's retries)."""

    kind: str
    retries: int
    runs_shards: bool  # spread shard tasks over workers (inline: the cell does its shards itself)
    capacity: int | None  # tasks in flight at once (None: the backend queues them itself)

    def open(self, engine: "Engine") -> None: ...
    def close(self) -> None: ...
    def infeasible(self, cell: CellSpec) -> str | None: ...
    def submit(self, task: CellTask | ShardTask): ...
    def wait(self, handles: list) -> list[tuple[object, TaskResult | BaseException]]: ...


class InlineBackend:
    """In this process, one task at a time, with the driver's datasets, store and progress bars."""

    kind = "local"
    retries = 0
    runs_shards = False
    capacity = 1

    def open(self, engine: "Engine") -> None:
        self.engine = engine
        self._pending: list[_Pending] = []

    def close(self) -> None: ...

    def infeasible(self, cell: CellSpec) -> str | None:
        return None

    def submit(self, task: CellTask | ShardTask):
        self._pending.append(_Pending(task))
        return self._pending[-1]

    def wait(self, handles: list) -> list:
        handle = self._pending.pop(0)
        task, engine = handle.task, self.engine
        key = getattr(task, "key", None)
        # another run computing this cell in the same folder holds its lock: wait, then share its result
        with engine.store.lock(key) if key else contextlib.nullcontext():
            if key and not engine.force and engine.store.has(key) and engine.store.intact(key, None):
                return [(handle, TaskResult(task.index, CACHED_ELSEWHERE))]
            try:
                result = execute(task, store=engine.store, progress=engine.reporter.track)  # the cell's dataset
                if isinstance(result, TaskResult) and result.status == "ok":
                    # still under the lock; a cell kept (write-once) is another run's: measures added below
                    result.status = STORED if engine.store_result(task.index, key, result) else CACHED_ELSEWHERE
            except Exception as exc:  # one broken cell must not lose the others
                result = exc
        return [(handle, result)]


class _Pending:
    """A task the inline backend runs when it is waited for (hashable by identity)."""

    def __init__(self, task):
        self.task = task


class Engine:
    """Run a validated suite on a backend; `run()` returns the SuiteResult (leaderboard written)."""

    def __init__(self, loaded: LoadedSuite, out_dir=None, *, backend: ExecutorBackend | None = None, force: bool = False,
                 only: list[str] | None = None, reporter: Reporter | None = None, debug: bool = False):
        from lrbench.store.store import open_store

        self.loaded = loaded
        self.suite = loaded.suite
        self.plan = build_plan(loaded, only)  # validates (once) before anything is written
        self.only = only
        self.backend = backend or InlineBackend()
        # a local folder, file://, or any fsspec URI (s3://bucket/prefix, gs://...): see store/location.py
        self.store = open_store(ResultsLocation.of(out_dir, self.suite.name))
        self.store.prepare_for_writing()
        self.out_dir = self.store.root
        self.force = force
        self.reporter = reporter or Reporter()
        self.debug = debug

    @property
    def retries(self) -> int:
        return self.backend.retries

    def describe(self, exc: BaseException, cell: CellSpec | PreparedCell | None = None) -> str:
        return describe_error(exc, cell, self.debug)

    # -- cached cells -------------------------------------------------------------------------
    def reuse_cached(self, prepared: PreparedCell) -> bool:
        """True when the store holds this cell complete and readable (re-scored if measures changed)."""
        from lrbench.evaluation.evaluators import evaluator_for
        from lrbench.store.store import CorruptCell

        key = prepared.key
        evaluator = evaluator_for(prepared.task)
        if self.store.has(key) and not self.force:
            try:
                self.store.check(key, (evaluator.frame, "perquery", "scores"))
                self._ensure_measures(prepared, evaluator)
                return True
            except CorruptCell as exc:
                self.reporter.warn(f"{prepared.label}: corrupt cell {key} ({exc}); recomputing")
                self.store.discard(key)
        return False

    def _ensure_measures(self, prepared: PreparedCell, evaluator=None) -> None:
        """A stored cell evaluated with other measures (an earlier suite's, another run's sharing the folder)
        is re-scored from its stored output, not rerun. Under the cell's lock, reading meta.json there: two
        runs adding measures to one cell merge them instead of one undoing the other's."""
        from lrbench.evaluation.evaluators import evaluator_for

        key = prepared.key
        evaluator = evaluator or evaluator_for(prepared.task)
        wanted = {evaluator.canonical(m) for m in [*prepared.measures, *evaluator.companions(prepared.measures)]}
        with self.store.lock(key):
            scores = self.store.read_frame(key, "scores")
            if scores is not None and wanted <= set(scores["measure"]):
                return
            union = list(dict.fromkeys([*self.store.meta(key).get("measures", []), *prepared.measures]))
            frame = self.store.read_frame(key, evaluator.frame)
            perquery, scores = evaluator.evaluate(frame, prepared.dataset, union)
            self.store.update(key, {"perquery": perquery, "scores": scores}, measures=union)

    def store_result(self, i: int, key: str, outcome: TaskResult) -> bool:
        """Data first, meta.json last; a cell another run stored meanwhile is kept (write-once) unless --force.
        Returns whether this result was written (False: the stored cell is kept, see `adopt`)."""
        return self.store.put(key, outcome.frames, outcome.meta, replace=self.force)

    def adopt(self, prepared: PreparedCell) -> None:
        """A cell another run stored while this one computed or waited: this suite's measures are added."""
        self._ensure_measures(prepared)

    def _cell_task(self, i: int, prepared: PreparedCell) -> CellTask:
        keys = prepared.input_key if isinstance(prepared.input_key, dict) else \
            ({prepared.input_system: prepared.input_key} if prepared.input_system else {})
        inputs = {name: self.store.get_run(key)[["query_id", "doc_id", "score"]] for name, key in keys.items()}
        return CellTask(i, prepared, self.suite.name, self.plan.base_dir, inputs, self.debug,
                        self.store.location.for_workers)

    # -- the loop -------------------------------------------------------------------------------
    def run(self) -> SuiteResult:
        from lrbench.presentation.leaderboard import write_leaderboard

        for stale in self.store.clean_incomplete():
            self.reporter.warn(f"removed incomplete file from an interrupted run: {stale}")
        cells = self.plan.cells
        self.reporter.start(len(cells))
        loop = _Loop(self, cells)
        self.backend.open(self)
        try:
            loop.run()
        finally:
            self.backend.close()
        result = SuiteResult(self.store.location, [loop.outcomes[i] for i in sorted(loop.outcomes)])
        result.leaderboard = write_leaderboard(self.out_dir, self.suite, self.store,
                                               [c.cell for c in result.cells if c.status != "failed"], result.failed)
        self._write_receipt(result, loop.prepared)
        return result

    def _write_receipt(self, result: SuiteResult, prepared: dict[int, PreparedCell]) -> None:
        """A local folder where every cell of the whole suite is stored gets rerun.json (lrbench.rerun)."""
        from lrbench.presentation.leaderboard import terminal_tables
        from lrbench.rerun import write_receipt

        if result.failed or self.only or self.store.location.remote or not prepared:
            return
        cells = {p.key: p.label for p in prepared.values()}
        write_receipt(self.store, self.loaded, cells, terminal_tables(result.leaderboard, self.suite.baseline))


def data_warning(label: str, meta: dict) -> str | None:
    """Once per dataset: relevant judged documents its corpus lacks count against every system, silently."""
    notes = meta.get("dataset_profile") or {}
    count = notes.get("absent_judged_docs")
    if not count:
        return None
    examples = ", ".join(notes.get("absent_judged_examples") or [])
    return (f"{label}: {count} relevant judged document(s) are not in the corpus (e.g. {examples}); they count "
            "in recall and nDCG and no system can retrieve them")


class _Loop:
    """The state of one run: prepared cells, what waits, what runs, what finished."""

    def __init__(self, engine: Engine, cells: list[CellSpec]):
        self.engine, self.backend, self.reporter = engine, engine.backend, engine.reporter
        self.cells = cells
        self.outcomes: dict[int, CellResult] = {}
        self.status_of: dict[tuple[str, str], str] = {}  # (dataset label, system name) -> worst status so far
        self.in_run = {(c.dataset.label, c.system.name) for c in cells}
        self.prepared: dict[int, PreparedCell] = {}
        self.running: dict[object, tuple[int, int | None]] = {}  # handle -> (cell, shard or None)
        self.shards = ShardBook()
        #: a cell whose key another cell of this run already has (the same config spelled twice): it waits
        #: for that one and is then found in the store
        self.twin_of: dict[int, int] = {}
        self.noted: set[str] = set()  # datasets whose data warnings were given

    def finish(self, i: int, status: str, seconds: float = 0.0, error: str | None = None) -> None:
        cell, prepared = self.cells[i], self.prepared.get(i)
        # the result keeps the cell, not its open dataset: a Results object may outlive the run by long
        self.outcomes[i] = CellResult(replace(prepared, dataset=None) if prepared else cell, status, seconds, error)
        if status != "failed" and cell.dataset.label not in self.noted and prepared is not None:
            self.noted.add(cell.dataset.label)
            try:
                warning = data_warning(cell.dataset.label, self.engine.store.meta(prepared.key))
            except Exception:  # an unreadable cell is reported where it is read
                warning = None
            if warning:
                self.reporter.warn(warning)
        slot = (cell.dataset.label, cell.system.name)
        if status == "failed" or slot not in self.status_of:
            self.status_of[slot] = status
        self.reporter.cell_finished(self.outcomes[i].cell, status, seconds)  # the prepared cell: its key too

    def fail_now(self, i: int, error: str) -> None:
        self.reporter.cell_started(self.cells[i])
        self.finish(i, "failed", 0.0, error)

    def run(self) -> None:
        waiting = self._prepare_all()
        while waiting or self.running:
            for i in list(waiting):
                if i in self.twin_of:
                    self._settle_twin(i, waiting)
                    continue
                if self._full():
                    break
                state, parent = self._input_state(self.cells[i])
                if state == "pending":
                    continue
                waiting.remove(i)
                if state == "failed":
                    self.fail_now(i, f"input system '{parent}' failed")
                else:
                    self._start(i)
            if not self.running:
                for i in waiting:  # inputs that can no longer arrive
                    pending = self._input_state(self.cells[i])[1] or self.cells[i].input_system
                    self.fail_now(i, f"input system '{pending}' did not run")
                break
            for handle, outcome in self.backend.wait(list(self.running)):
                self._collect(handle, outcome)

    def _settle_twin(self, i: int, waiting: list[int]) -> None:
        first = self.outcomes.get(self.twin_of[i])
        if first is None:
            return  # still to run
        waiting.remove(i)
        if first.status == "failed":
            self.fail_now(i, f"same cell as {first.cell.system_label}, which failed")
        else:
            self.reporter.cell_started(self.cells[i])
            self.finish(i, "cached")

    def _full(self) -> bool:
        capacity = self.backend.capacity
        return capacity is not None and len(self.running) >= capacity

    def _prepare_all(self) -> list[int]:
        waiting = []
        first_with: dict[str, int] = {}
        for i, cell in enumerate(self.cells):
            try:
                self.prepared[i] = self.engine.plan.prepare(cell)
                cached = self.engine.reuse_cached(self.prepared[i])
            except Exception as exc:  # one broken cell (a missing file, a bad dataset) must not lose the others
                self.fail_now(i, self.engine.describe(exc, cell))
                continue
            if cached:
                self.reporter.cell_started(cell)
                self.finish(i, "cached")
                continue
            key = self.prepared[i].key
            if key in first_with:
                self.twin_of[i] = first_with[key]
            else:
                first_with[key] = i
            waiting.append(i)
        return waiting

    def _input_state(self, cell: CellSpec) -> tuple[str, str | None]:
        """('ready' | 'pending' | 'failed', the input system that decides it): failed when any input failed."""
        state, which = "ready", None
        for name in cell.input_systems:
            parent = (cell.dataset.label, name)
            if parent not in self.in_run:
                continue
            if parent not in self.status_of:
                state, which = "pending", name
            elif self.status_of[parent] == "failed":
                return "failed", name
        return state, which

    def _start(self, i: int) -> None:
        cell, prepared = self.cells[i], self.prepared[i]
        reason = self.backend.infeasible(cell)
        if reason:
            self.fail_now(i, reason)
            return
        self.reporter.cell_started(cell)
        try:
            count = prepared.runner().shard_count(bool(cell.input_system)) if self.backend.runs_shards else 0
            if count > 1:
                self.shards.start(i, count)
                for shard in range(count):
                    task = ShardTask(i, shard, count, prepared, self.engine.plan.base_dir,
                                     self.engine.store.location.for_workers, self.engine.debug)
                    self.running[self.backend.submit(task)] = (i, shard)
            else:
                self._submit_cell(i)
        except Exception as exc:
            self.finish(i, "failed", 0.0, self.engine.describe(exc, cell))

    def _submit_cell(self, i: int) -> None:
        task = self.engine._cell_task(i, self.prepared[i])
        self.running[self.backend.submit(task)] = (i, None)

    def _collect(self, handle, outcome) -> None:
        i, shard = self.running.pop(handle)
        if shard is None:
            self._record(i, outcome)
            return
        error = self.shards.finished(i, shard, outcome, self.engine.describe, self.backend.retries)
        if error:
            self.finish(i, "failed", 0.0, error)
        elif error is not None:  # every shard is in the store: the cell merges them
            try:
                self._submit_cell(i)
            except Exception as exc:
                self.finish(i, "failed", 0.0, self.engine.describe(exc, self.cells[i]))

    def _record(self, i: int, outcome) -> None:
        cell = self.cells[i]
        if isinstance(outcome, BaseException):
            retried = f" (after {self.backend.retries} retries)" if self.backend.retries else ""
            self.finish(i, "failed", 0.0, self.engine.describe(outcome, cell) + retried)
        elif outcome.status == CACHED_ELSEWHERE:
            self._adopt(i, outcome.seconds, "cached")
        elif outcome.status == STORED:
            self.finish(i, "computed", outcome.seconds)
        elif outcome.status != "ok":
            self.finish(i, "failed", outcome.seconds, outcome.error)
        else:
            reports = self.shards.reports.get(i)
            if reports:
                outcome.meta["profile"]["shard_tasks"] = sorted(reports, key=lambda r: r.get("shard", 0))
            try:
                written = self.engine.store_result(i, self.prepared[i].key, outcome)
            except Exception as exc:
                self.finish(i, "failed", outcome.seconds, f"storing the result failed: {self.engine.describe(exc)}")
                return
            if written:
                self.finish(i, "computed", outcome.seconds)
            else:
                self._adopt(i, outcome.seconds, "computed")

    def _adopt(self, i: int, seconds: float, status: str) -> None:
        try:
            self.engine.adopt(self.prepared[i])
        except Exception as exc:
            self.finish(i, "failed", seconds, f"scoring the stored cell failed: {self.engine.describe(exc)}")
            return
        self.finish(i, status, seconds)


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
