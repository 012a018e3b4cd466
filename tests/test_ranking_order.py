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


def test_frame_of_an_already_ordered_run_equals_pandas():
    """A run already in the stored order (what the BM25 runner hands over) skips the sort: the same frame as
    pandas' sort, with unicode ids (byte order = code point order), duplicate rows, ties and int scores; a run
    that is off by one swap takes the sorting path and still comes out right."""
    rng = np.random.default_rng(5)
    ids = ["q1", "q2", "10", "9", "a", "é", "Z", "ü1", "\u4e2d"]
    for trial in range(300):
        n = int(rng.integers(2, 60))
        run = pd.DataFrame({"query_id": rng.choice(ids, n),
                            "doc_id": rng.choice([f"d{i}" for i in range(8)] + ["é", "D", "ß", "z"], n),
                            "score": rng.choice([0.0, 1.0, 2.5, -1.0], n)})
        if trial % 3 == 0:
            run["score"] = rng.integers(-2, 2, n)
        ordered = reference_frame(run)[["query_id", "doc_id", "score"]]
        if trial % 4 == 0:
            ordered.index = rng.permutation(n) + 7
        assert same(Output(run=ordered).frame("run"), reference_frame(run)), trial
        swapped = ordered.iloc[[1, 0, *range(2, n)]]
        assert same(Output(run=swapped).frame("run"), reference_frame(swapped)), trial


def test_tie_break_is_doc_id_descending():
    """Perturbation: swapping which tied document has the larger id changes which one the cut keeps."""
    run = pd.DataFrame({"query_id": ["q", "q", "q"], "doc_id": ["a", "b", "c"], "score": [1.0, 1.0, 2.0]})
    assert list(top_k(run, 2)["doc_id"]) == ["c", "b"]
    assert list(top_k(run.assign(doc_id=["b", "a", "c"]), 2)["doc_id"]) == ["c", "b"]
    assert list(top_k(run.assign(doc_id=["z", "b", "c"]), 2)["doc_id"]) == ["c", "z"]
