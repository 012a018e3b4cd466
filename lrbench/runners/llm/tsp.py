"""TSP decoding of a pairwise preference matrix (TSPRank, Wang et al., 2024), pure numpy.

Given W (W[i][j] = preference of item i over item j), the ranking is the Hamiltonian path r_1 .. r_n (free start
and end) that maximises sum_k W[r_k][r_{k+1}]: each item should be preferred over the one ranked right below it.

- `exact_path`: Held-Karp dynamic programming over subsets, O(2^n n^2) time and O(2^n n) memory; used up to
  `EXACT_MAX` items (16: 2^16 x 16 states, a few MB and well under a second). Ties between optimal paths go to
  the lowest item index at each step of the backtrack (deterministic).
- `heuristic_path`: above that size. Greedy nearest-neighbour paths (from each of the first `GREEDY_STARTS`
  items, plus any `seeds` such as the wins order) are improved by local search until no move helps: 2-opt (reverse a segment; W need not
  be symmetric, so the reversed segment's own edges are re-summed from prefix sums) and or-opt (move a run of 1 to
  3 items elsewhere, keeping its direction). The best path found is returned: never worse than any seed.

With a preference matrix where W[i][j] + W[j][i] = 1 (the two orders of a pairwise prompt averaged), a path scores
(n - 1) / 2 plus half of (steps down - steps up), so repeated descending runs can beat the sorted order: with
0 / 0.5 / 1 preferences from grades, 2 1 0 2 1 0 scores 4 and 2 2 1 1 0 0 scores 3.5. The decoding returns the
objective's optimum, which on such a matrix need not be the sorted order (tests/test_tsp.py).
"""

from __future__ import annotations

import numpy as np

#: largest n solved exactly (Held-Karp); the runners' default and the cap of `best_path(exact_max=...)`
EXACT_MAX = 16
#: greedy start items of the heuristic (each start costs one local search: ~0.01 s at n = 20, ~0.5 s at n = 100)
GREEDY_STARTS = 20
_EPS = 1e-12


def _matrix(weights) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2 or w.shape[0] != w.shape[1]:
        raise ValueError(f"a preference matrix must be square, got shape {w.shape}")
    off = ~np.eye(len(w), dtype=bool)
    if not np.isfinite(w[off]).all():
        raise ValueError("a preference matrix must hold finite numbers off its diagonal")
    return w


def path_score(weights, order) -> float:
    """sum_k W[order[k]][order[k+1]]."""
    w = np.asarray(weights, dtype=np.float64)
    order = np.asarray(order, dtype=np.int64)
    return float(w[order[:-1], order[1:]].sum()) if len(order) > 1 else 0.0


def exact_path(weights) -> list[int]:
    """The best Hamiltonian path by Held-Karp (n <= EXACT_MAX)."""
    w = _matrix(weights)
    n = len(w)
    if n <= 1:
        return list(range(n))
    if n > EXACT_MAX:
        raise ValueError(f"exact TSP decoding is limited to {EXACT_MAX} items, got {n}")
    full = 1 << n
    best = np.full((full, n), -np.inf)
    parent = np.full((full, n), -1, dtype=np.int8)
    for j in range(n):
        best[1 << j, j] = 0.0
    masks = np.arange(full)
    sizes = np.zeros(full, dtype=np.int64)
    for j in range(n):
        sizes += (masks >> j) & 1
    rows = {size: masks[sizes == size] for size in range(2, n + 1)}
    off_diag = np.where(np.eye(n, dtype=bool), -np.inf, w)  # no step from an item to itself
    for size in range(2, n + 1):  # subsets by size: a subset's value needs only smaller ones
        layer = rows[size]
        for j in range(n):
            ending = layer[(layer >> j) & 1 == 1]
            came = best[ending ^ (1 << j)] + off_diag[:, j]  # [subsets, previous item]
            step = came.argmax(axis=1)  # first maximum: the lowest previous index
            best[ending, j] = came[np.arange(len(ending)), step]
            parent[ending, j] = step
    mask, last = full - 1, int(best[full - 1].argmax())
    path = [last]
    while mask != (1 << last):
        prev = int(parent[mask, last])
        mask ^= 1 << last
        last = prev
        path.append(last)
    return path[::-1]


def greedy_path(w: np.ndarray, start: int) -> list[int]:
    """From `start`, always step to the unvisited item with the largest preference (lowest index on ties)."""
    n = len(w)
    left = np.ones(n, dtype=bool)
    left[start] = False
    path = [start]
    for _ in range(n - 1):
        row = np.where(left, w[path[-1]], -np.inf)
        nxt = int(row.argmax())
        left[nxt] = False
        path.append(nxt)
    return path


def _two_opt(w: np.ndarray, path: list[int]) -> bool:
    """Apply the best segment reversal that improves the path (in place); False when none does."""
    n = len(path)
    o = np.asarray(path)
    fwd = np.concatenate([[0.0], np.cumsum(w[o[:-1], o[1:]])])  # fwd[k]: edges before position k
    bwd = np.concatenate([[0.0], np.cumsum(w[o[1:], o[:-1]])])
    a, b = np.triu_indices(n, 1)  # reverse positions a..b
    gain = (bwd[b] - bwd[a]) - (fwd[b] - fwd[a])
    inner = a > 0
    gain[inner] += w[o[a[inner] - 1], o[b[inner]]] - w[o[a[inner] - 1], o[a[inner]]]
    outer = b < n - 1
    gain[outer] += w[o[a[outer]], o[b[outer] + 1]] - w[o[b[outer]], o[b[outer] + 1]]
    k = int(gain.argmax())
    if gain[k] <= _EPS:
        return False
    path[a[k]:b[k] + 1] = path[a[k]:b[k] + 1][::-1]
    return True


def _or_opt(w: np.ndarray, path: list[int]) -> bool:
    """Apply the first move of a run of 1-3 items (direction kept) that improves the path; False when none does."""
    n = len(path)
    for length in (1, 2, 3):
        for start in range(n - length + 1):
            end = start + length - 1
            run, rest = path[start:end + 1], path[:start] + path[end + 1:]
            head, tail = run[0], run[-1]
            removed = 0.0
            if start > 0:
                removed += w[path[start - 1], head]
            if end < n - 1:
                removed += w[tail, path[end + 1]]
            if 0 < start and end < n - 1:
                removed -= w[path[start - 1], path[end + 1]]
            for slot in range(len(rest) + 1):  # insert before rest[slot]
                if slot == start:
                    continue  # where it came from
                added = 0.0
                if slot > 0:
                    added += w[rest[slot - 1], head]
                if slot < len(rest):
                    added += w[tail, rest[slot]]
                if 0 < slot < len(rest):
                    added -= w[rest[slot - 1], rest[slot]]
                if added - removed > _EPS:
                    path[:] = rest[:slot] + run + rest[slot:]
                    return True
    return False


def local_search(w: np.ndarray, path: list[int], max_rounds: int = 1000) -> list[int]:
    path = list(path)
    for _ in range(max_rounds):
        if not (_two_opt(w, path) or _or_opt(w, path)):
            break
    return path


def heuristic_path(weights, seeds: list[list[int]] | None = None, starts: int | None = None) -> list[int]:
    """Greedy paths from the first `starts` items (GREEDY_STARTS by default) and the `seeds`, each improved by
    local search; the best one (the earliest on ties)."""
    w = _matrix(weights)
    n = len(w)
    if n <= 2:
        return exact_path(w)
    candidates = [list(s) for s in (seeds or [])]
    candidates += [greedy_path(w, s) for s in range(min(GREEDY_STARTS if starts is None else starts, n))]
    best, best_score = None, -np.inf
    for path in candidates:
        path = local_search(w, path)
        score = path_score(w, path)
        if score > best_score + _EPS:
            best, best_score = path, score
    return best


def best_path(weights, exact_max: int = EXACT_MAX, seeds: list[list[int]] | None = None) -> tuple[list[int], bool]:
    """(path, exact): Held-Karp when n <= exact_max (at most EXACT_MAX), the heuristic above it."""
    n = len(weights)
    if n <= min(exact_max, EXACT_MAX):
        return exact_path(weights), True
    return heuristic_path(weights, seeds), False
