"""Top-k inner-product search of a batch of query vectors over a corpus matrix.

`exact` is one torch matrix product per query batch and corpus chunk (the running top-k merged across
chunks); `faiss-flat` is faiss' IndexFlatIP (also exact); `hnsw` and `ivf` are faiss' approximate indexes, whose
recall against exact search the embedder reports. faiss is optional (pip install 'lrbench[faiss]').
"""

from __future__ import annotations

from dataclasses import dataclass

from lrbench.errors import LrbenchError

EXACT = ("exact", "faiss-flat")


def exact_top_k(queries, matrix, k: int, chunk_size: int):
    """(scores, row indices), each [n_queries, k], best first, over `chunk_size` corpus rows at a time."""
    import torch

    q = torch.as_tensor(queries)
    best_s = best_i = None
    for start in range(0, matrix.shape[0], chunk_size):
        s = q @ matrix[start:start + chunk_size].T
        vals, idx = torch.topk(s, min(k, s.shape[1]), dim=1)
        idx = idx + start
        if best_s is not None:
            both_s, both_i = torch.cat([best_s, vals], 1), torch.cat([best_i, idx], 1)
            vals, pos = torch.topk(both_s, min(k, both_s.shape[1]), dim=1)
            idx = torch.gather(both_i, 1, pos)
        best_s, best_i = vals, idx
    return best_s.numpy(), best_i.numpy()


def _faiss():
    try:
        import faiss
    except ImportError:
        raise LrbenchError("this search needs faiss", key="params.search",
                           hint="pip install faiss-cpu (or 'lrbench[faiss]'), or use search: exact") from None
    return faiss


@dataclass
class SearchSettings:
    method: str = "exact"
    chunk_size: int = 65536
    hnsw_m: int = 32
    ef_search: int = 128
    ivf_lists: int | None = None
    ivf_probe: int = 16


class Searcher:
    """Holds the corpus matrix (and the faiss index, built once) for one first-stage cell."""

    def __init__(self, matrix_np, settings: SearchSettings):
        import numpy as np
        import torch

        self.settings = settings
        self.matrix_np = np.ascontiguousarray(matrix_np, dtype=np.float32)
        self.matrix = torch.from_numpy(self.matrix_np)
        self.index = None
        if settings.method != "exact":
            self.index = self._build()

    def _build(self):
        faiss = _faiss()
        s, dim, n = self.settings, self.matrix_np.shape[1], self.matrix_np.shape[0]
        if s.method == "faiss-flat":
            index = faiss.IndexFlatIP(dim)
        elif s.method == "hnsw":
            index = faiss.IndexHNSWFlat(dim, s.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efSearch = s.ef_search
        else:  # ivf
            lists = s.ivf_lists or max(1, min(n // 39, int(4 * n ** 0.5)))
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, lists, faiss.METRIC_INNER_PRODUCT)
            index.train(self.matrix_np)
            index.nprobe = min(s.ivf_probe, lists)
        index.add(self.matrix_np)
        return index

    def search(self, queries, k: int):
        import numpy as np

        if self.index is None:
            return exact_top_k(queries, self.matrix, k, self.settings.chunk_size)
        scores, idx = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return scores, idx

    def recall_against_exact(self, queries, k: int) -> float:
        """Mean over queries of |approximate top-k ∩ exact top-k| / k (1.0 for exact methods)."""
        _, approx = self.search(queries, k)
        _, exact = exact_top_k(queries, self.matrix, k, self.settings.chunk_size)
        hits = [len(set(a[a >= 0].tolist()) & set(e.tolist())) / max(1, len(e)) for a, e in zip(approx, exact)]
        return float(sum(hits) / max(1, len(hits)))
