"""One executor core: a cell that raises (a suite error included) fails alone, the others are stored and the
leaderboard written, exit 1; `lrbench gate RESULTS` checks a folder without computing, with the suite gate's
verdicts; `lrbench gate SUITE` takes run's executor options."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from lrbench.cli import app
from lrbench.errors import LrbenchError
from lrbench.presentation.leaderboard import load
from lrbench.runners import registry
from lrbench.runners.base import Output, Runner
from lrbench.runners.retrieval.bm25 import BM25Runner
from tests.helpers import write_suite


class SuiteErrorRunner(BM25Runner):
    """Raises a user-fixable error from inside its cell, as a runner does when its data lack something."""

    type = "raises-suite-error"

    def run(self, dataset, inputs, ctx) -> Output:
        raise LrbenchError("this runner needs something the dataset lacks", key="params.k",
                           hint="a test runner: it always fails")


class CrashRunner(BM25Runner):
    type = "raises-crash"

    def run(self, dataset, inputs, ctx) -> Output:
        raise RuntimeError("broken on purpose")


class Passthrough(Runner):
    type = "passthrough-core"
    needs_input = True

    def run(self, dataset, inputs, ctx) -> Output:
        (run,) = inputs.values()
        return Output(run=run)


@pytest.fixture
def test_runners():
    for cls in (SuiteErrorRunner, CrashRunner, Passthrough):
        registry.register_runner(cls)
    yield
    for cls in (SuiteErrorRunner, CrashRunner, Passthrough):
        registry.RUNNERS.unregister(cls.type)


CRANFIELD = {"id": "irds:cranfield", "name": "cranfield", "measures": ["nDCG@10", "AP"]}
MIXED = {"name": "mixed", "datasets": [CRANFIELD],
         "systems": [{"name": "bm25", "type": "bm25", "params": {"k": 100}},
                     {"name": "suite-error", "type": "raises-suite-error"},
                     {"name": "crash", "type": "raises-crash"},
                     {"name": "after-error", "type": "passthrough-core", "input": "suite-error"},
                     {"name": "after-bm25", "type": "passthrough-core", "input": "bm25"}]}


def _run(args):
    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_failing_cells_fail_alone(shared, tmp_path, test_runners):
    out = tmp_path / "out"
    code, output = _run(["run", write_suite(tmp_path, MIXED), "--out", out])
    assert code == 1, output
    assert "Traceback" not in output
    failed = {l.split(" on ")[0].removeprefix("failed: ") for l in output.splitlines() if l.startswith("failed:")}
    assert failed == {"suite-error", "crash", "after-error"}
    assert "suite-error on cranfield: params.k: this runner needs something the dataset lacks" in output
    assert "RuntimeError: broken on purpose" in output and "input system 'suite-error' failed" in output
    board, info = load(out)
    assert set(board["system"]) == {"bm25", "after-bm25"}  # the leaderboard holds every cell that succeeded
    assert {c["system"] for c in info["cells"]} == {"bm25", "after-bm25"}
    assert all((out / "cells" / c["key"] / "meta.json").exists() for c in info["cells"])
    assert {f["system"] for f in info["failed"]} == failed
    assert "bm25" in (out / "leaderboard.md").read_text()


GATED = {"name": "gated", "datasets": [CRANFIELD],
         "systems": [{"name": "bm25", "type": "bm25", "params": {"k": 100}},
                     {"name": "robertson", "type": "bm25", "params": {"k": 100, "method": "robertson"}},
                     {"name": "crash", "type": "raises-crash"}],
         "expect": [{"system": "robertson", "measure": "nDCG@10", "min_delta_vs": "bm25", "value": -0.5},
                    {"system": "robertson", "measure": "AP", "min_delta_vs": "bm25", "value": 0.5},
                    {"system": "crash", "measure": "AP", "value": 0.3}]}


def _verdicts(output: str) -> list[str]:
    return sorted(l for l in output.splitlines() if l.startswith(("FAIL", "failed cell", "gate ")))


def test_gate_on_a_results_folder_computes_nothing_and_agrees(shared, tmp_path, test_runners, monkeypatch):
    suite = write_suite(tmp_path, GATED)
    out = tmp_path / "out"
    baseline = tmp_path / "pinned.yaml"
    code, output = _run(["gate", suite, "--out", out, "--write-baseline", baseline])
    assert code == 1 and "gate FAILED: 1 OK, 0 OKISH, 2 FAIL, 1 failed cells" in output, output

    def no_compute(*args, **kwargs):
        raise AssertionError("a results folder is checked without computing any cell")

    monkeypatch.setattr("lrbench.executors.task.compute_cell", no_compute)
    folder_code, folder_output = _run(["gate", out])
    assert folder_code == code
    assert _verdicts(folder_output) == _verdicts(output)
    # the pinned baseline holds on the folder it was written from: its 4 values pass, the suite's checks stay
    pinned_code, pinned = _run(["gate", out, "--baseline", baseline])
    assert pinned_code == 1 and "gate FAILED: 5 OK, 0 OKISH, 2 FAIL, 1 failed cells" in pinned, pinned


def test_gate_on_a_suite_takes_the_executor_options(shared, tmp_path):
    suite = write_suite(tmp_path, {**GATED, "systems": GATED["systems"][:2], "expect": GATED["expect"][:1]})
    code, output = _run(["gate", suite, "--out", tmp_path / "out", "--executor", "process", "--workers", "1"])
    assert code == 0 and "gate passed: 1 OK" in output, output
    code, output = _run(["gate", suite, "--out", tmp_path / "out", "--address", "auto"])
    assert code == 2 and "--address only applies to --executor ray" in output


def test_a_folder_that_is_not_results_is_one_line(tmp_path):
    code, output = _run(["gate", tmp_path])
    assert code == 2 and "not a results folder (no cells.json)" in output and "Traceback" not in output


def test_failed_cells_are_recorded_for_later_readers(shared, tmp_path, test_runners):
    out = tmp_path / "out"
    _run(["run", write_suite(tmp_path, GATED), "--out", out])
    info = json.loads((out / "cells.json").read_text())
    (failed,) = info["failed"]
    assert failed["system"] == "crash" and "broken on purpose" in failed["error"]

