"""A corpus fingerprint depends on the documents alone: query subsets and grade maps share indexes."""

from __future__ import annotations

import pytest


def _open(spec_kwargs, base):
    from lrbench.datasets import open_dataset
    from lrbench.suites.schema import DatasetSpec

    return open_dataset(DatasetSpec(**spec_kwargs), base)


def test_irds_query_subsets_share_one_corpus_fingerprint(shared, tmp_path):
    five = _open({"id": "irds:cranfield", "queries_limit": 5}, tmp_path)
    ten = _open({"id": "irds:cranfield", "queries_limit": 10}, tmp_path)
    mapped = _open({"id": "irds:cranfield", "relevance": {-1: 0, 1: 4, 2: 3, 3: 2, 4: 1}}, tmp_path)
    assert five.fingerprint() != ten.fingerprint()  # the evaluation data differ ...
    assert five.corpus_fingerprint() == ten.corpus_fingerprint() == mapped.corpus_fingerprint()  # ... the corpus not


def test_candidate_lists_over_other_qrels_share_one_corpus_fingerprint(shared, tmp_path):
    base = shared / "trec-dl-2019-passage"
    run = f"candidates:{base}/rank_llm_candidates/BM25.top100.dl19.json"
    qrels = tmp_path / "half.qrels"
    lines = (base / "qrels.dl19-passage.txt").read_text().splitlines()
    qrels.write_text("\n".join(lines[: len(lines) // 2]) + "\n")
    full = _open({"id": run, "qrels": str(base / "qrels.dl19-passage.txt")}, base)
    half = _open({"id": run, "qrels": str(qrels)}, base)
    assert full.fingerprint() != half.fingerprint()
    assert full.corpus_fingerprint() == half.corpus_fingerprint()
    other = _open({"id": f"candidates:{base}/rank_llm_candidates/SPLADE.top100.dl19.json",
                   "qrels": str(base / "qrels.dl19-passage.txt")}, base)
    assert other.corpus_fingerprint() != full.corpus_fingerprint()  # other documents: another corpus
