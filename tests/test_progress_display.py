"""`lrbench run` has one progress display: ir_datasets' own tqdm bars (its docstore build prints 'docs_iter: ...')
stay silent, on a fresh ir_datasets home where the docstore is built during the run."""

from __future__ import annotations

import os
import subprocess
import sys

from helpers import write_suite


def test_no_ir_datasets_progress_bar_in_run_output(shared, tmp_path):
    suite = write_suite(tmp_path, {
        "name": "progress", "datasets": [{"id": "irds:beir/scifact/test", "name": "scifact",
                                          "measures": ["nDCG@10"], "queries_limit": 5}],
        "systems": [{"name": "bm25", "type": "bm25"}]})
    env = {**os.environ, "IR_DATASETS_HOME": str(tmp_path / "irds"), "LRBENCH_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "lrbench", "run", str(suite), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "computed bm25 on scifact" in done.stderr
    assert (tmp_path / "irds").exists()  # the run read the collection into this fresh home
    assert "docs_iter" not in done.stderr + done.stdout
    assert "it/s]" not in done.stderr and "doc/s]" not in done.stderr
