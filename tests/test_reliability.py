"""Reliability: concurrent runs on one results folder, kills between the leaderboard's writes, checksummed
cells, a leaderboard that only grows, qrels within a dataset's own topics, escapes and offline behaviour."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from lrbench.cli import app
from lrbench.errors import LrbenchError
from lrbench.executors.core import Engine, Reporter
from lrbench.presentation.leaderboard import load
from lrbench.store.store import LocalStore
from lrbench.plan import load_suite
from tests.helpers import write_suite
from tests.test_s3_store import BUCKET, s3_server  # noqa: F401  (the moto S3 fixture)

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
SUITE = {
    "name": "reliab",
    "datasets": [{"id": "irds:cranfield", "name": "cranfield", "measures": ["nDCG@10", "AP"]}],
    "baseline": "bm25",
    "systems": [{"name": "bm25", "type": "bm25", "params": {"k": 100}},
                {"name": "robertson", "type": "bm25", "params": {"k": 100, "method": "robertson", "k1": 1.2}}],
}


class Statuses(Reporter):
    def __init__(self):
        self.status = {}

    def cell_finished(self, cell, status, seconds):
        self.status[cell.system_label] = status


def _sorted(board: pd.DataFrame) -> pd.DataFrame:
    return board.sort_values(["dataset", "system", "measure"]).reset_index(drop=True)


def _spawn(suite: Path, out: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lrbench.cli", "run", str(suite), "--out", out],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _two_at_once(suite: Path, out: str) -> list[tuple[int, str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [_spawn(suite, out, env) for _ in range(2)]
    return [(p.wait(timeout=300), p.stdout.read()) for p in procs]


@pytest.fixture(scope="module")
def solo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("solo")
    suite = write_suite(folder, SUITE)
    return suite, _sorted(Engine(load_suite(suite), folder / "out").run().leaderboard)


def test_two_runs_on_one_folder_both_succeed(shared, solo, tmp_path):
    suite, expected = solo
    out = tmp_path / "shared-out"
    for code, output in _two_at_once(suite, str(out)):
        assert code == 0, output
    board, info = load(out)
    pd.testing.assert_frame_equal(_sorted(board), expected)
    assert len(info["cells"]) == 2 and len(LocalStore(out).keys()) == 2
    for key in LocalStore(out).keys():
        LocalStore(out).check(key, ("run", "perquery", "scores"))


def test_two_runs_on_one_s3_prefix_both_succeed(s3_server, shared, solo):  # noqa: F811
    suite, expected = solo
    uri = f"s3://{BUCKET}/concurrent"
    for code, output in _two_at_once(suite, uri):
        assert code == 0, output
    shown = runner.invoke(app, ["show", uri, "--json"])
    assert shown.exit_code == 0, shown.output
    board = pd.DataFrame(json.loads(shown.stdout)["rows"])
    pd.testing.assert_frame_equal(_sorted(board), expected)


def test_only_keeps_the_suites_leaderboard_and_a_second_suite_shows_its_own(shared, solo, tmp_path):
    suite, expected = solo
    out = tmp_path / "out"
    Engine(load_suite(suite), out).run()
    only = Engine(load_suite(suite), out, only=["robertson"]).run()
    assert only.count("cached") == 1
    pd.testing.assert_frame_equal(_sorted(load(out)[0]), expected)
    other = dict(SUITE, name="other", baseline=None, systems=[{"name": "bm25-k1", "type": "bm25", "params": {"k": 100, "k1": 0.5}}])
    Engine(load_suite(write_suite(tmp_path, other, "other.yaml")), out).run()
    board, info = load(out)
    assert set(board["system"]) == {"bm25-k1"} and len(info["cells"]) == 1  # the run's suite, nothing stale
    Engine(load_suite(suite), out, only=["robertson"]).run()  # the first suite again: its cells are all cached
    board, info = load(out)
    assert set(board["system"]) == {"robertson"}  # an --only run adds to its own suite's board only
    Engine(load_suite(suite), out).run()
    report = runner.invoke(app, ["report", str(out), "--no-plots"])
    assert report.exit_code == 0, report.output
    assert "robertson" in (out / "report.md").read_text() and "bm25-k1" not in (out / "report.md").read_text()


class Killed(BaseException):
    """Stands for SIGKILL at one moment: nothing after it runs (not even except Exception handlers)."""


@pytest.mark.parametrize("moment", ["leaderboard.md", "cells.json"])
def test_a_kill_between_the_leaderboard_writes_leaves_the_previous_commit(shared, solo, tmp_path, monkeypatch, moment):
    suite, _ = solo
    out = tmp_path / "out"
    first = dict(SUITE, systems=SUITE["systems"][:1])
    Engine(load_suite(write_suite(tmp_path, first, "first.yaml")), out).run()
    committed = _sorted(load(out)[0])
    import lrbench.atomic

    real = lrbench.atomic.os.replace

    def dies_at(src, dst):  # the views and the manifest are written in full, then renamed into place in turn
        if Path(dst).name == moment:
            raise Killed()
        return real(src, dst)

    monkeypatch.setattr(lrbench.atomic.os, "replace", dies_at)
    with pytest.raises(Killed):
        Engine(load_suite(suite), out).run()
    monkeypatch.setattr(lrbench.atomic.os, "replace", real)
    assert not list(out.glob(".tmp-*"))
    # leaderboard.parquet already holds the new board, but the manifest still commits the old one
    assert len(pd.read_parquet(out / "leaderboard.parquet")) > len(committed)
    pd.testing.assert_frame_equal(_sorted(load(out)[0]), committed)
    shown = runner.invoke(app, ["show", str(out), "--json"])
    assert {r["system"] for r in json.loads(shown.stdout)["rows"]} == {"bm25"}
    # the next run commits everything
    again = Engine(load_suite(suite), out, reporter=Statuses()).run()
    assert again.count("cached") == 2
    assert set(load(out)[0]["system"]) == {"bm25", "robertson"}


def test_a_kill_while_writing_report_compare_and_gate_outputs_keeps_the_old_file(shared, solo, tmp_path, monkeypatch):
    suite, _ = solo
    out = tmp_path / "out"
    Engine(load_suite(suite), out).run()
    paths = {"report": out / "report.md", "compare": tmp_path / "cmp.md", "junit": tmp_path / "j.xml",
             "baseline": tmp_path / "base.yaml"}
    commands = {"report": ["report", str(out), "--no-plots"],
                "compare": ["compare", str(out), "bm25", "robertson", "--out", str(paths["compare"])]}
    for name, args in commands.items():
        assert runner.invoke(app, args).exit_code == 0
    for name in ("report", "compare"):
        paths[name].write_text("previous complete version\n")
    import lrbench.atomic

    def killed_replace(src, dst):
        raise Killed()

    monkeypatch.setattr(lrbench.atomic.os, "replace", killed_replace)
    for name, args in commands.items():
        with pytest.raises(Killed):
            runner.invoke(app, args)
        assert paths[name].read_text() == "previous complete version\n"  # never torn
    from lrbench.atomic import write_text

    for name in ("junit", "baseline"):
        with pytest.raises(Killed):
            write_text(paths[name], "<testsuites/>")
        assert not paths[name].exists()
    assert not [p for p in tmp_path.rglob(".tmp-*")]


def test_a_swapped_or_edited_cell_file_is_detected_and_recomputed(shared, solo, tmp_path):
    suite, expected = solo
    out = tmp_path / "out"
    Engine(load_suite(suite), out).run()
    store = LocalStore(out)
    a, b = sorted(store.keys())
    # swap the two cells' runs (both are valid Parquet files of the right schema)
    ra, rb = store.cell_dir(a) / "run.parquet", store.cell_dir(b) / "run.parquet"
    data_a, data_b = ra.read_bytes(), rb.read_bytes()
    ra.write_bytes(data_b)
    rb.write_bytes(data_a)
    assert not store.intact(a, ("run",)) and not store.intact(b, ("run",))
    statuses = Statuses()
    Engine(load_suite(suite), out, reporter=statuses).run()
    assert statuses.status == {"bm25": "computed", "robertson": "computed"}
    pd.testing.assert_frame_equal(_sorted(load(out)[0]), expected)
    # an edited score, and a meta.json emptied to {}
    scores = pd.read_parquet(store.cell_dir(a) / "scores.parquet")
    scores["value"] = 1.0
    scores.to_parquet(store.cell_dir(a) / "scores.parquet", index=False)
    (store.cell_dir(b) / "meta.json").write_text("{}")
    statuses = Statuses()
    Engine(load_suite(suite), out, reporter=statuses).run()
    assert set(statuses.status.values()) == {"computed"}
    pd.testing.assert_frame_equal(_sorted(load(out)[0]), expected)
    meta = store.meta(a)
    assert set(meta["files"]) == {"run.parquet", "perquery.parquet", "scores.parquet"}


def test_a_candidate_file_is_scored_over_its_own_queries(shared, tmp_path):
    """Six queries of the BM25 candidates beside the full DL19 qrels: nDCG@10 over those six queries,
    checked against ir-measures on qrels restricted by hand."""
    import ir_measures

    dl19 = shared / "trec-dl-2019-passage"
    lists = json.loads((dl19 / "rank_llm_candidates" / "BM25.top100.dl19.json").read_text())[:6]
    (tmp_path / "six.json").write_text(json.dumps(lists))
    suite = write_suite(tmp_path, {"name": "six", "datasets": [
        {"id": "candidates:six.json", "name": "six", "qrels": str(dl19 / "qrels.dl19-passage.txt")}],
        "measures": ["nDCG@10"], "systems": [{"name": "bm25", "type": "given"}]})
    result = Engine(load_suite(suite), tmp_path / "out").run()
    _, info = load(tmp_path / "out")
    assert info["cells"][0]["queries"] == 6
    qids = {str(e["hits"][0]["qid"]) for e in lists}
    qrels = [q for q in ir_measures.read_trec_qrels(str(dl19 / "qrels.dl19-passage.txt")) if q.query_id in qids]
    run = [ir_measures.ScoredDoc(str(h["qid"]), str(h["docid"]), float(h["score"])) for e in lists for h in e["hits"]]
    expected = ir_measures.calc_aggregate([ir_measures.nDCG @ 10], qrels, run)[ir_measures.nDCG @ 10]
    assert result.leaderboard["value"].iloc[0] == pytest.approx(expected, abs=1e-9)


def test_remote_object_keys_cannot_write_outside_the_local_copy(monkeypatch, tmp_path):
    import fsspec

    from lrbench.store import remote

    fs = fsspec.filesystem("memory")
    fs.pipe("/escape-test/cells.json", b'{"cells": []}')
    real = remote.open_store

    def with_a_bad_key(uri):
        store = real(uri)
        listed = store.files()
        store.files = lambda: {**listed, "../../../evil.txt": {"size": 1}}
        return store

    monkeypatch.setattr(remote, "open_store", with_a_bad_key)
    with pytest.raises(LrbenchError, match="leaves its folder"):
        remote.local_results("memory://escape-test")
    assert not list(tmp_path.parent.rglob("evil.txt"))


def test_an_unreachable_hub_fails_fast(monkeypatch):
    from lrbench.models import registry

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    registry._HUB.clear()
    started = time.perf_counter()
    with pytest.raises(LrbenchError, match="Hub .* is unreachable"):
        registry.resolve("nosuch-org/nosuch-model")
    assert time.perf_counter() - started < 5
    registry._HUB.clear()


def test_the_mirror_copies_only_source_files(tmp_path):
    from lrbench.datasets.mirror import seed_from_mirror

    mirror, home = tmp_path / "mirror", tmp_path / "home"
    (mirror / "beir" / "scifact" / "docs.pklz4").mkdir(parents=True)
    (mirror / "beir" / "scifact" / "source.zip").write_bytes(b"zip")
    (mirror / "beir" / "scifact" / "docs.pklz4" / "bin").write_bytes(b"pickled code")
    (mirror / "beir" / "scifact" / "queries.pkl").write_bytes(b"pickled code")
    (mirror / "beir" / "trec-covid").mkdir()
    (mirror / "beir" / "trec-covid" / "source.zip").write_bytes(b"other")
    copied = seed_from_mirror("beir/scifact/test", mirror, home)
    assert [p.relative_to(home).as_posix() for p in copied] == ["beir/scifact/source.zip"]
    assert seed_from_mirror("beir/nfcorpus/test", mirror, home) == []
    with pytest.raises(LrbenchError, match="leaves its folder"):
        seed_from_mirror("../" * 5 + "etc", mirror, home)
    shutil.rmtree(home)


def test_a_pipe_in_a_name_does_not_open_a_markdown_column():
    from lrbench.presentation.leaderboard import to_markdown

    board = pd.DataFrame({"dataset": ["d|1"] * 2, "system": ["a|b", "c"], "measure": ["nDCG@10"] * 2,
                          "value": [0.5, 0.25]})
    board.attrs["queries"] = {"d|1": 6}
    rows = [l for l in to_markdown(board, "c").splitlines() if l.startswith("| ")]
    assert rows[1] == "| a\\|b | **0.5000** |" and rows[2] == "| c (baseline) | 0.2500 |"
    assert all(len(l.replace("\\|", "").split("|")) == 4 for l in rows)
    assert "## d\\|1 (6 queries)" in to_markdown(board, None)


def test_nan_or_empty_system_output_fails_the_cell_not_a_zero_score(shared, tmp_path):
    from lrbench.runners.base import Output, Runner, RunnerParams
    from lrbench.runners.registry import register_runner

    class BrokenParams(RunnerParams):
        nan: bool = False

    @register_runner
    class Broken(Runner):
        type = "broken-for-tests"
        version = "1"
        Params = BrokenParams

        def run(self, dataset, inputs, ctx):
            queries = sorted(dataset.eval_queries())[:3]
            scores = [float("nan")] * 3 if self.params.nan else []
            frame = pd.DataFrame({"query_id": queries[: len(scores)], "doc_id": ["1"] * len(scores), "score": scores})
            return Output(run=frame)

    suite = dict(SUITE, baseline=None, systems=[{"name": "nan", "type": "broken-for-tests", "params": {"nan": True}},
                                                {"name": "empty", "type": "broken-for-tests"}])
    from lrbench.runners import registry

    try:
        result = Engine(load_suite(write_suite(tmp_path, suite)), tmp_path / "out").run()
    finally:
        registry.RUNNERS.unregister(Broken.type)
    errors = {f.cell.system_label: f.error for f in result.failed}
    assert "3 of 3 scores are NaN" in errors["nan"] and "no ranked documents" in errors["empty"]
    assert not LocalStore(tmp_path / "out").keys()
