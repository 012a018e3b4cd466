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


SLOW_RUNNER = '''
import time

import pandas as pd

import lrbench
from lrbench.runners.base import Output, Runner, RunnerParams


class SlowParams(RunnerParams):
    pause: float = 0.15


class SlowReranker(Runner):
    """Reverses its input one query at a time, slowly, reporting pairs done."""

    type = "slow-reverse"
    needs_input = True
    Params = SlowParams

    def run(self, dataset, inputs, ctx):
        run = next(iter(inputs.values()))
        lists = [group for _, group in run.groupby("query_id")]
        out = []
        for group in ctx.progress(lists, total=len(run), description="slow scoring", size=len):
            time.sleep(self.params.pause)
            out.append(group.assign(score=-group["score"]))
        return Output(run=pd.concat(out))


lrbench.register_runner(SlowReranker)
'''


def test_plain_progress_lines_and_whole_names_when_output_is_a_pipe(shared, tmp_path):
    """Output captured to pipes (a CI log): periodic progress lines with counts and an ETA, tables not cut."""
    import re

    base = shared / "trec-dl-2019-passage"
    (tmp_path / "slow_runner.py").write_text(SLOW_RUNNER)
    long_name = "slow-reverse-reranker-whose-name-is-much-longer-than-an-eighty-column-terminal-could-show-v2"
    suite = write_suite(tmp_path, {
        "name": "progress-log", "measures": ["nDCG@10"], "baseline": "bm25",
        "datasets": [{"id": f"candidates:{base}/rank_llm_candidates/BM25.top100.dl19.json", "name": "dl19",
                      "qrels": str(base / "qrels.dl19-passage.txt"), "queries_limit": 12}],
        "systems": [{"name": "bm25", "type": "given"},
                    {"name": long_name, "type": "slow-reverse", "input": "bm25", "depth": 20}]})
    env = {**os.environ, "LRBENCH_LOG_EVERY": "0.4", "LRBENCH_CACHE": str(tmp_path / "cache")}
    env.pop("COLUMNS", None)
    done = subprocess.run([sys.executable, "-m", "lrbench", "run", str(suite), "--out", str(tmp_path / "out"),
                           "--plugin", str(tmp_path / "slow_runner.py")],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    lines = re.findall(rf"^{re.escape(long_name)} on dl19: slow scoring ([\d,]+)/([\d,]+) \((\d+)%\), (\d+)s elapsed"
                       r"(, ETA \d+s)?$", done.stderr, flags=re.M)
    assert len(lines) >= 3, done.stderr  # 43 lists x 0.15 s, a line every 0.4 s
    counts = [int(n.replace(",", "")) for n, *_ in lines]
    # the input run as the plugin reads it: the candidates file's 43 queries x 100, counted as pairs (each
    # query's list is one item of `size` pairs)
    assert counts == sorted(counts) and all(int(total.replace(",", "")) == 4300 for _, total, *_ in lines), lines
    assert any(eta for *_, eta in lines) and counts[-1] > counts[0]
    assert long_name in done.stdout  # the leaderboard row, whole
    assert "judged@10" in done.stdout


def test_log_every_is_checked(monkeypatch):
    from lrbench.cli.progress import log_every, progress_line
    from lrbench.errors import LrbenchError
    import pytest

    monkeypatch.setenv("LRBENCH_LOG_EVERY", "soon")
    with pytest.raises(LrbenchError, match="LRBENCH_LOG_EVERY must be a number of seconds"):
        log_every()
    monkeypatch.setenv("LRBENCH_LOG_EVERY", "2.5")
    assert log_every() == 2.5
    assert progress_line("embedder on scifact", "encoding corpus", 2048, 5183, 72) == \
        "embedder on scifact: encoding corpus 2,048/5,183 (40%), 1m12s elapsed, ETA 1m50s"
    assert progress_line("", "indexing corpus", 10, None, 3) == "indexing corpus 10 done, 3s elapsed"
