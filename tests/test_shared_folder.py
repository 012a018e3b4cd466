"""Two suites share one results folder: cells they share are scored for both suites' measures, and each
suite's leaderboard equals its solo run, also when they run at once (a second apart, as two processes)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from lrbench.store.manifest import load
from lrbench.store.store import LocalStore
from tests.helpers import write_suite

ROOT = Path(__file__).resolve().parents[1]
CRAN = {"id": "irds:cranfield", "name": "cranfield", "queries_limit": 40}
SCIFACT = {"id": "irds:beir/scifact/test", "name": "scifact", "queries_limit": 30}
BM25 = {"name": "bm25", "type": "bm25", "params": {"k": 100}}
SUITE_A = {"name": "shared-a", "datasets": [{**CRAN, "measures": ["nDCG@10", "AP"]},
                                            {**SCIFACT, "measures": ["nDCG@10"]}],
           "systems": [BM25, {"name": "robertson", "type": "bm25",
                              "params": {"k": 100, "method": "robertson", "k1": 1.2}}]}
SUITE_B = {"name": "shared-b", "datasets": [{**CRAN, "measures": ["P@10", "RR"]},
                                            {**SCIFACT, "measures": ["R@100"]}],
           "systems": [BM25, {"name": "bm25-k1", "type": "bm25", "params": {"k": 100, "k1": 0.5}}]}


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}


def _spawn(suite: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lrbench", "run", str(suite), "--out", str(out)], cwd=ROOT,
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(proc: subprocess.Popen) -> str:
    output = proc.communicate(timeout=600)[0]
    assert proc.returncode == 0, output
    assert "Traceback" not in output, output
    return output


def _own_rows(board: pd.DataFrame, suite: dict) -> pd.DataFrame:
    """The rows of a suite's own (dataset, system) slots and measures, sorted."""
    keep = {(d["name"], s["name"], m) for d in suite["datasets"] for s in suite["systems"] for m in d["measures"]}
    mask = [(d, s, m) in keep for d, s, m in zip(board["dataset"], board["system"], board["measure"])]
    rows = board[mask][["dataset", "system", "measure", "value"]]
    return rows.sort_values(["dataset", "system", "measure"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def suites(tmp_path_factory):
    folder = tmp_path_factory.mktemp("suites")
    paths = {"a": write_suite(folder, SUITE_A, "a.yaml"), "b": write_suite(folder, SUITE_B, "b.yaml")}
    solo = {}
    for name, path in paths.items():
        _finish(_spawn(path, folder / f"solo-{name}"))
        solo[name] = _own_rows(load(folder / f"solo-{name}")[0], SUITE_A if name == "a" else SUITE_B)
        assert len(solo[name]) == 6  # 2 systems x (2 + 1) measures
    return paths, solo


def test_two_suites_a_second_apart_on_one_folder(shared, suites, tmp_path):
    paths, solo = suites
    out = tmp_path / "shared"
    first = _spawn(paths["a"], out)
    time.sleep(1.0)
    second = _spawn(paths["b"], out)
    _finish(first), _finish(second)
    # the folder's leaderboard is the suite that committed last, equal to its solo run (a board shows one
    # suite's cells: another suite's cells are not stale rows of this one)
    board, info = load(out)
    last = "a" if info["suite"] == SUITE_A["name"] else "b"
    pd.testing.assert_frame_equal(_own_rows(board, SUITE_A if last == "a" else SUITE_B), solo[last])
    store = LocalStore(out)
    assert len(store.keys()) == 6 and len(info["cells"]) == 4  # bm25 on both datasets is shared
    shared_keys = {c["key"] for c in info["cells"] if c["system"] == "bm25"}
    for key in shared_keys:  # each shared cell carries both suites' measures, checked against its files
        assert {"nDCG@10", "P@10"} <= set(store.meta(key)["measures"]) or \
            {"nDCG@10", "R@100"} <= set(store.meta(key)["measures"])
        store.check(key, ("run", "perquery", "scores"))
    # a solo rerun of each suite (fast path or not) prints its own numbers again, nothing recomputed
    for name, suite in (("a", SUITE_A), ("b", SUITE_B)):
        again = _finish(_spawn(paths[name], out))
        assert "0 computed, 4 cached" in again, again
        pd.testing.assert_frame_equal(_own_rows(load(out)[0], suite), solo[name])


def test_a_cell_stored_by_another_suite_is_scored_for_this_one(shared, suites, tmp_path):
    """Sequentially, through the Python API: the second suite reuses the first one's cell and adds its measures."""
    import lrbench

    paths, solo = suites
    out = tmp_path / "seq"
    lrbench.run(paths["a"], out=out)
    second = lrbench.run(paths["b"], out=out)
    assert second.count("cached") == 2 and second.count("computed") == 2
    pd.testing.assert_frame_equal(_own_rows(second.leaderboard, SUITE_B), solo["b"])
    pd.testing.assert_frame_equal(_own_rows(load(out)[0], SUITE_B), solo["b"])
    again = lrbench.run(paths["a"], out=out)  # suite A again: nothing recomputed, its own board
    assert again.count("cached") == 4
    pd.testing.assert_frame_equal(_own_rows(again.leaderboard, SUITE_A), solo["a"])
