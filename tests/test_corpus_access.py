"""Corpus access at scale: rerankers read only their candidates' documents (beir: offset index, irds:
docstore), and BEIR folders work as gzipped JSON lines and as MTEB-style Parquet files."""

from __future__ import annotations

import gzip
import shutil

import pandas as pd
import pytest

from helpers import write_suite
from lrbench.runners.retrieval.bm25 import BM25Runner
from lrbench.runners.retrieval.embedder import EmbedderRunner
from lrbench.datasets import open_dataset
from lrbench.datasets.beir_index import CorpusFiles
from lrbench.suites.schema import DatasetSpec
from neural_helpers import MINILM, ctx


def test_beir_rerank_reads_only_the_candidates_through_the_offset_index(shared, tmp_path, monkeypatch):
    ds = open_dataset(DatasetSpec(id=f"beir:{shared / 'beir-scifact'}", queries_limit=3), tmp_path)
    ds.fingerprint()
    streamed = []
    original = CorpusFiles.records

    def counting_records(self):
        for record in original(self):
            streamed.append(record["_id"])
            yield record

    monkeypatch.setattr(CorpusFiles, "records", counting_records)
    first = BM25Runner({"k": 10}).run(ds, {}, ctx(tmp_path)).run
    assert len(streamed) == 5183  # indexing streams the corpus once
    streamed.clear()
    out = EmbedderRunner({"model": MINILM, "threads": 1}).run(ds, {"bm25": first}, ctx(tmp_path, depth=10))
    candidates = set(first["doc_id"])
    assert set(out.run["doc_id"]) == candidates and out.profile["missing_texts"] == 0
    assert streamed == []  # the reranker never scanned the corpus
    assert ds.doc_index.reads == len(candidates) <= 30
    # the texts read back are the corpus's own
    import json

    with open(shared / "beir-scifact" / "corpus.jsonl") as fh:
        corpus = {d["_id"]: d for d in map(json.loads, fh)}
    doc = next(iter(candidates))
    assert ds.doc_texts([doc])[doc] == f"{corpus[doc]['title']} {corpus[doc]['text']}".strip()


def test_irds_rerank_reads_only_the_candidates_through_the_docstore(shared, tmp_path, monkeypatch):
    ds = open_dataset(DatasetSpec(id="irds:beir/scifact/test", queries_limit=3), tmp_path)
    first = BM25Runner({"k": 10}).run(ds, {}, ctx(tmp_path)).run
    store = ds._ds.docs_store()
    asked = []

    class CountingStore:
        def get_many(self, ids):
            ids = list(ids)
            asked.extend(ids)
            return store.get_many(ids)

    def no_scan(*_a, **_k):
        raise AssertionError("the reranker scanned the collection")

    # ir_datasets hands every caller the same registry object: patch through monkeypatch so it is restored
    monkeypatch.setattr(ds._ds, "docs_store", lambda *a, **k: CountingStore())
    monkeypatch.setattr(ds._ds, "docs_iter", no_scan)
    out = EmbedderRunner({"model": MINILM, "threads": 1}).run(ds, {"bm25": first}, ctx(tmp_path, depth=10))
    candidates = set(first["doc_id"])
    assert set(out.run["doc_id"]) == candidates and out.profile["missing_texts"] == 0
    assert sorted(asked) == sorted(candidates)  # each candidate looked up once, nothing else


def _gzip_copy(src, dst):
    dst.mkdir()
    for name in ("corpus.jsonl", "queries.jsonl"):
        with open(src / name, "rb") as fh, gzip.open(dst / f"{name}.gz", "wb") as out:
            shutil.copyfileobj(fh, out)
    (dst / "qrels").mkdir()
    with open(src / "qrels" / "test.tsv", "rb") as fh, gzip.open(dst / "qrels" / "test.tsv.gz", "wb") as out:
        shutil.copyfileobj(fh, out)


def _parquet_copy(src, dst):
    """The layout of MTEB's Hugging Face dataset repos: corpus/, queries/ and data/ (qrels) Parquet shards."""
    for part in ("corpus", "queries", "data"):
        (dst / part).mkdir(parents=True)
    corpus = pd.read_json(src / "corpus.jsonl", lines=True, dtype={"_id": str})[["_id", "title", "text"]]
    half = len(corpus) // 2  # two shards, read in order
    corpus.iloc[:half].to_parquet(dst / "corpus" / "corpus-00000-of-00002.parquet", index=False)
    corpus.iloc[half:].to_parquet(dst / "corpus" / "corpus-00001-of-00002.parquet", index=False)
    queries = pd.read_json(src / "queries.jsonl", lines=True, dtype={"_id": str})
    queries[["_id", "text"]].to_parquet(dst / "queries" / "queries-00000-of-00001.parquet", index=False)
    qrels = pd.read_csv(src / "qrels" / "test.tsv", sep="\t", dtype={"query-id": str, "corpus-id": str})
    qrels.to_parquet(dst / "data" / "test-00000-of-00001.parquet", index=False)


def test_gzipped_and_parquet_beir_folders_give_the_same_leaderboard(shared, tmp_path):
    from lrbench.executors.core import Engine
    from lrbench.plan import load_suite

    src = shared / "beir-scifact"
    _gzip_copy(src, tmp_path / "gz")
    _parquet_copy(src, tmp_path / "pq")
    datasets = [{"id": f"beir:{folder}", "name": name, "measures": ["nDCG@10", "R@100"]}
                for name, folder in (("plain", src), ("gz", tmp_path / "gz"), ("pq", tmp_path / "pq"))]
    suite = write_suite(tmp_path, {"name": "formats", "datasets": datasets,
                                   "systems": [{"name": "bm25", "type": "bm25"}]})
    board = Engine(load_suite(suite), tmp_path / "out").run().leaderboard
    by = {name: part.set_index("measure")["value"] for name, part in board.groupby("dataset")}
    assert by["plain"]["nDCG@10"] > 0.6  # BM25 on SciFact
    pd.testing.assert_series_equal(by["plain"], by["gz"], check_names=False)
    pd.testing.assert_series_equal(by["plain"], by["pq"], check_names=False)
    for name in ("gz", "pq"):  # same content, same corpus fingerprint: one BM25 index serves all three
        ds = open_dataset(DatasetSpec(id=f"beir:{tmp_path / name}"), tmp_path)
        plain = open_dataset(DatasetSpec(id=f"beir:{src}"), tmp_path)
        assert dict(ds.docs()) == dict(plain.docs())
        some = ["4983", "5836", "doesnotexist"]
        assert ds.doc_texts(some) == plain.doc_texts(some) and len(ds.doc_texts(some)) == 2


def test_a_bad_corpus_line_names_the_file_and_line(shared, tmp_path):
    from lrbench.errors import LrbenchError

    folder = tmp_path / "bad"
    shutil.copytree(shared / "beir-scifact", folder)
    lines = (folder / "corpus.jsonl").read_text().splitlines(keepends=True)
    lines[2] = '{"_id": "x", "text": \n'
    (folder / "corpus.jsonl").write_text("".join(lines))
    ds = open_dataset(DatasetSpec(id=f"beir:{folder}"), tmp_path)
    with pytest.raises(LrbenchError) as exc:
        ds.doc_texts(["4983"])
    assert exc.value.line == 3 and "corpus.jsonl" in exc.value.one_line()
