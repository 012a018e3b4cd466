"""Runs out and back in: `lrbench export` in every format, read by `given`, gives the same leaderboard."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from helpers import scores, write_suite

from lrbench.cli import app
from lrbench.errors import LrbenchError
from lrbench.executors.core import Engine
from lrbench.presentation.export import export_runs
from lrbench.datasets.runfiles import detect_format, read_run
from lrbench.plan import load_suite

CRANFIELD = {"id": "irds:cranfield", "name": "cranfield", "relevance": {1: 4, 2: 3, 3: 2, 4: 1, -1: 0},
             "measures": ["nDCG@10", "AP", "P@10"]}


def _run(tmp_path, systems, name):
    path = write_suite(tmp_path, {"name": name, "datasets": [CRANFIELD], "systems": systems}, f"{name}.yaml")
    result = Engine(load_suite(path), tmp_path / name).run()
    assert not result.failed, [c.error for c in result.failed]
    return result


@pytest.fixture(scope="module")
def bm25_results(tmp_path_factory):
    from conftest import SHARED

    if not SHARED.exists():
        pytest.skip("../shared/data is not available")
    tmp_path = tmp_path_factory.mktemp("export")
    result = _run(tmp_path, [{"name": "bm25 k1=0.9", "type": "bm25", "params": {"k1": 0.9, "b": 0.4, "k": 100}}],
                  "first")
    return tmp_path, result


def test_export_formats_read_back_by_given_give_the_same_leaderboard(bm25_results):
    tmp_path, first = bm25_results
    out = tmp_path / "exported"
    cli = CliRunner()
    files = {}
    for fmt in ("trec", "parquet", "jsonl", "ranx", "rankllm"):
        res = cli.invoke(app, ["export", str(first.out_dir), "--format", fmt, "--out", str(out / fmt)])
        assert res.exit_code == 0, res.output
        (files[fmt],) = [p for p in (out / fmt).iterdir() if p.name != "labels.json"]
        # the file name is a slug and hash of the labels; labels.json maps it back to them
        labels = json.loads((out / fmt / "labels.json").read_text())
        assert labels == {files[fmt].name: {"dataset": "cranfield", "system": "bm25 k1=0.9"}}
    # the run tag is the system label, one token; parquet and jsonl carry system and dataset columns
    first_line = files["trec"].read_text().splitlines()[0].split()
    assert len(first_line) == 6 and first_line[1] == "Q0" and first_line[5] == "bm25_k1=0.9"
    frame = pd.read_parquet(files["parquet"])
    assert list(frame.columns) == ["query_id", "doc_id", "rank", "score", "system", "dataset"]
    assert set(frame["system"]) == {"bm25 k1=0.9"} and set(frame["dataset"]) == {"cranfield"}
    record = json.loads(files["jsonl"].read_text().splitlines()[0])
    assert record["system"] == "bm25 k1=0.9" and record["dataset"] == "cranfield"
    lists = json.loads(files["rankllm"].read_text())
    assert lists[0]["query"] and lists[0]["hits"][0]["content"]  # query and passage texts from the dataset
    # ranx's own reader takes the ranx export: {qid: {docid: score}}, the scores of the parquet export
    ranx = pytest.importorskip("ranx")
    theirs = ranx.Run.from_file(str(files["ranx"]), kind="json").to_dict()
    assert theirs == {q: dict(zip(g["doc_id"], g["score"])) for q, g in frame.groupby("query_id")}
    expected_formats = {"trec": "trec", "parquet": "parquet", "jsonl": "jsonl", "rankllm": "rankllm",
                        "ranx": "ranx"}
    assert {fmt: detect_format(path) for fmt, path in files.items()} == expected_formats

    second = _run(tmp_path, [{"name": f"given-{fmt}", "type": "given", "params": {"run": str(path)}}
                             for fmt, path in files.items()], "second")
    want = scores(first.leaderboard, "cranfield", "bm25 k1=0.9")
    assert want and all(v > 0 for v in want.values())
    for fmt in files:
        got = scores(second.leaderboard, "cranfield", f"given-{fmt}")
        assert got.keys() == want.keys(), fmt
        for measure, value in want.items():
            assert got[measure] == pytest.approx(value, abs=1e-12), (fmt, measure)


def test_exported_files_follow_the_umask(bm25_results, tmp_path):
    import os

    _, first = bm25_results
    previous = os.umask(0o022)
    try:
        written = export_runs(first.out_dir, "trec", tmp_path / "umask")
    finally:
        os.umask(previous)
    assert written and all(path.stat().st_mode & 0o777 == 0o644 for path in written)


def test_export_selection_and_bad_requests(bm25_results, tmp_path):
    _, first = bm25_results
    (path,) = export_runs(first.out_dir, "parquet", tmp_path / "one.parquet", system="bm25 k1=0.9",
                          dataset="irds:cranfield")
    assert len(read_run(path)) == len(pd.read_parquet(path))
    with pytest.raises(LrbenchError, match="no ranking run"):
        export_runs(first.out_dir, "trec", tmp_path / "x.trec", system="nope")
    with pytest.raises(LrbenchError, match="unknown export format"):
        export_runs(first.out_dir, "csv", tmp_path / "x.csv")
    assert not (tmp_path / "x.trec").exists() and not (tmp_path / "x.csv").exists()


def test_bad_run_files_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query_id": "1", "doc_id": "d", "score": 1.0}\nnot json\n')
    with pytest.raises(LrbenchError) as info:
        read_run(bad)
    assert info.value.file == str(bad) and info.value.line == 2
    missing = tmp_path / "missing.jsonl"
    missing.write_text('{"query_id": "1", "score": 1.0}\n')
    with pytest.raises(LrbenchError, match="doc_id"):
        read_run(missing)
    ranx_bad = tmp_path / "r.json"
    ranx_bad.write_text('{"q1": [1, 2]}')
    with pytest.raises(LrbenchError, match="not a ranx run"):
        read_run(ranx_bad)
