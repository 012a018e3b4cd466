"""BM25's top k from the positive scores: the k highest, ties at the k-th broken by corpus order, as a full
stable sort would give them; documents scoring 0 never retrieved."""

from __future__ import annotations

import numpy as np
import pytest

from lrbench.runners.retrieval.bm25 import _top_positive


def _by_full_sort(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-scores, kind="stable")  # score descending, then corpus order
    order = order[scores[order] > 0][:k]
    keep = np.sort(order)
    return keep, scores[keep]


@pytest.mark.parametrize("seed", range(20))
def test_top_positive_equals_a_full_stable_sort(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    scores = np.zeros(n, np.float32)
    hit = rng.random(n) < rng.uniform(0.01, 0.9)
    scores[hit] = rng.choice(rng.random(int(rng.integers(1, 40))).astype(np.float32) + 0.1, int(hit.sum()))
    for k in (1, 5, 100, 1000, n, n + 7):
        docs, values = _top_positive(scores, k)
        expected_docs, expected_values = _by_full_sort(scores, k)
        np.testing.assert_array_equal(docs, expected_docs)
        np.testing.assert_array_equal(values, expected_values)
        assert len(docs) == min(k, int((scores > 0).sum()))
        assert (values > 0).all()


def test_ties_at_the_kth_score_keep_the_first_documents():
    scores = np.array([0, 2, 1, 1, 0, 1, 3, 1], np.float32)
    docs, values = _top_positive(scores, 4)
    assert docs.tolist() == [1, 2, 3, 6] and values.tolist() == [2, 1, 1, 3]
    assert _top_positive(np.zeros(5, np.float32), 3)[0].size == 0
