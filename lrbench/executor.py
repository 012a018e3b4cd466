"""Short names for running a suite in this process: `SuiteExecutor(loaded, out).run()`.

The engine itself is lrbench/executors/core.py (one loop, backends inline / process pool / Ray); this
module names its in-process form and the types callers hold.
"""

from __future__ import annotations

from lrbench.executors.core import CellResult, Engine, InlineBackend, Reporter, SuiteResult, default_out_dir
from lrbench.executors.task import compute_cell


class SuiteExecutor(Engine):
    """The engine on the inline backend (no retries, the driver's progress bars reach the runners)."""

    def __init__(self, loaded, out_dir=None, **kwargs):
        super().__init__(loaded, out_dir, backend=InlineBackend(), **kwargs)


__all__ = ["CellResult", "Reporter", "SuiteExecutor", "SuiteResult", "compute_cell", "default_out_dir"]
