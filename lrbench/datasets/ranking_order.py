"""The order of a run's rows by query, score descending and document id, from integer codes with numpy.

Runners cut runs to each query's top k (ties broken by doc id descending, as trec_eval) and Judged@k counts a top
k (ties broken by doc id ascending, as ir-measures): both order rows this way. Stable sorts are linear on runs
already grouped by query and ordered by score (what runners produce and store), where pandas' multi-column
sort_values and np.lexsort sort each column in full."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def ranked_order(queries: np.ndarray, scores: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """Row positions ordered by `queries` (codes, ascending), `scores` descending (NaN last, tied among
    themselves) and `docs` (codes, ascending: pass reversed codes for descending doc ids)."""
    import numpy as np

    # stable sorts of 16-bit codes are radix sorts; of wider ones, merge sorts (linear on sorted runs)
    by_query = queries.astype(np.uint16) if len(queries) and queries.max() < 2 ** 16 else queries
    order = np.argsort(by_query, kind="stable")
    q, s = queries[order], scores[order]
    if np.isnan(s).any() or (s[1:] > s[:-1])[q[1:] == q[:-1]].any():  # not yet by score within each query
        order = np.argsort(-scores, kind="stable")
        order = order[np.argsort(by_query[order], kind="stable")]
        q, s = queries[order], scores[order]
    differ = (s[1:] != s[:-1]) & ~(np.isnan(s[1:]) & np.isnan(s[:-1]))
    ties = np.cumsum(np.r_[True, (q[1:] != q[:-1]) | differ])  # one number per (query, score) block
    width = int(docs.max()) + 1 if len(docs) else 1
    return order[np.argsort(ties * width + docs[order], kind="stable")]  # < rows * (docs + 1): no overflow


def ranks_in_query(ordered_queries: np.ndarray, n_queries: int) -> tuple[np.ndarray, np.ndarray]:
    """(each row's rank within its query, from 1; each query's row count) for query codes in ranked order (rows
    of a query together, as `ranked_order` leaves them)."""
    import numpy as np

    sizes = np.bincount(ordered_queries, minlength=n_queries)
    first = np.cumsum(sizes) - sizes  # where each query starts in the ordered rows
    return np.arange(len(ordered_queries)) - first[ordered_queries] + 1, sizes


def codes(values, *, descending: bool = False) -> tuple[np.ndarray, object]:
    """(int64 codes whose order is the values' order, the distinct values); missing values sort last."""
    import numpy as np
    import pandas as pd

    found, uniques = pd.factorize(values, sort=True)
    found = found.astype(np.int64)
    if descending:
        found = np.where(found >= 0, len(uniques) - 1 - found, found)
    return np.where(found < 0, len(uniques), found), uniques
