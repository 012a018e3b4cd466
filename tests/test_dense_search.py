"""Batched dense search: the same run as one query at a time; faiss exact and approximate indexes."""

from __future__ import annotations

import numpy as np
import pytest

from lrbench.runners.retrieval.embedder import EmbedderRunner
from neural_helpers import MINILM, ctx, module_scifact_slice

BASE = {"model": MINILM, "k": 30, "threads": 1, "latency_sample": 4, "chunk_size": 61}


@pytest.fixture(scope="module")
def slice_ds(tmp_path_factory):
    return module_scifact_slice(tmp_path_factory, "dense", n_queries=24, n_extra=120)  # one corpus cache


def _ranked(run):
    return {q: list(g.sort_values("score", ascending=False, kind="stable")["doc_id"])
            for q, g in run.groupby("query_id")}


def test_batched_search_returns_the_one_query_at_a_time_run(slice_ds):
    slice_ds, tmp_path = slice_ds
    batched = EmbedderRunner({**BASE, "query_batch_size": 10}).run(slice_ds, {}, ctx(tmp_path))
    single = EmbedderRunner({**BASE, "query_batch_size": 1}).run(slice_ds, {}, ctx(tmp_path))
    assert single.profile["corpus_cached"] is True
    merged = batched.run.merge(single.run, on=["query_id", "doc_id"], how="outer", indicator=True)
    assert (merged["_merge"] == "both").all() and len(merged) == 24 * 30
    np.testing.assert_allclose(merged["score_x"], merged["score_y"], atol=1e-5)
    a, b = _ranked(batched.run), _ranked(single.run)
    assert {q: r[:10] for q, r in a.items()} == {q: r[:10] for q, r in b.items()}
    prof = batched.profile
    assert prof["latency_source"] == "4 single queries, timed one at a time" and prof["latency_ms_p50"] > 0
    assert prof["queries"] == 24 and prof["query_batch_size"] == 10 and prof["throughput_qps"] > 0
    # a first stage's docs/s is its corpus encoding rate (no rate when the embeddings came from the cache)
    assert prof["corpus_cached"] is False and prof["docs_per_second"] == prof["corpus_docs_per_second"] > 0
    assert single.profile["docs_per_second"] is None


def test_faiss_flat_is_exact_and_hnsw_reports_its_recall(slice_ds):
    slice_ds, tmp_path = slice_ds
    pytest.importorskip("faiss")
    exact = EmbedderRunner(BASE).run(slice_ds, {}, ctx(tmp_path))
    flat = EmbedderRunner({**BASE, "search": "faiss-flat"}).run(slice_ds, {}, ctx(tmp_path))
    merged = exact.run.merge(flat.run, on=["query_id", "doc_id"])
    assert len(merged) == len(exact.run)
    np.testing.assert_allclose(merged["score_x"], merged["score_y"], atol=1e-5)
    hnsw = EmbedderRunner({**BASE, "search": "hnsw", "ef_search": 8, "hnsw_m": 4}).run(slice_ds, {}, ctx(tmp_path))
    recall = hnsw.profile["search_recall@10_vs_exact"]
    top10 = lambda run: {(q, d) for q, r in _ranked(run).items() for d in r[:10]}  # noqa: E731
    assert recall == pytest.approx(len(top10(hnsw.run) & top10(exact.run)) / (24 * 10))
    assert 0.5 < recall <= 1.0
