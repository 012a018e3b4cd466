"""The sorting control flow of Setwise ranking (Zhuang et al., SIGIR 2024), as pure generators.

A sort yields each set of items it wants compared (a list, the first item in the position the answer falls back
to) and is sent back the index of the most relevant item in that set, or None when the answer could not be read.
It returns the final order: the top `k` it sorted, then every other item in its input order. The steps follow
ielab/llm-rankers' SetwiseLlmRanker (heapSort / heapify, and its faster bubble sort), compare for compare:

- heapsort: a max-heap with `num_child` children per node, built from node n // num_child down to the root;
  the root is swapped to the end and the heap re-sifted until `k` items are placed. An unread answer (None)
  or an index outside the set keeps the parent where it is.
- bubblesort: windows of num_child + 1 items bubble the best item up from the bottom, `k` passes; a pass starts
  where the previous one last changed something (the reference's `last_start` bookkeeping). An unread answer
  counts as the window's first item. Deviation: an index beyond the window is read as unread too (the
  reference would swap with an item outside the window, or fail past the end of the list).

`run_sort(sort, compare)` drives a sort with a function set -> index | None. `PAIRWISE_SORTS` with `champion(beats)`
are the pairwise sorts of llm-rankers' PairwiseLlmRanker (heapSort with two children, bubblesort), compare for
compare, made of the same generators.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Hashable, Sequence
from typing import TypeVar

T = TypeVar("T", bound=Hashable)
Sort = Generator[list, "int | None", list]


def heap_children(i: int, size: int, num_child: int) -> range:
    """Positions of node i's children in a heap of `size` items with `num_child` children per node."""
    return range(num_child * i + 1, min(num_child * (i + 1) + 1, size))


def _sift(arr: list, size: int, i: int, num_child: int) -> Sort:
    """Move arr[i] down until it beats its children (one compare per level)."""
    while True:
        children = heap_children(i, size, num_child)
        if not children:
            return
        positions = [i, *children]
        best = yield [arr[j] for j in positions]
        largest = positions[best] if best is not None and 0 <= best < len(positions) else i
        if largest == i:
            return
        arr[i], arr[largest] = arr[largest], arr[i]
        i = largest


def top_k_then_rest(items: Sequence[T], top: list[T], k: int) -> list[T]:
    """The first k of `top`, then every other item in its input order (how llm-rankers ends every ranking)."""
    placed = top[:k]
    chosen = set(placed)
    return placed + [d for d in items if d not in chosen]


def heapsort(items: Sequence[T], num_child: int, k: int) -> Sort:
    arr = list(items)
    n = len(arr)
    for i in range(n // num_child, -1, -1):
        yield from _sift(arr, n, i, num_child)
    for end in range(n - 1, 0, -1):
        arr[end], arr[0] = arr[0], arr[end]
        if n - end == k:  # the k-th item is placed
            break
        yield from _sift(arr, end, 0, num_child)
    return top_k_then_rest(items, arr[::-1], k)


def bubblesort(items: Sequence[T], num_child: int, k: int) -> Sort:
    ranking = list(items)
    n = len(ranking)
    width = num_child + 1
    bottom = n - width  # where the first pass starts
    last_start = bottom
    for i in range(k):
        start, end = last_start, last_start + width
        changed = False
        while True:
            start = max(start, i)
            window = ranking[start:end]
            best = yield window
            if best is None or not 0 <= best < len(window):
                best = 0
            if best != 0:
                ranking[start], ranking[start + best] = ranking[start + best], ranking[start]
                if not changed:
                    changed = True
                    # the best item came from the window's bottom: the next pass may start one window lower
                    if last_start != bottom and best == len(window) - 1:
                        last_start += len(window) - 1
            if start == i:
                break
            if not changed:
                last_start -= num_child
            start -= num_child
            end -= num_child
    return top_k_then_rest(items, ranking, k)


SORTS = {"heapsort": heapsort, "bubblesort": bubblesort}

#: the pairwise sorts of llm-rankers' PairwiseLlmRanker: a binary heap, and sliding = bubble sort over adjacent pairs
PAIRWISE_SORTS = {"heapsort": lambda items, k: heapsort(items, 2, k),
                  "sliding": lambda items, k: bubblesort(items, 1, min(k, len(items)))}


def champion(beats: Callable[[T, T], bool]) -> Callable[[list], int]:
    """A set compare made of pairwise ones: the set's first item holds until a later item beats the holder.
    For a heap node [parent, left, right] that is llm-rankers' pairwise heapify (left vs parent, then right vs
    the larger); for a bubble window [upper, lower], the lower item moves up when it beats the upper one."""
    def compare(items: list) -> int:
        best = 0
        for j in range(1, len(items)):
            if beats(items[j], items[best]):
                best = j
        return best
    return compare


def rank_scores(order: Sequence[int]) -> list[float]:
    """Scores n - rank per input position, for a final order of positions 0..n-1."""
    scores = [0.0] * len(order)
    for rank, position in enumerate(order):
        scores[position] = float(len(order) - rank)
    return scores


def run_sort(sort: Sort, compare: Callable[[list], "int | None"]) -> list:
    """Drive a sort to its end; `compare(set)` answers each set it yields."""
    try:
        request = next(sort)
        while True:
            request = sort.send(compare(request))
    except StopIteration as done:
        return done.value
