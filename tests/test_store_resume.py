"""The run store: kill -9 mid-suite and resume; corrupt files are reported and recomputed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import lrbench
from lrbench.executors.core import Reporter
from lrbench.store.store import TMP_PREFIX
from tests.helpers import write_suite

SWEEP_SUITE = {
    "name": "resume", "measures": ["nDCG@10"],
    "datasets": [{"id": "irds:beir/scifact/test", "name": "scifact"}],
    "systems": [{"name": "grid", "type": "bm25", "sweep": {"k1": [0.6, 0.9, 1.2, 1.5], "b": [0.4, 0.75]}}],
}


def _complete_cells(out: Path) -> set[str]:
    cells = out / "cells"
    return {c.name for c in cells.iterdir() if (c / "meta.json").exists()} if cells.exists() else set()


def test_kill_minus_9_mid_suite_then_resume(tmp_path):
    suite = write_suite(tmp_path, SWEEP_SUITE)
    out = tmp_path / "out"
    env = dict(os.environ)
    proc = subprocess.Popen([sys.executable, "-m", "lrbench.cli", "run", str(suite), "--out", str(out)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(_complete_cells(out)) < 2:
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = _complete_cells(out)
    assert 2 <= len(finished) < 8, "the kill must land mid-suite"

    class Recorder(Reporter):
        def __init__(self):
            self.status = {}

        def cell_finished(self, cell, status, seconds):
            self.status[cell.key] = status

    recorder = Recorder()
    result = lrbench.run(suite, out=out, reporter=recorder)
    assert not result.failed
    assert {k for k, s in recorder.status.items() if s == "cached"} == finished
    assert result.count("computed") == 8 - len(finished)
    assert not list(out.rglob(f"{TMP_PREFIX}*")), "no temp files may survive"
    for cell in (out / "cells").iterdir():
        assert (cell / "meta.json").exists() and (cell / "run.parquet").exists()
    assert len(result.leaderboard) == 8


def test_corrupt_parquet_is_reported_and_recomputed(tmp_path):
    suite = write_suite(tmp_path, {**SWEEP_SUITE, "systems": [{"name": "bm25", "type": "bm25"}]})
    out = tmp_path / "out"
    first = lrbench.run(suite, out=out)
    key = first.cells["key"][0]
    (out / "cells" / key / "run.parquet").write_bytes(b"not parquet at all")

    class Warnings(Reporter):
        messages: list[str] = []

        def warn(self, message):
            self.messages.append(message)

    second = lrbench.run(suite, out=out, reporter=Warnings())
    assert second.count("computed") == 1
    assert any("corrupt" in m and key in m for m in Warnings.messages)
    assert second.leaderboard.equals(first.leaderboard)


def test_force_and_only(tmp_path):
    suite = write_suite(tmp_path, {**SWEEP_SUITE, "systems": [
        {"name": "a", "type": "bm25"}, {"name": "b", "type": "bm25", "params": {"k1": 1.2}}]})
    out = tmp_path / "out"
    only = lrbench.run(suite, out=out, only=["b"])
    assert list(only.cells["system_name"]) == ["b"]
    forced = lrbench.run(suite, out=out, force=True)
    assert forced.count("computed") == 2
