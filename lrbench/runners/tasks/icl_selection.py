"""Exemplar selection for in-context learning: cosine kNN and DQ-LoRe's low-rank re-ranking (numpy only).

DQ-LoRe (Xiong et al., ICLR 2024): the dual query (the question with the model's own first answer appended) is
embedded, its top-N pool neighbours by cosine are taken, then the query and those N candidates are projected onto
their first `rank` principal components (PCA fitted on those N + 1 embeddings) and re-ranked by cosine there;
the top k are the exemplars.
"""

from __future__ import annotations

import numpy as np


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.clip(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12, None)


def knn(query: np.ndarray, pool: np.ndarray, n: int) -> np.ndarray:
    """Indices of the n pool rows most cosine-similar to `query`, best first (ties: lower index first)."""
    scores = _unit(pool) @ _unit(query)
    return np.lexsort((np.arange(len(scores)), -scores))[:n]


def pca_project(x: np.ndarray, rank: int) -> np.ndarray:
    """Rows of x on their first `rank` principal components (centred, as scikit-learn's PCA; signs arbitrary)."""
    x = np.asarray(x, dtype=np.float64)
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[: min(rank, vt.shape[0])].T


def dq_lore(query: np.ndarray, pool: np.ndarray, k: int, n: int, rank: int) -> np.ndarray:
    """Pool indices of the k exemplars: cosine top-n of the dual-query embedding, re-ranked after PCA to `rank`."""
    candidates = knn(query, pool, n)
    projected = pca_project(np.vstack([query[None, :], pool[candidates]]), rank)
    order = knn(projected[0], projected[1:], k)
    return candidates[order]
