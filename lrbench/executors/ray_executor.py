"""Run a suite's cells as Ray tasks, on a local Ray instance or an existing cluster.

- `address=None` starts a private local Ray instance (all cores, or `num_cpus`) and stops it at the end;
  `"auto"` or `"ray://host:10001"` or `"host:6379"` joins an existing cluster.
- Each system's `resources:` ({num_cpus, num_gpus, memory, custom}) become the task's Ray resources.
- A task whose worker dies or raises is retried `retries` times (Ray's max_retries/retry_exceptions);
  a user error (LrbenchError) is not retried. The driver stores results and shows the progress bar.
Workers open datasets themselves: on a multi-node cluster, every node needs the data (LRBENCH_MIRROR,
an ir_datasets cache, or the beir: folder at the same path) and lrbench installed.
"""

from __future__ import annotations

import logging
import re

from lrbench.errors import LrbenchError
from lrbench.executors.core import DEFAULT_RETRIES
from lrbench.executors.task import CellTask, ShardTask, run_task
from lrbench.plan.resources import HINT, ResourceProblem, parse_resources

def ray_options(system, loaded=None) -> dict:
    """A system's `resources:` block as Ray task options (one CPU by default); the plan layer has already
    reported any problem with file:line, so this only converts."""
    try:
        return parse_resources(system.resources)
    except ResourceProblem as problem:
        key = f"systems.{system.name}.resources" + (f".{problem.sub}" if problem.sub else "")
        raise LrbenchError(str(problem), key=key, hint=HINT) from None


def _demands(options: dict) -> dict[str, float]:
    out = {"CPU": options.get("num_cpus", 1), "GPU": options.get("num_gpus", 0),
           "memory": options.get("memory", 0)}
    out.update(options.get("resources", {}))
    return {k: v for k, v in out.items() if v}


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Ray waits for an unreachable GCS without end: fail fast with a clear line instead."""
    import socket

    match = re.fullmatch(r"(?:ray://)?\[?([^\]/]+?)\]?:(\d+)/?", address.strip())
    if not match:
        return  # "auto" and other forms: Ray resolves them and fails fast itself
    try:
        socket.create_connection((match.group(1), int(match.group(2))), timeout=timeout).close()
    except OSError as exc:
        raise LrbenchError(f"cannot reach the Ray cluster at '{address}': {exc}", key="--address",
                           hint="check the head node's address and port (6379 for GCS, 10001 for ray://), "
                                "or leave --address out to run a local Ray instance") from None


class RayBackend:
    kind = "ray"
    runs_shards = True
    capacity = None  # Ray queues tasks until the cluster has room

    def __init__(self, *, address: str | None = None, retries: int = DEFAULT_RETRIES, num_cpus: int | None = None,
                 debug: bool = False):
        self.address = address
        self.num_cpus = num_cpus
        self.retries = retries
        self.debug = debug
        self._started = False
        self._warned: set[str] = set()

    def open(self, engine) -> None:
        self.reporter = engine.reporter
        self._options = {s.name: ray_options(s) for s in engine.suite.systems}
        try:
            import ray
        except ImportError:
            raise LrbenchError("--executor ray needs Ray", hint="pip install 'lrbench[ray]'") from None
        self._ray = ray
        if not ray.is_initialized():
            local = self.address in (None, "", "local")
            kwargs = dict(include_dashboard=False, log_to_driver=self.debug,
                          logging_level=logging.INFO if self.debug else logging.WARNING)
            if not local:
                _check_reachable(self.address)
            try:
                if local:
                    ray.init(address="local", num_cpus=self.num_cpus, **kwargs)
                else:
                    ray.init(address=self.address, **kwargs)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise LrbenchError(f"cannot reach the Ray cluster at '{self.address}': {exc}",
                                   key="--address",
                                   hint="start one with `ray start --head`, or leave --address out to run a "
                                        "local Ray instance") from None
            self._started = True
        # without an explicit address nothing will add nodes: a cell the cluster cannot fit fails now
        self._fixed_size = self.address in (None, "", "local")
        self._remote = ray.remote(run_task)
        self._totals = ray.cluster_resources()

    def close(self) -> None:
        if self._started:
            self._ray.shutdown()
            self._started = False

    def infeasible(self, cell) -> str | None:
        for resource, amount in _demands(self._options[cell.system.name]).items():
            have = self._totals.get(resource, 0)
            if amount > have:
                message = (f"needs {resource}={amount:g} but the Ray cluster has {have:g}; change "
                           f"systems.{cell.system.name}.resources or use a cluster that has it")
                if self._fixed_size:
                    return message
                if cell.system.name not in self._warned:  # an autoscaler may add such nodes
                    self._warned.add(cell.system.name)
                    self.reporter.warn(f"{cell.system_label}: {message}; waiting for the autoscaler")
        return None

    def submit(self, task: CellTask | ShardTask):
        options = dict(self._options[task.cell.system.name])
        return self._remote.options(
            max_retries=self.retries, retry_exceptions=True, name=task.title, **options).remote(task)

    def wait(self, handles: list) -> list:
        ray = self._ray
        ready, _ = ray.wait(handles, num_returns=1)
        more, _ = ray.wait([h for h in handles if h not in ready], num_returns=len(handles) - len(ready),
                           timeout=0) if len(handles) > len(ready) else ([], [])
        out = []
        for ref in list(ready) + list(more):
            try:
                out.append((ref, ray.get(ref)))
            except Exception as exc:  # RayTaskError, WorkerCrashedError, OutOfMemoryError ...
                out.append((ref, getattr(exc, "cause", None) or exc))
        return out
