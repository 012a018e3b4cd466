"""The run store on S3 (moto's S3 server on 127.0.0.1) and on other fsspec filesystems:
write, resume after an incomplete cell, read; meta.json is always the last object of a cell."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import lrbench
from lrbench.cli import app
from lrbench.executors.core import Reporter
from lrbench.store.store import TMP_PREFIX, FsspecStore, LocalStore, RemotePath, open_store
from tests.helpers import write_suite

s3fs = pytest.importorskip("s3fs")
pytest.importorskip("moto")

BUCKET = "lrbench-results"
SUITE = {
    "name": "s3-store",
    "datasets": [{"id": "irds:cranfield", "name": "cranfield", "measures": ["nDCG@10", "AP"]}],
    "baseline": "bm25",
    "systems": [{"name": "bm25", "type": "bm25", "params": {"k": 100}},
                {"name": "robertson", "type": "bm25", "params": {"k": 100, "method": "robertson", "k1": 1.2}}],
}


@pytest.fixture(scope="module")
def s3_server():
    """moto in server mode, on 127.0.0.1 and a free port, as its own process."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
            break
        except OSError:
            assert proc.poll() is None, "moto server exited"
            time.sleep(0.1)
    env = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    s3fs.S3FileSystem.clear_instance_cache()
    fs = s3fs.S3FileSystem()
    fs.mkdir(BUCKET)
    yield fs
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    s3fs.S3FileSystem.clear_instance_cache()
    proc.terminate()
    proc.wait(timeout=10)


class Recorder(Reporter):
    def __init__(self):
        self.status = {}

    def cell_finished(self, cell, status, seconds):
        self.status[cell.system_label] = status


def test_open_store_dispatch_and_remote_paths(tmp_path):
    assert isinstance(open_store(tmp_path), LocalStore)
    assert isinstance(open_store(str(tmp_path)), LocalStore)
    local = open_store(f"file://{tmp_path}/x")
    assert isinstance(local, LocalStore) and local.root == tmp_path / "x"
    remote = open_store("memory://lrbench-test/prefix")
    assert type(remote) is FsspecStore and remote.object_store
    root = RemotePath("s3://bucket/prefix/")
    assert str(root / "cells" / "abc") == "s3://bucket/prefix/cells/abc"
    assert (root / "cells.json").name == "cells.json" and (root / "x").parent == root


def test_suite_on_s3_write_resume_read(s3_server, shared, tmp_path):
    fs = s3_server
    uri = f"s3://{BUCKET}/runs/cranfield"
    suite = write_suite(tmp_path, SUITE)
    first = lrbench.run(suite, out=uri)
    assert not first.failed and first.count("computed") == 2
    store = open_store(uri)
    assert len(store.keys()) == 2
    for name in ("leaderboard.parquet", "leaderboard.md", "cells.json"):
        assert fs.exists(f"{BUCKET}/runs/cranfield/{name}")
    with fs.open(f"{BUCKET}/runs/cranfield/leaderboard.parquet", "rb") as fh:
        pd.testing.assert_frame_equal(pd.read_parquet(fh), first.leaderboard)

    # the same suite in a local folder gives the same numbers
    local = lrbench.run(suite, out=tmp_path / "local")
    pd.testing.assert_frame_equal(local.leaderboard, first.leaderboard)

    # a killed run: one cell lost its meta.json (data uploaded, never completed), plus a stray temp object
    victim, survivor = (c.cell.key for c in first.outcome.cells)
    fs.rm(f"{BUCKET}/runs/cranfield/cells/{victim}/meta.json")
    fs.pipe(f"{BUCKET}/runs/cranfield/cells/{survivor}/{TMP_PREFIX}abcd-run.parquet", b"partial")
    fs.invalidate_cache()
    assert not store.has(victim) and store.keys() == [survivor]

    recorder = Recorder()
    again = lrbench.run(suite, out=uri, reporter=recorder)
    by_key = {c.cell.key: c.status for c in again.outcome.cells}
    assert by_key == {victim: "computed", survivor: "cached"}
    pd.testing.assert_frame_equal(again.leaderboard, first.leaderboard)
    fs.invalidate_cache()
    assert not [p for p in fs.find(BUCKET) if TMP_PREFIX in p]
    assert store.keys() == sorted([victim, survivor])
    run = store.get_run(victim)
    assert list(run.columns) == ["query_id", "doc_id", "rank", "score"] and run["query_id"].nunique() == 225
    store.check(victim, ("run", "perquery", "scores"))


def test_put_uploads_meta_last(s3_server, tmp_path):
    store = open_store(f"s3://{BUCKET}/order")
    events = []
    real_put, real_rm = store.fs.put_file, store.fs.rm

    def put_spy(lpath, rpath, *args, **kwargs):
        events.append(("put", rpath.rsplit("/", 1)[1]))
        return real_put(lpath, rpath, *args, **kwargs)

    def rm_spy(path, *args, **kwargs):
        events.append(("rm", path.rstrip("/").rsplit("/", 1)[1]))
        return real_rm(path, *args, **kwargs)

    store.fs.put_file, store.fs.rm = put_spy, rm_spy
    try:
        frame = pd.DataFrame({"query_id": ["1", "1"], "doc_id": ["a", "b"], "score": [2.0, 1.0]})
        store.put("k1", {"run": frame, "scores": pd.DataFrame({"measure": ["AP"], "value": [0.5]})}, {"key": "k1"})
        first = list(events)
        events.clear()
        assert not store.put("k1", {"run": frame.iloc[:1]}, {"key": "k1", "v": 2})  # write-once: kept
        assert events == []
        assert store.put("k1", {"run": frame.iloc[:1]}, {"key": "k1", "v": 2}, replace=True)
    finally:
        del store.fs.put_file, store.fs.rm
    assert first == [("put", "run.parquet"), ("put", "scores.parquet"), ("put", "meta.json")]
    # overwriting a complete cell: meta.json goes first, then the old data, then the new data and meta.json
    assert events == [("rm", "meta.json"), ("rm", "k1"), ("put", "run.parquet"), ("put", "meta.json")]
    assert {k: v for k, v in store.meta("k1").items() if k != "files"} == {"key": "k1", "v": 2}
    assert len(store.read_frame("k1", "run")) == 1 and store.read_frame("k1", "scores") is None


def test_cli_out_s3(s3_server, shared, tmp_path):
    suite = write_suite(tmp_path, dict(SUITE, systems=SUITE["systems"][:1]))
    result = CliRunner().invoke(app, ["run", str(suite), "--out", f"s3://{BUCKET}/cli"])
    assert result.exit_code == 0, result.output
    assert "s3://lrbench-results/cli/leaderboard.md" in result.output
    assert len(open_store(f"s3://{BUCKET}/cli").keys()) == 1


def test_generic_store_on_a_local_filesystem(tmp_path):
    """The fsspec code path (temp name + rename) on a local folder, as used for non-object filesystems."""
    store = FsspecStore(f"file://{tmp_path}/generic")
    assert isinstance(store.root, Path) and not store.object_store
    frame = pd.DataFrame({"query_id": ["1"], "doc_id": ["a"], "score": [1.0]})
    store.put("k", {"run": frame}, {"key": "k"})
    store.write_frame("half", "run", frame)  # a cell that never got its meta.json
    (tmp_path / "generic" / "cells" / "k" / f"{TMP_PREFIX}x-run.parquet").write_bytes(b"junk")
    assert store.keys() == ["k"] and store.has("k") and not store.has("half")
    removed = {Path(str(p)).name for p in store.clean_incomplete()}
    assert removed == {"half", f"{TMP_PREFIX}x-run.parquet"}
    assert sorted(p.name for p in (tmp_path / "generic" / "cells").iterdir()) == ["k"]
    pd.testing.assert_frame_equal(store.get_run("k"), frame)


def test_embedding_blocks_on_s3(s3_server):
    """Embedder shards keep their blocks in the run store: whole objects on S3, read back bit for bit."""
    import numpy as np

    from lrbench.store.blocks import EmbeddingBlocks, plan_blocks

    blocks = EmbeddingBlocks(open_store(f"s3://{BUCKET}/blocks"), "corpus-key")
    first, second = plan_blocks(5, 3)
    emb = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    assert not blocks.has(first)
    blocks.put(first, ["d0", "d1", "d2"], emb)
    assert blocks.has(first) and not blocks.has(second)
    ids, back = blocks.get(first)
    assert ids == ["d0", "d1", "d2"] and back.dtype == np.float32
    np.testing.assert_array_equal(back, emb)
    assert s3_server.ls(f"{BUCKET}/blocks/embeddings/corpus-key") == [
        f"{BUCKET}/blocks/embeddings/corpus-key/{first.name}"]
    with pytest.raises(ValueError):
        blocks.put(second, ["d3"], emb[:2])  # ids and rows must cover the block exactly


def test_show_report_compare_read_results_on_s3(s3_server, shared, tmp_path, monkeypatch):
    """Results written to s3:// are read back by show, report and compare through a local copy."""
    monkeypatch.setenv("LRBENCH_CACHE", str(tmp_path / "cache"))
    uri = f"s3://{BUCKET}/read/cranfield"
    result = lrbench.run(write_suite(tmp_path, SUITE), out=uri)
    assert not result.failed

    cli = CliRunner()
    shown = cli.invoke(app, ["show", uri, "--json"])
    assert shown.exit_code == 0, shown.output
    rows = pd.DataFrame(json.loads(shown.output)["rows"])
    pd.testing.assert_frame_equal(rows, result.leaderboard.reset_index(drop=True), check_dtype=False)

    report = cli.invoke(app, ["report", uri, "--no-plots", "-o", str(tmp_path / "report.md")])
    assert report.exit_code == 0, report.output
    assert "robertson" in (tmp_path / "report.md").read_text()
    compared = cli.invoke(app, ["compare", uri, "bm25", "robertson"])
    assert compared.exit_code == 0, compared.output
    assert "nDCG@10" in compared.output and "robertson" in compared.output

    # a second read downloads only what changed: here, nothing
    from lrbench.store.remote import local_results

    local = local_results(uri)
    stamps = {p: p.stat().st_mtime_ns for p in local.rglob("*.parquet")}
    assert len(stamps) >= 7 and local_results(uri) == local
    assert stamps == {p: p.stat().st_mtime_ns for p in local.rglob("*.parquet")}
    missing = cli.invoke(app, ["show", f"s3://{BUCKET}/nothing-here"])
    assert missing.exit_code == 2 and "not a results folder" in missing.output


def test_gate_with_results_on_s3(s3_server, shared, tmp_path, monkeypatch):
    monkeypatch.setenv("LRBENCH_CACHE", str(tmp_path / "cache"))
    suite = dict(SUITE, expect=[{"system": "bm25", "measure": "AP", "value": 0.2812, "tolerance": 0.0005},
                                {"system": "robertson", "measure": "AP", "min_delta_vs": "bm25", "value": 0.5}])
    path = write_suite(tmp_path, suite)
    result = CliRunner().invoke(app, ["gate", str(path), "--out", f"s3://{BUCKET}/gate"])
    assert result.exit_code == 1, result.output  # the second expectation cannot hold: the gate must fail
    assert "FAIL" in result.output and "robertson" in result.output
    assert "gate FAILED: 1 OK, 0 OKISH, 1 FAIL" in result.output
    assert len(open_store(f"s3://{BUCKET}/gate").keys()) == 2
