"""Run cells in a local pool of worker processes (no cluster needed).

Each cell runs in a fresh-interpreter ("spawn") worker; a cell that raises or whose worker dies is
resubmitted up to `retries` times. A dead worker breaks a ProcessPoolExecutor, so the pool is rebuilt and
the cells that were running in it are resubmitted (each such resubmission counts as one of their retries).
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from lrbench.executors.core import DEFAULT_RETRIES
from lrbench.executors.task import CellTask, run_task


class _Handle:
    """A stable handle across resubmissions of the same task."""

    def __init__(self, task: CellTask):
        self.task = task
        self.attempts = 0
        self.future = None


class ProcessPoolBackend:
    kind = "process"
    runs_shards = True
    capacity = None  # the pool queues tasks itself

    def __init__(self, *, workers: int | None = None, retries: int = DEFAULT_RETRIES):
        self.workers = workers or max(1, min(4, os.cpu_count() or 1))
        self.retries = retries
        self._pool = None

    def infeasible(self, cell) -> str | None:
        return None

    def _new_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))

    def open(self, engine) -> None:
        self._new_pool()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _start(self, handle: _Handle) -> None:
        handle.attempts += 1
        handle.future = self._pool.submit(run_task, handle.task)

    def submit(self, task: CellTask):
        handle = _Handle(task)
        self._start(handle)
        return handle

    def wait(self, handles: list) -> list:
        while True:
            by_future = {h.future: h for h in handles}
            done, _ = wait(list(by_future), return_when=FIRST_COMPLETED)
            out, retry, broken = [], [], False
            for future in done:
                handle = by_future[future]
                try:
                    out.append((handle, future.result()))
                except Exception as exc:
                    broken |= isinstance(exc, BrokenProcessPool)
                    (retry if handle.attempts <= self.retries else out).append(
                        handle if handle.attempts <= self.retries else (handle, exc))
            if broken:  # a worker died and took the pool down: rebuild it, resubmit what it lost
                self._new_pool()
                seen = {id(h) for h, _ in out} | {id(h) for h in retry}
                for handle in handles:
                    if id(handle) not in seen and not (handle.future.done() and _ok(handle.future)):
                        if handle.attempts <= self.retries:
                            retry.append(handle)
                        else:
                            out.append((handle, BrokenProcessPool("a worker process died")))
            for handle in retry:
                self._start(handle)
            if out:
                return out


def _ok(future) -> bool:
    try:
        future.result()
        return True
    except BaseException:
        return False
