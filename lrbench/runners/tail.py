"""The unreranked tail of a reranker's input: candidates below `depth` stay in the output, below the head.

A reranker with `depth: 20` over a top-100 first stage would otherwise return 20 documents per query, so any
measure deeper than 20 (R@100, AP@100) compares a 20-document run with a 100-document one. As RankLLM does,
the candidates the reranker did not score follow its head in their input order, with scores below every
head score. `keep_tail: false` on the system returns the head alone.
"""

from __future__ import annotations

import pandas as pd

from lrbench.runners.base import top_k


def unreranked_tail(run: pd.DataFrame, depth: int | None, query_ids) -> pd.DataFrame:
    """(query_id, doc_id, position) of each listed query's input candidates ranked below `depth`, in input
    order (the order `top_k` cuts by); empty when the whole input is reranked."""
    if not depth:
        return pd.DataFrame(columns=["query_id", "doc_id", "position"])
    ordered = top_k(run, None)
    ordered = ordered[ordered["query_id"].astype(str).isin(set(query_ids))]
    position = ordered.groupby("query_id", sort=False).cumcount()
    tail = ordered[position >= depth]
    return pd.DataFrame({"query_id": tail["query_id"].astype(str), "doc_id": tail["doc_id"].astype(str),
                         "position": (position[position >= depth] - depth + 1).to_numpy()})


def append_tail(head: pd.DataFrame, tail: pd.DataFrame | None) -> pd.DataFrame:
    """`head` (query_id, doc_id, score) followed by `tail`, each tail document scored below its query's lowest
    head score, one step lower per input position."""
    if tail is None or tail.empty:
        return head
    import numpy as np

    floor = head.groupby("query_id")["score"].min()
    tail = tail[tail["query_id"].isin(floor.index)]
    lowest = tail["query_id"].map(floor).to_numpy(dtype=float)
    step = np.maximum(1.0, np.abs(lowest) * 1e-6)  # a unit step would vanish below a score of 1e16
    scores = lowest - tail["position"].to_numpy(dtype=float) * step
    rows = pd.DataFrame({"query_id": tail["query_id"].to_numpy(), "doc_id": tail["doc_id"].to_numpy(),
                         "score": scores})
    return pd.concat([head, rows[head.columns]], ignore_index=True)
