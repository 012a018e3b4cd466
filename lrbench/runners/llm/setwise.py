"""`llm-setwise`: Setwise reranking with a causal LM (Zhuang et al., SIGIR 2024), and Rank-R1 on top of it.

A sort (`method: heapsort | bubblesort`, `num_child`, `k`; see setwise_sort) asks, one set at a time, which of
a few passages is the most relevant; the top `k` come out sorted, the other candidates keep their input order
below them. How a set is compared is `compare`:

compare: generate — the setwise prompt (setwise_prompts) as the user turn, the answer opened with " Passage:",
  one token generated greedily and read as a letter (llm-rankers' causal-LM path).
compare: likelihood — the same prompt; the set's label with the largest next-token logit wins (one forward
  pass; llm-rankers has this only for T5, where it reads the label after "<pad> Passage").
compare: reason — Rank-R1: its system prompt, documents "[i] text" shown in a shuffled order (as its compare
  does: `shuffle`, `seed`), up to `reason_tokens` generated greedily, the label read from
  `<answer>[k]</answer>` by `pattern`.

An answer that cannot be read (or names no passage of the set) falls back as the reference does: the set's first
passage wins (the heap parent stays). Counted in the profile with the compares and generated tokens.
Each query's shuffles draw from a fresh `random.Random(seed)`: llm-rankers draws from Python's global stream
(seeded 929 at import) across the whole run, so only a run's first query sees the same permutations there.
"""

from __future__ import annotations

import random
import re
from typing import Literal

from pydantic import Field, model_validator

from lrbench.errors import LrbenchError
from lrbench.runners.base import Output, RunContext
from lrbench.runners.neural.base import NeuralParams, check_template
from lrbench.runners.neural.generation import GenerationParams, attach_generations, check_backend
from lrbench.runners.llm.label_compare import LabelCompareRunner
from lrbench.runners.llm.recipes import RecipeParams, fill_recipe
from lrbench.runners.llm.prompts.setwise import (LETTERS, R1_LABELS, RANK_R1_PATTERN, RANK_R1_SYSTEM, RANK_R1_TEMPLATE,
                                             SETWISE_ANSWER_PREFIX, SETWISE_TEMPLATE, parse_letter, parse_rank_r1,
                                             rank_r1_docs, setwise_docs)
from lrbench.runners.llm.sorts import SORTS, rank_scores, run_sort


class SetwiseParams(NeuralParams, RecipeParams, GenerationParams):  # backend: see neural/generation
    compare: Literal["generate", "likelihood", "reason"] = "generate"
    method: Literal["heapsort", "bubblesort"] = "heapsort"
    num_child: int = Field(3, ge=1, description="heapsort: children per heap node; bubblesort: window - 1")
    k: int = Field(10, ge=1, description="how many top passages are sorted")
    template: str | None = Field(None, description="user prompt with {query} and {docs}; default: the mode's own")
    system: str | None = Field(None, description="system message; default: none, Rank-R1's for compare reason")
    pattern: str | None = Field(None, description="reason: regex whose group 1 is the label (default Rank-R1's)")
    answer_prefix: str | None = Field(None, description="start of the assistant turn; default ' Passage:' "
                                                        "(generate, likelihood), none (reason)")
    doc_max_tokens: int | None = Field(128, ge=1)
    query_max_tokens: int | None = Field(None, ge=1)
    reason_tokens: int = Field(2048, ge=1, description="reason: most tokens generated per compare")
    shuffle: bool | None = Field(None, description="show each set in a random order (default: on for reason)")
    seed: int = 929
    special_tokens: bool | None = Field(None, description="add the tokenizer's BOS to the templated prompt "
                                                          "(default: only without a chat template)")
    chat: bool = True

    @model_validator(mode="before")
    @classmethod
    def _recipe(cls, data):
        return fill_recipe("llm-setwise", data)

    @model_validator(mode="after")
    def _fits(self):
        set_size = self.num_child + 1
        labels = len(R1_LABELS) if self.compare == "reason" else len(LETTERS)
        if set_size > labels:
            raise LrbenchError(f"num_child {self.num_child} makes sets of {set_size} passages; compare: "
                               f"{self.compare} labels at most {labels}", key="params.num_child",
                               hint=f"use num_child <= {labels - 1}")
        check_template(self.prompt_template, ("query", "docs"))
        try:
            groups = re.compile(self.answer_pattern).groups
        except re.error as exc:
            raise LrbenchError(f"pattern is not a regular expression: {exc}", key="params.pattern") from None
        if groups < 1:
            raise LrbenchError("pattern needs a group around the label", key="params.pattern",
                               hint=r"e.g. <answer>(.*?)</answer>")
        check_backend(self, self.compare != "likelihood", f"compare: {self.compare}")
        return self

    @property
    def reasoning(self) -> bool:
        return self.compare == "reason"

    @property
    def prompt_template(self) -> str:
        return self.template or (RANK_R1_TEMPLATE if self.reasoning else SETWISE_TEMPLATE)

    @property
    def system_message(self) -> str | None:
        return self.system if self.system is not None else (RANK_R1_SYSTEM if self.reasoning else None)

    @property
    def answer_pattern(self) -> str:
        return self.pattern or RANK_R1_PATTERN

    @property
    def prefix(self) -> str:
        return self.answer_prefix if self.answer_prefix is not None else ("" if self.reasoning
                                                                            else SETWISE_ANSWER_PREFIX)

    @property
    def shuffled(self) -> bool:
        return self.reasoning if self.shuffle is None else self.shuffle


class SetwiseRunner(LabelCompareRunner):
    """LLM setwise reranker: heap or bubble sort over sets of passages, the best of each set from the LM."""

    type = "llm-setwise"
    version = "1"
    Params = SetwiseParams

    def run(self, dataset, inputs, ctx: RunContext) -> Output:
        p: SetwiseParams = self.params
        return attach_generations(self, self.rerank(dataset, inputs, ctx, self.score_list,
                                                    f"llm setwise ({p.method}, {p.compare})"))

    counted = (*LabelCompareRunner.counted, "single_passage_sets")

    # -- one query ---------------------------------------------------------------------------
    def score_list(self, loaded, query: str, docs: list[str], watch) -> list[float]:
        """Scores n - rank for the order the sort returns (the scorer `rerank` calls per query)."""
        p: SetwiseParams = self.params
        self.start_counts(watch)
        query, docs = self.truncated(loaded, query, docs)
        rng = random.Random(p.seed) if p.shuffled else None
        order = run_sort(SORTS[p.method](range(len(docs)), p.num_child, p.k),
                         lambda positions: self.best_of(loaded, query, [docs[i] for i in positions], rng, watch))
        return rank_scores(order)

    def best_of(self, loaded, query: str, docs: list[str], rng: random.Random | None, watch) -> int | None:
        """The index (into `docs`) of the passage the model picks; None when its answer cannot be read."""
        n = len(docs)
        if n < 2:  # nothing to choose: the reference would still ask the model
            watch.count("single_passage_sets")
            return 0
        shown = rng.sample(range(n), n) if rng is not None else list(range(n))
        ids = self.prompt_ids(loaded, query, [docs[j] for j in shown])
        watch.count("compares")
        best = self._likelihood(loaded, ids, n, watch) if self.params.compare == "likelihood" else \
            self._generated(loaded, ids, n, watch)
        if best is None:
            watch.count("unparsed_answers")
            return None
        return shown[best]

    def user_message(self, query: str, docs: list[str]) -> str:
        p: SetwiseParams = self.params
        shown = rank_r1_docs(docs) if p.reasoning else setwise_docs(docs)
        return p.prompt_template.format(query=query, docs=shown)

    # -- answers -----------------------------------------------------------------------------
    def _generated(self, loaded, ids: list[int], n: int, watch) -> int | None:
        p: SetwiseParams = self.params
        text = self.generated_texts(loaded, [ids], p.reason_tokens if p.reasoning else 1, 1, watch)[0]
        return parse_rank_r1(text, n, p.answer_pattern) if p.reasoning else parse_letter(text, n)

    def _likelihood(self, loaded, ids: list[int], n: int, watch) -> int:
        scores = self.label_logits(loaded, [ids], n, 1, watch)[0]
        return max(range(n), key=lambda j: (scores[j], -j))  # ties: the earlier label, as a stable sort

    def extra_profile(self) -> dict:
        from lrbench.runners.llm.recipes import recipe_profile

        p: SetwiseParams = self.params
        return {"method": p.method, "num_child": p.num_child, "k": p.k, **self.label_profile(), **recipe_profile(p)}
