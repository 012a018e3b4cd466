"""top_k and the stored run frame order a run with numpy stable sorts; they must give exactly the frames pandas'
three-column sort, groupby().head(k) and groupby().cumcount() give (rows, order, index labels, dtypes), ties, NaN
scores and unsorted input included."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lrbench.runners.base import Output, top_k


def reference(run: pd.DataFrame, k: int | None) -> pd.DataFrame:
    ordered = run.sort_values(["query_id", "score", "doc_id"], ascending=[True, False, False])
    return ordered.groupby("query_id", sort=False).head(k) if k else ordered


def reference_frame(run: pd.DataFrame) -> pd.DataFrame:
    ordered = run.sort_values(["query_id", "score", "doc_id"], ascending=[True, False, False]).reset_index(drop=True)
    ordered["rank"] = ordered.groupby("query_id").cumcount() + 1
    return ordered[["query_id", "doc_id", "rank", "score"]]


def same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    return a.equals(b) and list(a.index) == list(b.index) and list(a.dtypes) == list(b.dtypes)


def test_top_k_equals_pandas_sort_and_head():
    rng = np.random.default_rng(3)
    for trial in range(300):
        n = int(rng.integers(0, 80))
        scores = [0.0, -0.0, 1.0, 2.5, -1.0, 3.0] + ([np.nan] if trial % 2 else [])
        run = pd.DataFrame({"query_id": rng.choice(["q1", "q2", "10", "9", "a"], n),
                            "doc_id": rng.choice([f"d{i}" for i in range(15)] + ["D", "z"], n),
                            "score": rng.choice(scores, n)})
        if trial % 3 == 0:
            run = run.astype({"query_id": object, "doc_id": object})
        if trial % 5 == 0:
            run = run.astype({"score": "float32"})
        if trial % 7 == 0:
            run["score"] = rng.integers(-3, 3, n)
        if trial % 11 == 0:
            run.index = rng.permutation(n) + 100
        if trial % 4 == 0:  # what runners produce: grouped by query, by score
            run = run.sort_values(["query_id", "score"], ascending=[True, False])
        for k in (None, 1, 3, 1000):
            assert same(top_k(run, k), reference(run, k)), (trial, k)
        assert same(Output(run=run).frame("run"), reference_frame(run)), trial


def test_tie_break_is_doc_id_descending():
    """Perturbation: swapping which tied document has the larger id changes which one the cut keeps."""
    run = pd.DataFrame({"query_id": ["q", "q", "q"], "doc_id": ["a", "b", "c"], "score": [1.0, 1.0, 2.0]})
    assert list(top_k(run, 2)["doc_id"]) == ["c", "b"]
    assert list(top_k(run.assign(doc_id=["b", "a", "c"]), 2)["doc_id"]) == ["c", "b"]
    assert list(top_k(run.assign(doc_id=["z", "b", "c"]), 2)["doc_id"]) == ["c", "z"]
