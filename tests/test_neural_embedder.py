"""The embedder: encode parity with sentence-transformers, dense first stage, reranking, cache, PRF."""

from __future__ import annotations

import numpy as np
import pytest

from lrbench.errors import LrbenchError
from lrbench.runners.retrieval.embedder import EmbedderRunner
from neural_helpers import MINILM, bm25_run, ctx, dl19, scifact_slice


@pytest.fixture(scope="module")
def minilm():
    from lrbench.runners.neural import load_model

    return load_model("embedder", MINILM, {"threads": 1})


def _scifact_texts(shared, n):
    import json

    with open(shared / "beir-scifact" / "corpus.jsonl") as fh:
        docs = [json.loads(next(fh)) for _ in range(n)]
    return [f"{d['title']} {d['text']}" for d in docs]


def test_pooling_and_normalisation_come_from_the_st_config(minilm):
    assert minilm.pooling.mode == "mean" and minilm.pooling.normalize is True
    assert minilm.max_length == 256
    assert minilm.pooling.source == "sentence-transformers config"


def test_encode_matches_sentence_transformers(minilm, shared):
    from sentence_transformers import SentenceTransformer

    texts = _scifact_texts(shared, 40)
    ours = minilm.encode(texts, batch_size=8)
    st = SentenceTransformer(minilm.resolved.path, device="cpu").encode(texts, batch_size=8,
                                                                        convert_to_numpy=True)
    assert ours.shape == st.shape == (40, 384)
    np.testing.assert_allclose(ours, st, atol=2e-5)
    unsorted = minilm.encode(texts, batch_size=8, sort=False)
    np.testing.assert_allclose(ours, unsorted, atol=2e-5)  # bucketing changes speed, not results


def test_dense_first_stage_on_a_scifact_slice_and_corpus_cache(shared, tmp_path):
    from lrbench.evaluation.evaluators import evaluator_for
    from lrbench.datasets import open_dataset
    from lrbench.suites.schema import DatasetSpec

    folder = scifact_slice(shared, tmp_path / "scifact-slice", n_queries=20, n_extra=150)
    ds = open_dataset(DatasetSpec(id=f"beir:{folder}"), tmp_path)
    runner = EmbedderRunner({"model": MINILM, "k": 50, "chunk_size": 97, "threads": 1})
    first = runner.run(ds, {}, ctx(tmp_path))
    assert first.profile["corpus_cached"] is False and first.profile["role"] == "first stage"
    run = first.frame("run")
    assert run.groupby("query_id").size().max() == 50
    _, scores = evaluator_for("ranking").evaluate(run, ds, ["nDCG@10"])
    ndcg = float(scores.set_index("measure").loc["nDCG@10", "value"])
    assert ndcg > 0.6, ndcg  # MiniLM is a real retriever: far above random on this slice
    for key in ("load_seconds", "latency_ms_p50", "latency_ms_p99", "peak_rss_mb", "params", "size_on_disk_mb",
                "dtype", "device", "threads", "batch_size", "tokens_per_second", "docs_per_second"):
        assert first.profile[key] is not None, key
    assert first.profile["params"] == 22713216
    second = EmbedderRunner({"model": MINILM, "k": 50, "chunk_size": 5000, "threads": 1}).run(ds, {}, ctx(tmp_path))
    assert second.profile["corpus_cached"] is True  # a second system on the same corpus does not re-encode
    merged = first.run.merge(second.run, on=["query_id", "doc_id"])
    assert len(merged) == len(first.run)  # chunked search finds the same top-k whatever the chunk size
    np.testing.assert_allclose(merged["score_x"], merged["score_y"], atol=1e-5)
    other = EmbedderRunner({"model": MINILM, "k": 50, "max_length": 64}).run(ds, {}, ctx(tmp_path))
    assert other.profile["corpus_cached"] is False  # max length is part of the cache key


def test_corpus_encoding_progress_advances_a_batch_at_a_time(shared, tmp_path):
    """A block of corpus rows is one encoding call that can take minutes on a CPU: its progress advances after
    every batch, and the embeddings are those of one call over the block."""
    from dataclasses import replace

    from lrbench.datasets import open_dataset
    from lrbench.suites.schema import DatasetSpec

    folder = scifact_slice(shared, tmp_path / "scifact-slice", n_queries=3, n_extra=60)
    ds = open_dataset(DatasetSpec(id=f"beir:{folder}"), tmp_path)
    advances: list[tuple[str, int]] = []

    def progress(items, total=None, description="", size=None):
        for item in items:
            yield item
            advances.append((description, size(item) if size else 1))

    runner = EmbedderRunner({"model": MINILM, "k": 10, "batch_size": 16, "threads": 1})
    runner.run(ds, {}, replace(ctx(tmp_path / "a"), progress=progress))
    texts = [t for _, t in ds.docs()]
    steps = [n for what, n in advances if what == "encoding corpus"]
    assert sum(steps) == len(texts) > 16 and len(steps) == -(-len(texts) // 16)  # one block, a step a batch
    whole = runner.load(ctx(tmp_path / "b")).encode(texts, batch_size=16)
    cached = np.load(next((tmp_path / "a" / "cache" / "embeddings").glob("*/emb.npy")))
    np.testing.assert_allclose(cached, whole, atol=1e-6)


def test_rerank_scores_are_cosines(shared, tmp_path, minilm):
    ds = dl19(shared, queries_limit=3)
    out = EmbedderRunner({"model": MINILM, "batch_size": 8}).run(ds, {"bm25": bm25_run(ds)}, ctx(tmp_path, depth=20))
    assert out.run.groupby("query_id").size().tolist() == [20, 20, 20]
    qid = out.run["query_id"].iloc[0]
    doc = out.run["doc_id"].iloc[0]
    q = minilm.encode([ds.queries()[qid]])[0]
    d = minilm.encode([ds.doc_texts([doc])[doc]])[0]
    assert out.run["score"].iloc[0] == pytest.approx(float(q @ d / np.linalg.norm(q) / np.linalg.norm(d)), abs=1e-5)
    assert out.profile["depth"] == 20 and out.profile["queries"] == 3 and out.profile["docs_scored"] == 60


def test_prf_changes_the_query(shared, tmp_path):
    ds = dl19(shared, queries_limit=2)
    inputs = {"bm25": bm25_run(ds)}
    plain = EmbedderRunner({"model": MINILM}).run(ds, inputs, ctx(tmp_path, depth=10)).run
    prf = EmbedderRunner({"model": MINILM, "prf": 3}).run(ds, inputs, ctx(tmp_path, depth=10)).run
    merged = plain.merge(prf, on=["query_id", "doc_id"])
    assert len(merged) == 20
    assert not np.allclose(merged["score_x"], merged["score_y"])


def test_depth_larger_than_the_input_run(shared, tmp_path):
    ds = dl19(shared, queries_limit=1)
    with pytest.raises(LrbenchError) as exc:
        EmbedderRunner({"model": MINILM}).run(ds, {"bm25": bm25_run(ds)}, ctx(tmp_path, depth=500))
    assert exc.value.key == "depth"
    assert "depth 500 is larger than the input run's depth (100" in exc.value.one_line()
