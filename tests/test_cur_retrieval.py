"""cur-retrieval (ANNCUR) with the MiniLM bi-encoder scorer on a real SciFact slice (20 queries, ~170 docs)."""

from __future__ import annotations

import numpy as np
import pytest

from lrbench.errors import LrbenchError
from lrbench.runners.retrieval.cur_retrieval import CurRetrievalRunner, PairScorer, cur_operator
from neural_helpers import MINILM, ctx, module_scifact_slice

SCORER = {"type": "embedder", "params": {"model": MINILM, "max_length": 128}}


def test_cur_recovers_a_low_rank_score_matrix_exactly():
    rng = np.random.default_rng(0)
    queries, items = rng.normal(size=(30, 5)), rng.normal(size=(200, 5))
    scores = queries @ items.T  # rank 5
    anchors, test = scores[:8], scores[8:]
    cols = np.arange(0, 200, 25)  # 8 anchor items
    approx = test[:, cols] @ cur_operator(anchors, cols)
    np.testing.assert_allclose(approx, test, atol=1e-8)


def test_scorer_must_be_pairwise():
    with pytest.raises(LrbenchError) as exc:
        CurRetrievalRunner({"scorer": {"type": "bm25"}})
    assert exc.value.key == "params.scorer.type"
    with pytest.raises(LrbenchError) as exc:
        CurRetrievalRunner({"scorer": {"type": "embedder", "params": {"model": MINILM, "pooling": "bogus"}}})
    assert "pooling" in exc.value.one_line()


@pytest.fixture(scope="module")
def sf(tmp_path_factory):
    return module_scifact_slice(tmp_path_factory, "cur", n_queries=20, n_extra=150)


def _exhaustive(ds, tmp):
    scorer = PairScorer(SCORER, ds, ctx(tmp))
    queries = ds.eval_queries()
    return scorer, {q: scorer.all_items(t) for q, t in queries.items()}


def test_cur_retrieval_costs_and_recall_against_exhaustive_scoring(sf):
    ds, tmp = sf
    scorer, exact = _exhaustive(ds, tmp)
    n = len(scorer.ids)
    out = CurRetrievalRunner({"scorer": SCORER, "anchor_queries": 10, "anchor_items": 40, "k": 15}).run(
        ds, {}, ctx(tmp))
    p = out.profile
    assert p["items"] == n and p["index_scorer_calls"] == 2 * 10 * n and p["exhaustive_calls_per_query"] == n
    assert 40 <= p["scorer_calls_per_query"] <= 40 + 15
    # every test query pays its own encoding, anchor or not (one query per model call here)
    assert p["calls_per_query"] == 1 and p["index_model_calls"] > 0
    assert p["corpus_flops"] > 0 and p["corpus_model_calls"] > 0  # the embedder scorer's corpus encoding
    recalls = []
    pos = {d: i for i, d in enumerate(scorer.ids)}
    for qid, group in out.run.groupby("query_id"):
        assert len(group) == 15
        # returned scores are the exact scorer's
        np.testing.assert_allclose(group["score"], exact[qid][[pos[d] for d in group["doc_id"]]], atol=1e-5)
        top10 = {scorer.ids[i] for i in np.argsort(-exact[qid])[:10]}
        recalls.append(len(top10 & set(group.sort_values("score", ascending=False)["doc_id"].head(10))) / 10)
    assert len(recalls) == 20
    # scoring the same number of random items exactly would recall calls / n of the top-10 on average
    assert np.mean(recalls) > 1.5 * p["scorer_calls_per_query"] / n, (np.mean(recalls), p["scorer_calls_per_query"])
    # every item an anchor: the approximation is never needed, the top-k is the exhaustive top-k
    full = CurRetrievalRunner({"scorer": SCORER, "anchor_queries": 3, "anchor_items": n, "k": 10}).run(
        ds, {}, ctx(tmp))
    for qid, group in full.run.groupby("query_id"):
        assert set(group["doc_id"]) == {scorer.ids[i] for i in np.argsort(-exact[qid])[:10]}


def test_generic_pairwise_path_equals_cached_embeddings(sf):
    ds, tmp = sf
    scorer = PairScorer(SCORER, ds, ctx(tmp))
    query = next(iter(ds.eval_queries().values()))
    cached = scorer(query, range(8))
    scorer.matrix = None  # the path any pairwise runner takes: its own scorer on the texts
    np.testing.assert_allclose(scorer(query, range(8)), cached, atol=1e-5)
    assert scorer.calls == 16


def test_llm_pointwise_scorer_keeps_its_score_mode(sf):
    """cur-retrieval scores through the scorer's public protocol, so an llm-pointwise scorer's score_mode is the
    one that scores (it once always called the yes/no scorer)."""
    from lrbench.runners.llm.score_modes import GenerateInteger, YesNo
    from neural_helpers import SMOLLM

    ds, tmp = sf
    params = {"model": SMOLLM, "score_mode": "generate-integer", "doc_max_tokens": 24, "batch_size": 4}
    scorer = PairScorer({"type": "llm-pointwise", "params": params}, ds, ctx(tmp))
    query = next(iter(ds.eval_queries().values()))
    got = scorer(query, [0, 1, 2])
    mode = scorer.runner.mode
    assert isinstance(mode, GenerateInteger) and scorer.calls == 3
    expected = mode.score(scorer.loaded, query, scorer.texts[:3], None)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    assert all(0 <= g <= 10 for g in got)  # expected grades, not yes/no logit differences
    yes_no = YesNo(scorer.runner.params)
    yes_no.prepare(scorer.loaded)
    assert not np.allclose(yes_no.score(scorer.loaded, query, scorer.texts[:3], None), got)  # perturbation
