"""llm-setwise's sorts against llm-rankers' SetwiseLlmRanker (PyPI llm-rankers 0.0.2), live, on DL19 BM25 lists.

The reference ranker is built without a model (`object.__new__` plus the attributes heapSort / rerank read) and
its `compare` is replaced by an oracle; lrbench's sort gets the same oracle through its own label parser. The
oracle is a deterministic function of the document ids in the set: the best by DL19 qrels grade (ties broken by a
hash of the id), an unreadable answer for some sets and, for heapsort, a label beyond the set for others (both
fall back to the set's first document). Equal means the same sequence of compared sets, in order, and the same
final ranking. Bubblesort gets no beyond-the-set labels: there the reference swaps with a document outside the
window, a documented deviation.
"""

from __future__ import annotations

import hashlib

import pytest

from lrbench.runners.llm import sorts as setwise_sort
from lrbench.runners.llm.prompts.setwise import LETTERS, parse_letter
from lrbench.runners.llm.sorts import SORTS, run_sort
from neural_helpers import shared_dl19_candidates

pytest.importorskip("llmrankers", reason="install the reference extra: pip install --no-deps llm-rankers==0.0.2")


def _hash(text: str) -> int:
    return int(hashlib.sha1(text.encode()).hexdigest()[:12], 16)


@pytest.fixture(scope="module")
def dl19():
    from conftest import SHARED

    lists, _ = shared_dl19_candidates(n_queries=5, depth=100)
    return lists, dl19_grades(SHARED)


def dl19_grades(shared) -> dict[tuple[str, str], int]:
    """(query id, doc id) -> DL19 qrels grade."""
    lines = (shared / "trec-dl-2019-passage" / "qrels.dl19-passage.txt").read_text().splitlines()
    return {(qid, docid): int(grade) for qid, _, docid, grade in (line.split() for line in lines)}


def oracle(qid: str, grades: dict, beyond: bool):
    """set of doc ids -> the generated label text, a fixed function of the ids."""
    def answer(ids: list[str]) -> str:
        if len(ids) < 2:
            return "A"
        h = _hash("|".join(ids))
        if h % 11 == 0:
            return "?"  # unreadable
        if beyond and h % 13 == 0:
            return LETTERS[len(ids)]  # a label the set does not have
        best = max(range(len(ids)), key=lambda j: (grades.get((qid, ids[j]), 0), _hash(ids[j])))
        return LETTERS[best]
    return answer


def reference(method: str, num_child: int, k: int, query: str, docids: list[str], answer):
    from llmrankers.rankers import SearchResult
    from llmrankers.setwise import SetwiseLlmRanker

    ranker = object.__new__(SetwiseLlmRanker)
    ranker.method, ranker.num_child, ranker.k = method, num_child, k
    seen = []

    def compare(q, docs):
        ids = [d.docid for d in docs]
        seen.append(ids)
        return answer(ids)

    ranker.compare = compare
    ranked = ranker.rerank(query, [SearchResult(docid=d, score=0.0, text="") for d in docids])
    return seen, [r.docid for r in ranked]


def ours(method: str, num_child: int, k: int, docids: list[str], answer, fallback=None):
    seen = []

    def compare(ids):
        seen.append(list(ids))
        best = parse_letter(answer(list(ids)), len(ids))
        return fallback(ids) if best is None and fallback else best

    return seen, run_sort(SORTS[method](docids, num_child, k), compare)


SETTINGS = [("heapsort", 2, 10, 100), ("heapsort", 3, 10, 100), ("heapsort", 19, 10, 100), ("heapsort", 3, 1, 100),
            ("heapsort", 4, 100, 100), ("heapsort", 3, 20, 10), ("bubblesort", 3, 10, 100),
            ("bubblesort", 2, 5, 100), ("bubblesort", 19, 10, 100), ("bubblesort", 3, 12, 10),
            ("bubblesort", 1, 3, 30)]


@pytest.mark.parametrize("method,num_child,k,depth", SETTINGS)
def test_same_compares_and_ranking_as_llm_rankers(dl19, method, num_child, k, depth):
    lists, grades = dl19
    compares = 0
    for qid, query, docids in lists:
        docids = docids[:depth]
        answer = oracle(qid, grades, beyond=method == "heapsort")
        ref_seen, ref_ranking = reference(method, num_child, k, query, docids, answer)
        seen, ranking = ours(method, num_child, k, docids, answer)
        assert seen == ref_seen
        assert ranking == ref_ranking
        assert sorted(ranking) == sorted(docids)  # every candidate ranked once
        compares += len(seen)
    assert compares > 5 * len(lists)


def test_perturbed_heap_children_disagree(dl19, monkeypatch):
    """Off by one in the child index: the compare sequence must no longer be the reference's."""
    lists, grades = dl19
    qid, query, docids = lists[0]
    answer = oracle(qid, grades, beyond=True)
    ref_seen, ref_ranking = reference("heapsort", 3, 10, query, docids, answer)
    monkeypatch.setattr(setwise_sort, "heap_children",
                        lambda i, size, c: range(c * i + 2, min(c * (i + 1) + 2, size)))
    seen, ranking = ours("heapsort", 3, 10, docids, answer)
    assert seen != ref_seen


def test_perturbed_fallback_disagrees(dl19):
    """An unreadable answer read as the set's last document instead of its first changes the result."""
    lists, grades = dl19
    for method in ("heapsort", "bubblesort"):
        differs = False
        for qid, query, docids in lists:
            answer = oracle(qid, grades, beyond=False)
            ref = reference(method, 3, 10, query, docids, answer)
            if ours(method, 3, 10, docids, answer, fallback=lambda ids: len(ids) - 1) != ref:
                differs = True
        assert differs, method
