"""Executors: where a suite's cells run.

- `local` (default): in this process, one cell after another (lrbench.executor.SuiteExecutor).
- `process`: a pool of local worker processes (`workers`), failed cells retried.
- `ray`: Ray tasks on a local Ray instance or an existing cluster (`address`), per-system resources,
  failed tasks retried.
All of them store results through the same store (local folder or any fsspec URI) from the driver.
"""

from __future__ import annotations

from lrbench.errors import LrbenchError

EXECUTORS = ("local", "process", "ray")


def make_executor(kind: str, loaded, out_dir=None, *, address: str | None = None, retries: int | None = None,
                  workers: int | None = None, **kwargs):
    """The executor for `lrbench run --executor KIND`; kwargs are SuiteExecutor's (force, only, reporter, debug)."""
    from lrbench.executors.parallel import DEFAULT_RETRIES

    retries = DEFAULT_RETRIES if retries is None else retries
    if kind != "ray" and address:
        raise LrbenchError("--address only applies to --executor ray", key="--address",
                           hint="add --executor ray, or drop --address")
    if kind == "local":
        from lrbench.executor import SuiteExecutor

        return SuiteExecutor(loaded, out_dir, **kwargs)
    if kind == "process":
        from lrbench.executors.pool import ProcessPoolSuiteExecutor

        return ProcessPoolSuiteExecutor(loaded, out_dir, workers=workers, retries=retries, **kwargs)
    if kind == "ray":
        from lrbench.executors.ray_executor import RayExecutor

        return RayExecutor(loaded, out_dir, address=address, retries=retries, num_cpus=workers, **kwargs)
    raise LrbenchError(f"unknown executor '{kind}'", key="--executor", hint=f"choose one of: {', '.join(EXECUTORS)}")


__all__ = ["EXECUTORS", "make_executor"]
