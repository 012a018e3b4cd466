"""Executors: one scheduling loop (executors/core.py) on a backend that says where cells run.

- `local` (default): in this process, one cell after another (InlineBackend).
- `process`: a pool of local worker processes (`workers`), failed cells retried.
- `ray`: Ray tasks on a local Ray instance or an existing cluster (`address`), per-system resources,
  failed tasks retried.
All of them store results through the same store (local folder or any fsspec URI) from the driver.
"""

from __future__ import annotations

from lrbench.errors import LrbenchError

EXECUTORS = ("local", "process", "ray")


def make_backend(kind: str, *, address: str | None = None, retries: int | None = None,
                 workers: int | None = None, debug: bool = False):
    from lrbench.executors.core import DEFAULT_RETRIES, InlineBackend

    if kind not in EXECUTORS:
        raise LrbenchError(f"unknown executor '{kind}'", key="--executor",
                           hint=f"choose one of: {', '.join(EXECUTORS)}")
    if kind != "ray" and address:
        raise LrbenchError("--address only applies to --executor ray", key="--address",
                           hint="add --executor ray, or drop --address")
    retries = DEFAULT_RETRIES if retries is None else retries
    if retries < 0:
        raise LrbenchError(f"--retries must be 0 or more, not {retries}", key="--retries", hint="give 0 or more")
    if kind == "local":
        return InlineBackend()
    if kind == "process":
        from lrbench.executors.pool import ProcessPoolBackend

        return ProcessPoolBackend(workers=workers, retries=retries)
    from lrbench.executors.ray_executor import RayBackend

    return RayBackend(address=address, retries=retries, num_cpus=workers, debug=debug)


def make_executor(kind: str, loaded, out_dir=None, *, address: str | None = None, retries: int | None = None,
                  workers: int | None = None, **kwargs):
    """The engine for `lrbench run --executor KIND`; kwargs are the Engine's (force, only, reporter, debug)."""
    from lrbench.executors.core import Engine

    backend = make_backend(kind, address=address, retries=retries, workers=workers,
                           debug=kwargs.get("debug", False))
    return Engine(loaded, out_dir, backend=backend, **kwargs)


def run_suite(loaded, out_dir=None, *, executor: str = "local", address: str | None = None,
              retries: int | None = None, workers: int | None = None, force: bool = False,
              only: list[str] | None = None, reporter=None, debug: bool = False):
    """Run a loaded suite (lrbench.plan.load_suite) and return its SuiteResult: what `lrbench run` calls."""
    return make_executor(executor, loaded, out_dir, address=address, retries=retries, workers=workers,
                         force=force, only=only, reporter=reporter, debug=debug).run()


__all__ = ["EXECUTORS", "make_backend", "make_executor", "run_suite"]
