"""`cur-retrieval`: ANNCUR (Yadav et al., EMNLP 2022, "Efficient Nearest Neighbor Search for Cross-Encoder
Models using Matrix Factorization") as a first stage over the whole corpus, for any pairwise scorer.

Indexing: score `anchor_queries` queries against every item with the scorer (R_anc, k_q x N) and pick
`anchor_items` random items (columns I). A test query is scored against the anchor items only (c, 1 x k_i);
its scores against all items are approximated by CUR: s ~= c @ pinv(R_anc[:, I]) @ R_anc. The top `k` items by
the approximation (anchor items keep their exact scores) are then scored exactly and returned in that order.
Scorer calls per test query: k_i + the top-k items that are not anchors; exhaustive scoring costs N.

Anchor queries: a dataset with only test queries (BEIR SciFact) has none to spare, so the queries are split
in two folds (seeded) and each fold's queries are answered with anchors drawn from the other fold: no query is
ever its own anchor, every query gets a ranking, and the index costs 2 x k_q x N scorer calls.

scorer: {type: embedder | llm-pointwise | cross-encoder, params: {...}} — any pairwise runner, called through
its public scorer (`runner.pair_scorer(loaded).score(query, docs)`), so an llm-pointwise scorer keeps its
`score_mode` and `recipe`. The embedder's corpus embeddings are cached (a pair's score is then a dot product,
still counted as one scorer call).
"""

from __future__ import annotations

import random
import time
from typing import Any

import pandas as pd
from pydantic import Field, model_validator

from lrbench.errors import LrbenchError
from lrbench.runners.base import Output, RunContext, Runner, RunnerParams
from lrbench.runners.neural.device import select_device
from lrbench.runners.cost import Cost
from lrbench.runners.neural.profile import PeakMemory, Stopwatch
from lrbench.datasets.base import RUN_COLUMNS

PAIRWISE = ("embedder", "llm-pointwise", "cross-encoder")


class CurParams(RunnerParams):
    scorer: dict[str, Any] = Field(description="{type: embedder|llm-pointwise|cross-encoder, params: {...}}")
    anchor_queries: int = Field(100, ge=1, description="anchor queries per fold")
    anchor_items: int = Field(100, ge=1)
    k: int = Field(100, ge=1, description="items retrieved by the CUR approximation, then scored exactly")
    seed: int = 0
    rcond: float = Field(1e-2, gt=0, description="pseudo-inverse cut-off relative to the largest singular value; "
                                                 "1e-6 collapses when anchor_items == anchor_queries (SciFact: "
                                                 "recall@10 0.11 vs 0.89 at 1e-2)")

    @model_validator(mode="after")
    def _pairwise_scorer(self):
        kind = self.scorer.get("type") if isinstance(self.scorer, dict) else None
        if kind not in PAIRWISE:
            raise LrbenchError(f"scorer type {kind!r} is not a pairwise scorer", key="params.scorer.type",
                               hint=f"use one of {', '.join(PAIRWISE)}, e.g. scorer: {{type: embedder, params: "
                                    "{model: sentence-transformers/all-MiniLM-L6-v2}}")
        unknown = set(self.scorer) - {"type", "params"}
        if unknown:
            raise LrbenchError(f"unknown scorer key(s) {', '.join(sorted(unknown))}", key="params.scorer",
                               hint="scorer takes type and params")
        from lrbench.runners.registry import get_runner

        # the scorer's own params, checked now and written out in full, so its defaults are part of the cell key
        params = get_runner(kind).parse_params(dict(self.scorer.get("params") or {})).model_dump(mode="json")
        self.scorer = {"type": kind, "params": params}
        return self


def cur_operator(anchor_rows, anchor_items, rcond: float = 1e-6):
    """U = pinv(R_anc[:, I]) @ R_anc, so that a query's approximate scores are c @ U (c: its scores on I)."""
    import numpy as np

    return np.linalg.pinv(anchor_rows[:, anchor_items], rcond=rcond) @ anchor_rows


class PairScorer:
    """(query text, item indices) -> exact scores, counting calls; wraps a pairwise runner."""

    def __init__(self, spec: dict, dataset, ctx: RunContext):
        from lrbench.runners.registry import get_runner

        self.type = spec["type"]
        self.runner = get_runner(self.type)(dict(spec.get("params") or {}))
        self.ids, self.texts = [], []
        for doc_id, text in dataset.docs():
            self.ids.append(str(doc_id))
            self.texts.append(text)
        self.calls = 0
        self.loaded = self.runner.load(ctx, self.texts[:32])
        self.runner.prepare(self.loaded)
        self.matrix = None
        self.corpus_cost = Cost()  # what the embedder scorer's corpus embeddings took (recorded when cached)
        self._queries: dict = {}  # embedder: query embeddings, one encode per query
        if self.type == "embedder":
            _, self.matrix, *_, self.corpus_cost = self.runner.corpus_embeddings(self.loaded, dataset, ctx)
        self.watch = Stopwatch()
        self.exact = self.runner.pair_scorer(self.loaded, self.watch)

    def __call__(self, query: str, items) -> Any:
        import numpy as np

        items = np.asarray(items, dtype=np.int64)
        self.calls += len(items)
        if self.matrix is not None:
            if query not in self._queries:
                self._queries[query] = self.runner.encode_queries(self.loaded, [query], self.watch)[0]
            return self.matrix[items] @ self._queries[query]
        return np.asarray(self.exact.score(query, [self.texts[i] for i in items]), dtype=np.float64)

    def forget_queries(self) -> None:
        """Drop the query embeddings kept so far, so that every test query's cost includes its own encoding."""
        self._queries.clear()

    def all_items(self, query: str):
        import numpy as np

        return self(query, np.arange(len(self.ids)))


class CurRetrievalRunner(Runner):
    """ANNCUR: CUR approximation of a pairwise scorer from anchor queries and items, then exact reranking."""

    type = "cur-retrieval"
    version = "5"
    needs_input = False
    Params = CurParams

    @classmethod
    def key_extra(cls, params: CurParams, suite_dir):
        from lrbench.runners.registry import get_runner

        scorer = get_runner(params.scorer["type"])  # parsed: a known pairwise runner, its params written out
        try:
            return scorer.key_extra(scorer.parse_params(params.scorer["params"]), suite_dir)
        except LrbenchError:
            return ""

    def run(self, dataset, inputs, ctx: RunContext) -> Output:
        p: CurParams = self.params
        queries = dataset.eval_queries()
        qids = sorted(queries)
        if len(qids) < 2:
            raise LrbenchError("cur-retrieval needs at least 2 queries (anchors come from the other fold)",
                               key="params.anchor_queries")
        started = time.perf_counter()
        with PeakMemory(select_device(str((p.scorer.get("params") or {}).get("device", "auto")))) as mem:
            scorer = PairScorer(p.scorer, dataset, ctx)
            n_items = len(scorer.ids)
            index_cost = Cost()  # the anchors' exact scores: the index stage, not a query's cost
            with scorer.loaded.charging(index_cost):
                index = self.build_index(scorer, queries, qids, ctx)
            scorer.forget_queries()  # an anchor query's encoding is index cost; as a test query it is paid again
            rows, watch = [], Stopwatch()
            calls_before = scorer.calls
            with scorer.loaded.charging(watch):
                for qid in ctx.progress(qids, total=len(qids), description="cur retrieval"):
                    fold = index["fold_of"][qid]
                    with watch.timed():
                        items, scores = self.search(scorer, queries[qid], index["operators"][1 - fold],
                                                    index["anchor_items"])
                    rows.extend((qid, scorer.ids[i], float(s)) for i, s in zip(items, scores))
                    watch.docs += len(items)
            query_calls = scorer.calls - calls_before
        profile = {**scorer.runner.model_profile(scorer.loaded, watch, len(qids)),
                   **index_cost.profile(len(qids), "index_"), **scorer.corpus_cost.profile(len(qids), "corpus_"),
                   "scorer": scorer.type, "items": n_items,
                   "anchor_queries": index["anchor_counts"], "anchor_items": len(index["anchor_items"]), "k": p.k,
                   "index_scorer_calls": index["calls"], "index_seconds": index["seconds"],
                   "scorer_calls_per_query": query_calls / len(qids), "exhaustive_calls_per_query": n_items,
                   "anchor_protocol": "two folds of the evaluated queries, each answered with the other's anchors",
                   "runner_seconds": time.perf_counter() - started, **watch.as_dict(), **mem.as_dict()}
        return Output(run=pd.DataFrame(rows, columns=RUN_COLUMNS), profile=profile)

    def build_index(self, scorer: PairScorer, queries: dict, qids: list[str], ctx: RunContext) -> dict:
        """Two folds of queries; per fold, anchor queries' exact scores on all items and the CUR operator."""
        import numpy as np

        p: CurParams = self.params
        t0 = time.perf_counter()
        rng = random.Random(p.seed)
        shuffled = qids[:]
        rng.shuffle(shuffled)
        folds = [shuffled[0::2], shuffled[1::2]]
        n_items = len(scorer.ids)
        anchor_items = np.asarray(sorted(rng.sample(range(n_items), min(p.anchor_items, n_items))))
        calls0 = scorer.calls
        operators, counts = [], []
        for fold in folds:
            anchors = fold[: p.anchor_queries]
            counts.append(len(anchors))
            rows = np.stack([scorer.all_items(queries[q]) for q in ctx.progress(
                anchors, total=len(anchors), description="cur anchors")]).astype(np.float64)
            operators.append(cur_operator(rows, anchor_items, p.rcond))
        fold_of = {q: f for f, fold in enumerate(folds) for q in fold}
        return {"operators": operators, "anchor_items": anchor_items, "fold_of": fold_of, "anchor_counts": counts,
                "calls": scorer.calls - calls0, "seconds": time.perf_counter() - t0}

    def search(self, scorer: PairScorer, query: str, operator, anchor_items):
        """Top-k by the CUR approximation, rescored exactly; returns (item indices, exact scores) best first."""
        import numpy as np

        p: CurParams = self.params
        exact_anchor = np.asarray(scorer(query, anchor_items), dtype=np.float64)
        approx = exact_anchor @ operator
        approx[anchor_items] = exact_anchor
        k = min(p.k, len(approx))
        top = np.argpartition(-approx, k - 1)[:k]
        known = dict(zip(anchor_items.tolist(), exact_anchor.tolist()))
        fresh = np.asarray([i for i in top if i not in known], dtype=np.int64)
        exact = dict(zip(fresh.tolist(), np.asarray(scorer(query, fresh)).tolist())) if len(fresh) else {}
        scores = np.asarray([known.get(int(i), exact.get(int(i))) for i in top], dtype=np.float64)
        order = np.argsort(-scores, kind="stable")
        return top[order], scores[order]
