"""The results location is one value, parsed once: a path, a file:// URL, another fsspec URI or the suite's
default folder; a run through the Python API leaves the same rerun receipt as the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import lrbench
from lrbench.paths import default_out_dir
from lrbench.store.location import RemotePath, ResultsLocation
from lrbench.store.store import FsspecStore, LocalStore, open_store
from tests.helpers import write_suite

ROOT = Path(__file__).resolve().parents[1]


def test_one_parser_for_every_spelling(tmp_path):
    plain, url = ResultsLocation.of(str(tmp_path / "r")), ResultsLocation.of(f"file://{tmp_path}/r")
    assert plain == url == ResultsLocation.of(tmp_path / "r") and not plain.remote
    assert plain.path == tmp_path / "r" and plain.local_copy == tmp_path / "r"
    assert ResultsLocation.of(None, "my suite") == ResultsLocation(default_out_dir("my suite"))
    s3 = ResultsLocation.of("s3://bucket/prefix/")
    assert s3.remote and s3.root == RemotePath("s3://bucket/prefix") and s3.for_workers == "s3://bucket/prefix"
    assert s3.local_copy != ResultsLocation.of("s3://bucket/other").local_copy
    with pytest.raises(ValueError):
        s3.path
    assert ResultsLocation.of(s3) is s3
    # the store owns the location it was opened with
    for given in (str(tmp_path / "r"), f"file://{tmp_path}/r", plain):
        store = open_store(given)
        assert isinstance(store, LocalStore) and store.location == plain and store.root == tmp_path / "r"
    assert type(open_store("memory://lrbench-location/x")) is FsspecStore


def test_python_run_writes_the_receipt_the_cli_answers_from(shared, tmp_path):
    suite = write_suite(tmp_path, {"name": "api-receipt", "datasets": [
        {"id": "irds:cranfield", "name": "cranfield", "queries_limit": 20, "measures": ["nDCG@10"]}],
        "systems": [{"name": "bm25", "type": "bm25"}]})
    res = lrbench.run(suite, out=f"file://{tmp_path}/out")
    assert res.count("computed") == 1 and res.dir == tmp_path / "out"
    assert (tmp_path / "out" / "rerun.json").exists()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    for out in (str(tmp_path / "out"), f"file://{tmp_path}/out"):
        probe = ("import sys; sys.argv = ['lrbench', *sys.argv[1:]]\nfrom lrbench.entrypoint import main\n"
                 "main()\nprint('EXECUTOR' if 'lrbench.executors.core' in sys.modules else 'RECEIPT', file=sys.stderr)")
        proc = subprocess.run([sys.executable, "-c", probe, "run", str(suite), "--out", out], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert "0 computed, 1 cached" in proc.stderr and "RECEIPT" in proc.stderr, proc.stderr
