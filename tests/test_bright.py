"""BRIGHT: each query's excluded_ids are dropped from the run before scoring."""

from __future__ import annotations

import pandas as pd
import pytest

import lrbench
from lrbench.evaluation.evaluate import evaluate_run
from lrbench.datasets import open_dataset
from lrbench.datasets.files import parse_id_list
from lrbench.suites.schema import DatasetSpec
from tests.helpers import scores, write_suite


def test_excluded_ids_parse_both_encodings():
    assert parse_id_list("['a/1.txt', 'b/2.txt']") == ["a/1.txt", "b/2.txt"]
    assert parse_id_list(["a", "N/A"]) == ["a"]
    assert parse_id_list([]) == []


@pytest.fixture
def leetcode(shared):
    return open_dataset(DatasetSpec(id=f"bright:{shared / 'bright-topics-qrels-only'}/leetcode"), shared)


def test_leetcode_has_real_exclusions(leetcode, shared):
    excluded = leetcode.excluded()
    assert len(excluded) == len(leetcode.queries()) == 142
    assert sum(len(v) for v in excluded.values()) > 0
    # agrees with the flat exclusion list shipped beside the topics
    flat = {}
    for line in (shared / "bright-topics-qrels-only" / "exclude.bright-leetcode.txt").read_text().splitlines():
        qid, doc = line.split()
        flat.setdefault(qid, set()).add(doc)
    assert {q: d for q, d in excluded.items() if d} == flat


def _run_with_excluded_on_top(dataset) -> pd.DataFrame:
    """Excluded documents ranked first, then the gold documents: only exclusion handling makes it perfect."""
    rows = []
    gold = dataset.judged_qrels.groupby("query_id")["doc_id"].apply(list)
    for qid, docs in gold.items():
        ranked = sorted(dataset.excluded().get(qid, ()))[:20] + docs
        rows += [(qid, d, float(len(ranked) - i)) for i, d in enumerate(ranked)]
    return pd.DataFrame(rows, columns=["query_id", "doc_id", "score"])


def test_exclusion_changes_the_score(leetcode):
    run = _run_with_excluded_on_top(leetcode)
    with_exclusion = evaluate_run(run, leetcode.judged_qrels, ["nDCG@10"], leetcode.excluded())
    without = evaluate_run(run, leetcode.judged_qrels, ["nDCG@10"], {})
    assert with_exclusion["value"].mean() == pytest.approx(1.0)
    assert without["value"].mean() < 0.9


def test_bright_suite_scores_a_trec_run(tmp_path, leetcode, shared):
    run = _run_with_excluded_on_top(leetcode)
    run_file = tmp_path / "run.trec"
    with open(run_file, "w") as fh:
        for q, group in run.groupby("query_id"):
            for rank, (d, s) in enumerate(zip(group["doc_id"], group["score"]), 1):
                fh.write(f"{q} Q0 {d} {rank} {s} test\n")
    suite = write_suite(tmp_path, {
        "name": "bright", "measures": ["nDCG@10"],
        "datasets": [{"id": f"bright:{shared / 'bright-topics-qrels-only'}/leetcode", "name": "leetcode"}],
        "systems": [{"name": "oracle", "type": "given", "params": {"run": str(run_file)}}]})
    result = lrbench.run(suite, out=tmp_path / "out")
    assert scores(result.leaderboard, "leetcode", "oracle")["nDCG@10"] == pytest.approx(1.0)
