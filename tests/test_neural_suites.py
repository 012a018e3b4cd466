"""The shipped DL19 suites: both validate; the CI subset's bi-encoder row runs end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

SUITES = Path(__file__).resolve().parents[1] / "suites"


@pytest.mark.parametrize("name", ["dl19-rerank.yaml", "dl19-rerank-ci.yaml"])
def test_dl19_suites_validate(name, shared):
    from lrbench.plan import load_suite

    loaded = load_suite(SUITES / name, strict=False)
    assert not loaded.errors, [e.one_line() for e in loaded.errors]
    types = {s.type for s in loaded.suite.systems}
    assert types == {"given", "embedder", "llm-pointwise", "llm-listwise", "icr"}


def test_ci_subset_bi_encoder_beats_bm25(shared, tmp_path):
    import lrbench
    from helpers import scores

    result = lrbench.run(SUITES / "dl19-rerank-ci.yaml", out=tmp_path / "out", only=["minilm-bi"])
    assert not result.failed, result.failed
    board = result.leaderboard
    bm25 = scores(board, "dl19-bm25-top20-10q", "bm25")
    minilm = scores(board, "dl19-bm25-top20-10q", "minilm-bi")
    # measured here: BM25 0.6752 -> MiniLM 0.7132 nDCG@10 on these 10 queries (BM25 top-20 reranked)
    assert bm25["nDCG@10"] == pytest.approx(0.6752, abs=1e-3)
    assert minilm["nDCG@10"] == pytest.approx(0.7132, abs=0.01)
    assert minilm["nDCG@10"] > bm25["nDCG@10"] + 0.02
