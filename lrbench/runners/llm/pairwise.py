"""`llm-pairwise`: pairwise ranking prompting (Qin et al., PRP, NAACL Findings 2024) with a causal LM, and TSP
decoding of its preference matrix (TSPRank, Wang et al., 2024).

Every compare asks which of two passages is more relevant, in both orders (two prompts, one batch), with the
prompt of ielab/llm-rankers' PairwiseLlmRanker (prompts/pairwise.py). The preference of the first passage is
`compare: generate`: 1 when both orders pick it, 0 when both pick the other, 0.5 otherwise (a conflict or an
  unread answer), from one generated token per prompt (llm-rankers' causal-LM compare);
`compare: likelihood`: the mean of P(it | order 1) and P(it | order 2), each a softmax over the two labels'
  next-token logits (PRP's scoring mode; llm-rankers has no causal-LM likelihood path).

`method` (llm-rankers' PairwiseLlmRanker, compare for compare):
  allpairs: every pair (itertools.combinations of the input order); a passage's score is the sum of its
    preferences, ties in the order in which passages first scored (llm-rankers' dict), passages that never
    scored last in input order. With `decode: tsp` the same pairs fill the preference matrix P (P[j][i] =
    1 - P[i][j]) and the ranking is the Hamiltonian path maximising the sum of consecutive preferences
    (lrbench.runners.llm.tsp: exact up to `tsp_exact_max` passages, local search above, seeded with the wins order).
  heapsort: a binary max-heap; a child replaces its parent only when it is preferred (> 0.5).
  sliding: PRP-Sliding-K, llm-rankers' bubblesort: `k` passes of adjacent pairs from the bottom up.
All methods end as llm-rankers does: the top `k` in the order found, then every other passage in input order.

Cost: an answer from the answer cache costs what it cost when it was computed (its share of the FLOPs, forward
passes and tokens of the batch that computed it, stored with it), so `flops`, `flops_per_query`, tokens and model
calls are the method's whole cost, the same cold or warm; `flops_spent`, `model_calls_spent` (prompts run) and
`cached_answers` say what this run computed and what it found.
"""

from __future__ import annotations

import json
import math
from itertools import combinations
from typing import Literal

from pydantic import Field, model_validator

from lrbench.errors import LrbenchError
from lrbench.runners.base import Output, RunContext
from lrbench.runners.cost import Cost, stored
from lrbench.runners.neural.base import NeuralParams, check_template
from lrbench.runners.neural.generation import GenerationParams, attach_generations, check_backend
from lrbench.runners.llm.label_compare import LabelCompareRunner
from lrbench.runners.llm.prompts.pairwise import (PAIRWISE_ANSWER_PREFIX, PAIRWISE_TEMPLATE, pair_preference,
                                              read_label)
from lrbench.runners.llm.recipes import RecipeParams, fill_recipe
from lrbench.runners.llm.sorts import PAIRWISE_SORTS, champion, rank_scores, run_sort, top_k_then_rest
from lrbench.runners.llm.tsp import EXACT_MAX


class PairwiseParams(NeuralParams, RecipeParams, GenerationParams):  # backend: see neural/generation
    compare: Literal["generate", "likelihood"] = "generate"
    method: Literal["allpairs", "sliding", "heapsort"] = "heapsort"
    decode: Literal["wins", "tsp"] = Field("wins", description="allpairs: sum the preferences (wins) or find the "
                                                               "best Hamiltonian path through them (tsp)")
    tsp_exact_max: int = Field(EXACT_MAX, ge=1, le=EXACT_MAX, description="decode tsp: most passages decoded "
                                                                          "exactly (Held-Karp); local search above")
    k: int = Field(10, ge=1, description="how many top passages are ranked")
    template: str | None = Field(None, description="user prompt with {query}, {doc1}, {doc2}; default PRP's")
    system: str | None = None
    answer_prefix: str | None = Field(None, description="start of the assistant turn; default ' Passage:'")
    doc_max_tokens: int | None = Field(128, ge=1)
    query_max_tokens: int | None = Field(None, ge=1)
    special_tokens: bool | None = Field(None, description="add the tokenizer's BOS to the templated prompt "
                                                          "(default: only without a chat template)")
    chat: bool = True
    answer_cache: bool = Field(True, description="keep each prompt's answer in the lrbench cache (model, "
                                                 "revision, dtype, compression, compare, prompt ids): systems "
                                                 "asking the same pairs (decode wins / tsp) ask the model once")

    @model_validator(mode="before")
    @classmethod
    def _recipe(cls, data):
        return fill_recipe("llm-pairwise", data)

    @model_validator(mode="after")
    def _fits(self):
        check_template(self.prompt_template, ("query", "doc1", "doc2"))
        if self.decode == "tsp" and self.method != "allpairs":
            raise LrbenchError(f"decode: tsp needs every pair's preference, method {self.method} compares only "
                               "some", key="params.decode", hint="use method: allpairs with decode: tsp")
        check_backend(self, self.compare != "likelihood", f"compare: {self.compare}")
        return self

    @property
    def prompt_template(self) -> str:
        return self.template or PAIRWISE_TEMPLATE

    @property
    def system_message(self) -> str | None:
        return self.system

    @property
    def prefix(self) -> str:
        return PAIRWISE_ANSWER_PREFIX if self.answer_prefix is None else self.answer_prefix


class PairwiseRunner(LabelCompareRunner):
    """LLM pairwise reranker: all pairs, a heap or a sliding bubble sort, each pair asked in both orders."""

    type = "llm-pairwise"
    version = "2"  # 2: cached answers are charged their stored cost
    Params = PairwiseParams

    def run(self, dataset, inputs, ctx: RunContext) -> Output:
        from pathlib import Path

        from lrbench.runners.neural.generation import ResponseCache

        p: PairwiseParams = self.params
        self._answers = ResponseCache(Path(ctx.cache_dir) / "pairwise-answers") \
            if p.answer_cache and p.backend == "transformers" else None
        what = f"{p.method}, {p.compare}" + (", tsp" if p.decode == "tsp" else "")
        return attach_generations(self, self.rerank(dataset, inputs, ctx, self.score_list, f"llm pairwise ({what})"))

    counted = (*LabelCompareRunner.counted, "conflicting_pairs", "cached_answers", "model_calls_spent", "flops_spent")

    def __init__(self, params):
        super().__init__(params)
        self.trace: list[tuple[int, int]] = []  # the current query's compares, (first, second) positions

    # -- one query ---------------------------------------------------------------------------
    def score_list(self, loaded, query: str, docs: list[str], watch) -> list[float]:
        """Scores n - rank for the final order (the scorer `rerank` calls per query)."""
        self.start_counts(watch)
        if self.params.decode == "tsp":
            watch.count("tsp_exact_queries", 0)
            watch.count("tsp_heuristic_queries", 0)
        self.trace = []
        query, docs = self.truncated(loaded, query, docs)
        return rank_scores(self.order(loaded, query, docs, watch))

    def order(self, loaded, query: str, docs: list[str], watch) -> list[int]:
        """The final order of the positions 0..n-1 of `docs`."""
        p: PairwiseParams = self.params
        positions = list(range(len(docs)))
        if p.method == "allpairs":
            pairs = list(combinations(positions, 2))
            prefs = self.preferences(loaded, query, docs, pairs, watch)
            if p.decode == "tsp":
                top, exact = tsp_order(len(docs), pairs, prefs, p.tsp_exact_max)
                watch.count("tsp_exact_queries" if exact else "tsp_heuristic_queries")
            else:
                top = wins_order(len(docs), pairs, prefs)
            return top_k_then_rest(positions, top, p.k)

        def beats(i: int, j: int) -> bool:
            return self.preferences(loaded, query, docs, [(i, j)], watch)[0] > 0.5

        return run_sort(PAIRWISE_SORTS[p.method](positions, p.k), champion(beats))

    def preferences(self, loaded, query: str, docs: list[str], pairs: list[tuple[int, int]], watch) -> list[float]:
        """Preference of the first passage of each pair over the second, from both orders (one batch)."""
        p: PairwiseParams = self.params
        prompts = []
        for i, j in pairs:
            prompts += [self.prompt_ids(loaded, query, [docs[i], docs[j]]),
                        self.prompt_ids(loaded, query, [docs[j], docs[i]])]
        watch.count("compares", len(pairs))
        self.trace += pairs
        # `sort` makes the batches the model call would: next_token_logits keeps the order, generate sorts
        if p.compare == "likelihood":
            logits = self.answers(loaded, prompts, lambda todo: [json.dumps(r) for r in self.label_logits(
                loaded, todo, 2, p.batch_size, watch)], watch, sort=False)
            logits = [json.loads(a) for a in logits]
            prefs = []
            for first, second in zip(logits[::2], logits[1::2]):
                prefs.append((_softmax2(first)[0] + _softmax2(second)[1]) / 2)
            return prefs
        texts = self.answers(loaded, prompts, lambda todo: self.generated_texts(loaded, todo, 1, p.batch_size, watch),
                             watch, sort=True)
        labels = [read_label(t) for t in texts]
        watch.count("unparsed_answers", sum(label is None for label in labels))
        prefs = []
        for first, second in zip(labels[::2], labels[1::2]):
            prefs.append(pair_preference(first, second))
            watch.count("conflicting_pairs", first is not None and first == second)
        return prefs

    def answers(self, loaded, prompts: list[list[int]], ask, watch: Cost, sort: bool) -> list[str]:
        """Each prompt's answer (text): from the answer cache, or from `ask(prompts)` one batch at a time (batches
        of `batch_size`, longest first when `sort`), each new answer stored with its share of its batch's cost
        (a prompt asked twice is computed once). `watch` is charged the method's cost: what the batches run now
        spend, plus each cached answer's stored share."""
        from lrbench.runners.neural.batching import length_batches

        cache = getattr(self, "_answers", None)
        requests = [self.answer_request(loaded, ids) for ids in prompts] if cache is not None else []
        keys = [cache.key(r) for r in requests] if cache is not None else list(range(len(prompts)))
        out: list[str | None] = [None] * len(prompts)
        shares: dict = {}  # key -> the stored cost of its answer
        for i, key in enumerate(keys):
            entry = cache.get(key) if cache is not None else None
            share = stored_cost(entry)
            if share is not None:  # an older entry without its cost counts as missing: computed again
                out[i], shares[key] = entry["text"], share
        first: dict = {}  # key -> the position that computes it
        todo = [first.setdefault(keys[i], i) for i, a in enumerate(out) if a is None and keys[i] not in first]
        for batch in length_batches([len(prompts[i]) for i in todo], self.params.batch_size, sort):
            rows = [todo[b] for b in batch]
            before = watch.totals()
            for i, answer in zip(rows, ask([prompts[i] for i in rows])):
                out[i] = answer
            batch_shares = watch.shares_of(before, len(rows), [len(prompts[i]) for i in rows])
            spent = sum(share.flops for share in batch_shares)
            watch.count("flops_spent", spent)
            if cache is None or not sum(share.calls for share in batch_shares):
                continue  # outside `charging` (the warm-up) an answer's cost is unknown: not kept
            for i, share in zip(rows, batch_shares):
                shares[keys[i]] = share
                cache.put(keys[i], requests[i], out[i], share.as_usage())
        found, computed = Cost(), set(todo)
        for i, key in enumerate(keys):
            if i not in computed:  # from the cache, or a repeat of a prompt computed above
                out[i] = out[first[key]] if key in first else out[i]
                found.merge(shares.get(key, Cost()))
        watch.merge(found)
        watch.count("generated_tokens", found.tokens_out)
        watch.count("model_calls", len(prompts) - len(todo))  # the batches above counted their own prompts
        watch.count("cached_answers", len(prompts) - len(todo))
        watch.count("model_calls_spent", len(todo))
        return out  # type: ignore[return-value]

    def answer_request(self, loaded, ids: list[int]) -> dict:
        """What identifies an answer in the cache: the model as loaded, the compare mode and the prompt."""
        p: PairwiseParams = self.params
        resolved = loaded.resolved
        request = {"runner": self.type, "model": resolved.model_id, "revision": resolved.revision,
                   "dtype": str(loaded.dtype), "compression": loaded.compression, "adapter": p.adapter,
                   "compare": p.compare, "prompt_ids": list(ids)}
        return json.loads(json.dumps(request, default=str))

    # -- prompts -----------------------------------------------------------------------------
    def user_message(self, query: str, docs: list[str]) -> str:
        doc1, doc2 = docs
        return self.params.prompt_template.format(query=query, doc1=doc1, doc2=doc2)

    def extra_profile(self) -> dict:
        from lrbench.runners.llm.recipes import recipe_profile

        p: PairwiseParams = self.params
        extra = {"tsp_exact_max": p.tsp_exact_max} if p.decode == "tsp" else {}
        return {"method": p.method, "decode": p.decode, "k": p.k, **self.label_profile(), **extra,
                **recipe_profile(p)}


def stored_cost(entry: dict | None) -> Cost | None:
    """The cost stored with a cached answer; None for no entry or one without a whole, valid cost."""
    return stored((entry or {}).get("usage"))


def _softmax2(logits: list[float]) -> tuple[float, float]:
    a, b = logits
    top = max(a, b)
    ea, eb = math.exp(a - top), math.exp(b - top)
    return ea / (ea + eb), eb / (ea + eb)


def wins_order(n: int, pairs: list[tuple[int, int]], prefs: list[float]) -> list[int]:
    """Positions by summed preference, as llm-rankers' allpair ranks them: a stable sort of a dict filled in the
    order passages first score (the first passage of a pair before the second); never-scored passages last."""
    scores: dict[int, float] = {}
    for (i, j), pref in zip(pairs, prefs):
        if pref > 0:
            scores[i] = scores.get(i, 0.0) + pref
        if pref < 1:
            scores[j] = scores.get(j, 0.0) + (1.0 - pref)
    ranked = sorted(scores, key=lambda d: scores[d], reverse=True)
    return ranked + [d for d in range(n) if d not in scores]


def preference_matrix(n: int, pairs: list[tuple[int, int]], prefs: list[float]):
    """P[i][j] = preference of i over j (P[j][i] = 1 - P[i][j]), zero diagonal."""
    import numpy as np

    matrix = np.zeros((n, n))
    for (i, j), pref in zip(pairs, prefs):
        matrix[i, j], matrix[j, i] = pref, 1.0 - pref
    return matrix


def tsp_order(n: int, pairs: list[tuple[int, int]], prefs: list[float], exact_max: int) -> tuple[list[int], bool]:
    """(the best Hamiltonian path through the preference matrix (TSPRank decoding), whether it is exact)."""
    from lrbench.runners.llm.tsp import best_path

    return best_path(preference_matrix(n, pairs, prefs), exact_max, seeds=[wins_order(n, pairs, prefs)])
