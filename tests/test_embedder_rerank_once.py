"""A bi-encoder reranker encodes each distinct candidate document once, and not at all when the first stage's
corpus cache holds it; its scores and order equal the per-pair path (every query's candidates encoded anew)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lrbench.runners.retrieval.embedder import EmbedderRunner
from neural_helpers import MINILM, bm25_run, ctx, dl19, module_scifact_slice


class PerPairEmbedder(EmbedderRunner):
    """Today's per-pair path: each query's candidates are encoded again, whatever was encoded before."""

    def run(self, dataset, inputs, ctx):
        return self.rerank(dataset, inputs, ctx, self.score_pairs, "embedder rerank (per pair)")


def _ranking(run: pd.DataFrame) -> dict[str, list[str]]:
    ordered = run.sort_values(["query_id", "score", "doc_id"], ascending=[True, False, True])
    return {q: g["doc_id"].tolist() for q, g in ordered.groupby("query_id")}


def assert_same_output(ours: pd.DataFrame, reference: pd.DataFrame) -> None:
    merged = ours.merge(reference, on=["query_id", "doc_id"], suffixes=("", "_ref"))
    assert len(merged) == len(ours) == len(reference)
    np.testing.assert_allclose(merged["score"], merged["score_ref"], atol=1e-5)
    assert _ranking(ours) == _ranking(reference)


def _distinct_texts(dataset, run: pd.DataFrame, depth: int | None = None) -> int:
    top = run if depth is None else run.sort_values(["query_id", "score"], ascending=[True, False]).groupby(
        "query_id").head(depth)
    ids = set(top["doc_id"].astype(str))
    texts = dataset.doc_texts(ids)
    return len({texts.get(d, "") for d in ids})


def test_dl19_bm25_minilm_rerank_encodes_each_document_once(shared, tmp_path):
    ds = dl19(shared, queries_limit=4)
    inputs = {"bm25": bm25_run(ds)}
    params = {"model": MINILM, "threads": 1}
    out = EmbedderRunner(params).run(ds, inputs, ctx(tmp_path, depth=100))
    reference = PerPairEmbedder(params).run(ds, inputs, ctx(tmp_path, depth=100))
    assert_same_output(out.run, reference.run)
    distinct = _distinct_texts(ds, inputs["bm25"][inputs["bm25"]["query_id"].isin(set(out.run["query_id"]))])
    assert out.profile["queries"] == 4 and out.profile["docs_scored"] == 400
    assert out.profile["docs_encoded"] == distinct  # each distinct candidate once, the warm-up's included
    assert out.profile["docs_from_corpus_cache"] == 0  # a candidates file has no corpus to cache
    assert 0 < out.profile["tokens"] <= reference.profile["tokens"]


@pytest.fixture(scope="module")
def scifact(tmp_path_factory):
    ds, tmp = module_scifact_slice(tmp_path_factory, "rerank-once", n_queries=8, n_extra=120)
    first = EmbedderRunner({"model": MINILM, "k": 15, "threads": 1}).run(ds, {}, ctx(tmp / "cached"))
    assert first.profile["corpus_cached"] is False
    return ds, first.run, tmp


def test_scifact_rerank_encodes_distinct_documents_once(scifact):
    ds, first, tmp = scifact
    params = {"model": MINILM, "threads": 1, "batch_size": 16}
    inputs = {"dense": first}
    distinct = _distinct_texts(ds, first)
    assert distinct < len(first)  # the slice's small corpus puts documents in several queries' lists
    fresh = EmbedderRunner(params).run(ds, inputs, ctx(tmp / "fresh"))  # no corpus cache there
    assert fresh.profile["docs_encoded"] == distinct and fresh.profile["docs_from_corpus_cache"] == 0
    reference = PerPairEmbedder(params).run(ds, inputs, ctx(tmp / "fresh"))
    assert_same_output(fresh.run, reference.run)
    assert fresh.profile["tokens"] < reference.profile["tokens"]  # the per-pair path encodes shared documents again


def test_scifact_rerank_reads_the_first_stage_corpus_cache(scifact):
    ds, first, tmp = scifact
    inputs = {"dense": first}
    cached = EmbedderRunner({"model": MINILM, "threads": 1}).run(ds, inputs, ctx(tmp / "cached"))
    assert cached.profile["docs_encoded"] == 0
    assert cached.profile["docs_from_corpus_cache"] == first["doc_id"].nunique()
    reference = PerPairEmbedder({"model": MINILM, "threads": 1}).run(ds, inputs, ctx(tmp / "cached"))
    assert_same_output(cached.run, reference.run)
    # another max length is another cache key: nothing comes from the first stage's embeddings
    other = EmbedderRunner({"model": MINILM, "threads": 1, "max_length": 64}).run(ds, inputs, ctx(tmp / "cached"))
    assert other.profile["docs_from_corpus_cache"] == 0
    assert other.profile["docs_encoded"] == _distinct_texts(ds, first)
