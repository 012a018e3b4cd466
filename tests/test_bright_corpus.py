"""BRIGHT end to end: a folder laid out as the Hugging Face dataset xlangai/BRIGHT, BM25 over its documents,
the .fixed qrels by default, long documents, and the excluded-ids rule.

BRIGHT's corpora are not available offline. The topics, gold ids, excluded ids and qrels below are BRIGHT's
real files (../shared/data/bright-topics-qrels-only); the document texts are SYNTHETIC stand-ins, each marked
as such: a gold document carries its query's real gold answer (so BM25 has something to find), an excluded
document carries its query's own text (so BM25 ranks it first and only the exclusion rule removes it).
"""

from __future__ import annotations

import gzip
import json
import shutil

import pandas as pd
import pytest

from helpers import scores, write_suite

from lrbench.executors.core import Engine
from lrbench.evaluation.evaluate import evaluate_run
from lrbench.datasets import open_dataset
from lrbench.plan import load_suite
from lrbench.suites.schema import DatasetSpec

SYNTHETIC = "[synthetic test text, not BRIGHT's document] "
N_QUERIES = 12


def _examples(shared, subset):
    path = shared / "bright-topics-qrels-only" / f"topics.bright-{subset}-original.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh][:N_QUERIES]


def _bright_folder(shared, tmp_path, subset):
    """examples/, documents/ and long_documents/ parquet files as on the Hub, plus Anserini's qrels files."""
    examples = _examples(shared, subset)
    folder = tmp_path / "BRIGHT"
    hf_name = subset.replace("-", "_")
    short, long = {}, {}
    for e in examples:
        for doc in e["gold_ids"]:
            short[doc] = SYNTHETIC + e["gold_answer"]
        for doc in e["gold_ids_long"]:
            long[doc] = SYNTHETIC + e["gold_answer"]
        for doc in e["excluded_ids"]:
            if doc != "N/A":
                short[doc] = SYNTHETIC + e["query"]
    for kind, rows in (("examples", examples), ("documents", [{"id": d, "content": t} for d, t in short.items()]),
                       ("long_documents", [{"id": d, "content": t} for d, t in long.items()])):
        (folder / kind).mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rows).to_parquet(folder / kind / f"{hf_name}-00000-of-00001.parquet", index=False)
    for name in (f"qrels.bright-{subset}.txt", f"qrels.bright-{subset}.fixed.txt"):
        shutil.copy(shared / "bright-topics-qrels-only" / name, folder / name)
    return folder, examples


def _open(folder, subset, **spec):
    return open_dataset(DatasetSpec(id=f"bright:{folder}/{subset}", **spec), folder)


def test_documents_fixed_qrels_and_long_documents(shared, tmp_path):
    folder, examples = _bright_folder(shared, tmp_path, "biology")
    ds = _open(folder, "biology")
    assert ds.has_docs() and len(list(ds.docs())) == len({d for e in examples for d in e["gold_ids"]})
    assert len(ds.queries()) == N_QUERIES  # from examples/biology-*.parquet
    # the .fixed qrels are the default; they judge more documents than the original ones for biology
    assert ds.qrels_file().name == "qrels.bright-biology.fixed.txt"
    plain = _open(folder, "biology", qrels=str(folder / "qrels.bright-biology.txt"))
    assert len(ds.qrels()) > len(plain.qrels())
    assert ds.fingerprint() != plain.fingerprint()
    # long documents: the whole pages, judged by gold_ids_long
    long = _open(folder, "biology", options={"documents": "long_documents"})
    assert {d for d, _ in long.docs()} == {d for e in examples for d in e["gold_ids_long"]}
    want = {(str(e["id"]), d) for e in examples for d in e["gold_ids_long"]}
    assert set(zip(long.judged_qrels["query_id"], long.judged_qrels["doc_id"])) == want
    assert long.fingerprint() != ds.fingerprint()


def test_bm25_over_bright_documents_with_the_exclusion_rule(shared, tmp_path):
    folder, examples = _bright_folder(shared, tmp_path, "leetcode")
    suite = write_suite(tmp_path, {
        "name": "bright-e2e", "measures": ["nDCG@10"],
        "datasets": [{"id": f"bright:{folder}/leetcode", "name": "leetcode"}],
        "systems": [{"name": "bm25", "type": "bm25", "params": {"k": 100}}]})
    executor = Engine(load_suite(suite), tmp_path / "out")
    result = executor.run()
    assert not result.failed, [c.error for c in result.failed]
    run = executor.store.get_run(result.cells[0].cell.key)
    ds = _open(folder, "leetcode")
    corpus = {d for d, _ in ds.docs()}
    assert set(run["doc_id"]) <= corpus
    excluded = ds.excluded()
    top = run[run["rank"] <= 10]
    assert any(d in excluded.get(q, ()) for q, d in zip(top["query_id"], top["doc_id"]))  # the rule matters here
    judged = ds.judged_qrels
    with_rule = evaluate_run(run, judged, ["nDCG@10"], excluded)["value"].mean()
    without = evaluate_run(run, judged, ["nDCG@10"], {})["value"].mean()
    assert without < with_rule
    assert scores(result.leaderboard, "leetcode", "bm25")["nDCG@10"] == pytest.approx(with_rule)


def test_catalogue_names_reach_bright_through_lrbench_data(shared, tmp_path, monkeypatch):
    folder, _ = _bright_folder(shared, tmp_path, "biology")
    root = tmp_path / "data"
    root.mkdir()
    (root / "bright").symlink_to(folder)
    monkeypatch.setenv("LRBENCH_DATA", str(root))
    ds = open_dataset(DatasetSpec(id="bright-biology"), tmp_path)
    assert ds.has_docs() and ds.catalogue.measures == ["nDCG@10", "R@100"]
    assert ds.qrels_file().name.endswith(".fixed.txt")
