"""Datasets by the names users know: relevance mappings, official measures, DL without its passages, offline listing."""

from __future__ import annotations

import gzip

import pytest
from typer.testing import CliRunner

from helpers import scores, write_suite

from lrbench.cli import app
from lrbench.executors.core import Engine
from lrbench.datasets import open_dataset
from lrbench.datasets.catalogue import BRIGHT_SUBSETS, CATALOGUE, CQADUPSTACK
from lrbench.plan import load_suite
from lrbench.suites.schema import DatasetSpec

BM25 = {"name": "bm25", "type": "bm25", "params": {"k1": 0.9, "b": 0.4}}


def _board(tmp_path, datasets, systems, name="cat"):
    path = write_suite(tmp_path, {"name": name, "datasets": datasets, "systems": systems})
    result = Engine(load_suite(path), tmp_path / name).run()
    assert not result.failed, [c.error for c in result.failed]
    return result.leaderboard


def test_cranfield_by_name_inverts_its_grades_like_quickstart(tmp_path, shared):
    board = _board(tmp_path, [
        {"id": "cranfield"},  # the catalogue name: its entry carries the inversion
        {"id": "irds:cranfield", "name": "quickstart", "relevance": {1: 4, 2: 3, 3: 2, 4: 1, -1: 0}},
        {"id": "irds:cranfield", "name": "raw"},  # a scheme:source id reads the grades as they are
    ], [BM25])
    by_name, quickstart, raw = (scores(board, d, "bm25") for d in ("cranfield", "quickstart", "raw"))
    assert by_name == quickstart
    assert set(by_name) == {"nDCG@10", "AP", "P@10"}  # the entry's official measures
    assert by_name["nDCG@10"] == pytest.approx(0.3517, abs=5e-5)  # README's quickstart figure
    assert raw["nDCG@10"] != pytest.approx(by_name["nDCG@10"], abs=1e-3)
    assert raw["P@10"] == pytest.approx(by_name["P@10"])  # binary measures do not see the grade order


def test_dl19_passage_scores_candidates_without_the_collection(tmp_path, shared, monkeypatch):
    monkeypatch.setenv("LRBENCH_DATA", str(shared))
    base = shared / "trec-dl-2019-passage"
    candidates = base / "rank_llm_candidates" / "BM25.top100.dl19.json"
    board = _board(tmp_path, [
        {"id": "dl19-passage", "options": {"candidates": str(candidates)}},
        {"id": f"candidates:{candidates}", "name": "direct", "qrels": str(base / "qrels.dl19-passage.txt"),
         "measures": ["nDCG@10", "RR(rel=2)@10", "AP(rel=2)", "R(rel=2)@1000"]},
    ], [{"name": "bm25", "type": "given"}])
    dl19, direct = scores(board, "dl19-passage", "bm25"), scores(board, "direct", "bm25")
    assert dl19 == direct
    assert dl19["nDCG@10"] == pytest.approx(0.5058, abs=5e-5)  # Anserini's BM25 figure on these lists
    ds = open_dataset(DatasetSpec(id="dl19-passage", options={"candidates": str(candidates)}), tmp_path)
    assert not ds.has_docs() and len(ds.eval_queries()) == 43
    some = list(ds.candidates()["doc_id"][:5])
    assert set(ds.doc_texts(some)) == set(some)  # rerankers get the candidates' passage texts


def test_catalogue_covers_the_collections_users_name(shared):
    names = set(CATALOGUE)
    beir = {"trec-covid", "nfcorpus", "bioasq", "nq", "hotpotqa", "fiqa", "signal1m", "trec-news", "robust04",
            "arguana", "webis-touche2020", "quora", "dbpedia-entity", "scidocs", "fever", "climate-fever",
            "scifact"} | {f"cqadupstack-{f}" for f in CQADUPSTACK}
    assert beir <= names and len(CQADUPSTACK) == 12  # 17 sets + CQADupStack's 12 forums = BEIR's 18
    assert {f"dl{y}-passage" for y in (19, 20, 21, 22, 23)} <= names
    assert {f"bright-{s}" for s in BRIGHT_SUBSETS} <= names and len(BRIGHT_SUBSETS) == 12
    assert {"glue-sst2", "glue-mrpc", "glue-rte", "glue-cola", "glue-stsb", "wikitext-2", "wikitext-103",
            "ptb"} <= names
    # the BRIGHT query counts agree with BRIGHT's own topic files
    for subset in BRIGHT_SUBSETS:
        path = shared / "bright-topics-qrels-only" / f"topics.bright-{subset}-original.jsonl.gz"
        with gzip.open(path, "rt") as fh:
            assert CATALOGUE[f"bright-{subset}"].queries == sum(1 for line in fh if line.strip()), subset


def test_local_catalogue_entries_read_lrbench_data(shared, tmp_path, monkeypatch):
    monkeypatch.setenv("LRBENCH_DATA", str(shared))
    sst2 = open_dataset(DatasetSpec(id="glue-sst2"), tmp_path)
    assert sst2.catalogue.measures == ["accuracy"] and len(sst2._examples) == CATALOGUE["glue-sst2"].queries
    wikitext = open_dataset(DatasetSpec(id="wikitext-2"), tmp_path)
    assert wikitext.word_count() == 245569
    monkeypatch.delenv("LRBENCH_DATA")
    from lrbench.errors import LrbenchError

    with pytest.raises(LrbenchError, match="LRBENCH_DATA"):
        open_dataset(DatasetSpec(id="wikitext-2"), tmp_path)


def test_list_datasets_shows_what_is_available_offline(shared, tmp_path, monkeypatch):
    monkeypatch.setenv("LRBENCH_DATA", str(shared))
    monkeypatch.setenv("COLUMNS", "400")
    result = CliRunner().invoke(app, ["list", "datasets"])
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") > 5}
    assert "mirror" in rows["scifact"] and "mirror" in rows["cranfield"]
    assert "local files" in rows["bright-biology"] and "local files" in rows["dl19-passage"]
    assert "missing" in rows["ptb"] and "download" in rows["nq"]
