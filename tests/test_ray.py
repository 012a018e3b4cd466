"""Ray executor on a local 2-CPU Ray cluster: same leaderboard as the local executor; a killed task is
retried; a task that keeps failing is reported failed while the others finish; input ordering holds."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import lrbench
from lrbench.cli import app
from lrbench.errors import LrbenchError
from lrbench.executors.core import Reporter
from lrbench.presentation.leaderboard import load
from lrbench.runners import registry
from lrbench.runners.base import Output, Runner, top_k
from lrbench.runners.retrieval.bm25 import BM25Runner
from lrbench.plan import load_suite
from tests.helpers import scores, write_suite

ray = pytest.importorskip("ray")


# -- test-only runners (shipped to the Ray workers by value) -----------------------------------------
class CrashOnceBM25(BM25Runner):
    """BM25 whose first attempt kills its worker process (os._exit), like an OOM kill or a lost node."""

    type = "crash-once"
    log = ""  # set by the test: one line per attempt

    def run(self, dataset, inputs, ctx) -> Output:
        first = not os.path.exists(self.log)
        with open(self.log, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        if first:
            os._exit(1)
        return super().run(dataset, inputs, ctx)


class AlwaysFails(BM25Runner):
    type = "always-fails"
    log = ""

    def run(self, dataset, inputs, ctx) -> Output:
        with open(self.log, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        raise RuntimeError("broken on purpose")


class Passthrough(Runner):
    """A 'reranker' that keeps its input's top-depth order: checks that inputs arrive after their cell."""

    type = "passthrough"
    needs_input = True

    def run(self, dataset, inputs, ctx) -> Output:
        (run,) = inputs.values()
        return Output(run=top_k(run, ctx.depth), profile={"pid": os.getpid()})


@pytest.fixture(scope="module")
def ray_cluster():
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture
def test_runners(monkeypatch, tmp_path):
    for cls in (CrashOnceBM25, AlwaysFails, Passthrough):
        registry.register_runner(cls)
    monkeypatch.setattr(CrashOnceBM25, "log", str(tmp_path / "crash-once.log"))
    monkeypatch.setattr(AlwaysFails, "log", str(tmp_path / "always-fails.log"))
    yield tmp_path
    for cls in (CrashOnceBM25, AlwaysFails, Passthrough):
        registry.RUNNERS.unregister(cls.type)


class Recorder(Reporter):
    def __init__(self):
        self.finished: list[tuple[str, str]] = []
        self.total = None

    def start(self, total):
        self.total = total

    def cell_finished(self, cell, status, seconds):
        self.finished.append((cell.system_label, status))


MULTI = {
    "name": "ray-multi",
    "datasets": [{"id": "irds:beir/scifact/test", "name": "scifact", "measures": ["nDCG@10", "R@100"]},
                 {"id": "irds:cranfield", "name": "cranfield", "measures": ["nDCG@10", "AP"]}],
    "baseline": "bm25",
    "systems": [
        {"name": "bm25", "type": "bm25", "params": {"k1": 0.9, "b": 0.4, "k": 100}},
        {"name": "robertson", "type": "bm25", "params": {"k1": 1.2, "b": 0.75, "method": "robertson", "k": 100},
         "resources": {"num_cpus": 1}},
        {"name": "top20", "type": "passthrough", "input": "bm25", "depth": 20},
    ],
}


def test_ray_leaderboard_identical_to_local(ray_cluster, test_runners, shared, tmp_path):
    suite = write_suite(tmp_path, MULTI)
    local = lrbench.run(suite, out=tmp_path / "local")
    assert not local.failed and local.count("computed") == 6

    result = CliRunner().invoke(app, ["run", str(suite), "--out", str(tmp_path / "ray"), "--executor", "ray",
                                      "--retries", "1"])
    assert result.exit_code == 0, result.output
    board, info = load(tmp_path / "ray")
    pd.testing.assert_frame_equal(board, local.leaderboard)
    assert (tmp_path / "ray" / "leaderboard.md").read_text() == (tmp_path / "local" / "leaderboard.md").read_text()
    # the cells really ran in Ray workers, and the reranker saw its input's stored run
    metas = [pd.read_json(tmp_path / "ray" / "cells" / c["key"] / "meta.json", typ="series") for c in info["cells"]]
    assert all(m["worker"].rsplit(":", 1)[1] != str(os.getpid()) for m in metas)
    top20 = scores(board, "scifact", "top20")
    assert top20["nDCG@10"] == scores(board, "scifact", "bm25")["nDCG@10"]
    assert top20["R@100"] < scores(board, "scifact", "bm25")["R@100"]

    again = Recorder()
    rerun = lrbench.run(suite, out=tmp_path / "ray", executor="ray", reporter=again)
    assert rerun.count("cached") == 6 and again.total == 6


KILL = {
    "name": "ray-kill",
    "datasets": [{"id": "irds:cranfield", "name": "cranfield", "measures": ["nDCG@10", "AP"]}],
    "systems": [
        {"name": "bm25", "type": "bm25", "params": {"k": 100}},
        {"name": "crashy", "type": "crash-once", "params": {"k": 100}},
        {"name": "broken", "type": "always-fails"},
        {"name": "after-broken", "type": "passthrough", "input": "broken", "depth": 10},
        {"name": "needs-gpu", "type": "bm25", "params": {"k": 10}, "resources": {"num_gpus": 1}},
    ],
}


def test_killed_task_is_retried_and_failures_do_not_stop_the_suite(ray_cluster, test_runners, shared, tmp_path):
    recorder = Recorder()
    result = lrbench.run(write_suite(tmp_path, KILL), out=tmp_path / "out", executor="ray", retries=1,
                         reporter=recorder)
    status = dict(recorder.finished)
    assert status == {"bm25": "computed", "crashy": "computed", "broken": "failed",
                      "after-broken": "failed", "needs-gpu": "failed"}
    crash_attempts = (test_runners / "crash-once.log").read_text().split()
    assert len(crash_attempts) == 2 and crash_attempts[0] != crash_attempts[1], "killed once, then retried"
    assert len((test_runners / "always-fails.log").read_text().split()) == 2, "1 attempt + 1 retry"
    errors = {system: error for _, system, error in result.failed}
    assert "broken on purpose" in errors["broken"]
    assert "input system 'broken' failed" in errors["after-broken"]
    assert "GPU=1" in errors["needs-gpu"] and "has 0" in errors["needs-gpu"]
    # the retried cell's results equal the same BM25 run that never crashed
    assert scores(result.leaderboard, "cranfield", "crashy") == scores(result.leaderboard, "cranfield", "bm25")
    assert set(result.leaderboard["system"]) == {"bm25", "crashy"}


def test_resources_are_validated_before_ray_starts(tmp_path):
    from lrbench.executors import make_executor
    from lrbench.executors.ray_executor import ray_options

    bad = dict(KILL, systems=[{"name": "bm25", "type": "bm25", "resources": {"num_gpu": 1}}])
    with pytest.raises(LrbenchError) as err:  # the plan layer reports it while loading, before Ray starts
        make_executor("ray", load_suite(write_suite(tmp_path, bad)), tmp_path / "out")
    assert err.value.key == "systems.bm25.resources.num_gpu" and err.value.line is not None
    assert "num_gpus" in err.value.hint
    loaded = load_suite(write_suite(tmp_path, dict(KILL, systems=[
        {"name": "big", "type": "bm25", "resources": {"num_cpus": 4, "num_gpus": 0.5, "memory": "2GiB",
                                                      "custom": {"accel": 1}}}]), "ok.yaml"))
    assert ray_options(loaded.suite.systems[0], loaded) == {"num_cpus": 4, "num_gpus": 0.5, "memory": 2 * 2**30,
                                                            "resources": {"accel": 1}}


def test_process_pool_matches_local(shared, tmp_path):
    suite = write_suite(tmp_path, dict(MULTI, datasets=MULTI["datasets"][1:], systems=MULTI["systems"][:2]))
    local = lrbench.run(suite, out=tmp_path / "local")
    pooled = lrbench.run(suite, out=tmp_path / "pool", executor="process", workers=2)
    assert pooled.count("computed") == 2
    pd.testing.assert_frame_equal(pooled.leaderboard, local.leaderboard)


def test_address_needs_ray_executor(tmp_path):
    from lrbench.executors import make_executor

    with pytest.raises(LrbenchError, match="--address"):
        make_executor("local", load_suite(write_suite(tmp_path, dict(MULTI, systems=MULTI["systems"][:1]))),
                      tmp_path / "o", address="auto")


def test_unreachable_address_fails_fast():
    """Ray itself waits for an unreachable head without end; lrbench checks the port first."""
    import socket

    from lrbench.executors.ray_executor import _check_reachable

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nothing listens there
    for address in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{port}"):
        with pytest.raises(LrbenchError) as err:
            _check_reachable(address)
        assert err.value.key == "--address" and "cannot reach" in err.value.message
