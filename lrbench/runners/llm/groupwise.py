"""`llm-groupwise`: GroupRank-style groupwise reranking with a causal LM.

The query and a group of G numbered candidates go into one prompt; the model gives each candidate of the group
a relevance grade 0..max_grade. Groups tile the input list in its order (`group_size`, `overlap` candidates shared
by neighbouring groups); a candidate's final score is the mean of its grades over the groups it appears in, with
ties kept in input order (a 1e-6 * input-rank tie-break).

mode: expectation (default) — for candidate j the answer is forced to start with "[j]: " and its grade is the
  expected value over the grade tokens' probabilities (the same computation as llm-pointwise generate-integer:
  one sequence per candidate, sharing the group prompt).
mode: generate — the model writes "[1]: 7\\n[2]: 3 ..." for the whole group (as GroupRank's trained models do);
  lines are parsed robustly, candidates it leaves out get `unparsed_score` and are counted in the profile,
  with the generated tokens per query.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from lrbench.errors import LrbenchError
from lrbench.runners.base import Output, RunContext
from lrbench.runners.llm.score_modes import GenerateInteger, generate
from lrbench.runners.neural.base import NeuralParams, NeuralRunner, truncate_tokens
from lrbench.runners.neural.generation import (GENERATION_SCHEDULE_PARAMS, GenerationParams, attach_generations,
                                              check_backend)
from lrbench.runners.neural.llm import prompt_ids

PROMPT = ("Query: {query}\n\nPassages:\n{passages}\nRate how relevant each of the {n} passages is to the query, "
          "from 0 (not relevant) to {max_grade} (perfectly relevant). Answer with one line per passage, in the "
          "form [i]: grade.")


class GroupwiseParams(NeuralParams, GenerationParams):  # backend: see neural/generation
    group_size: int = Field(5, ge=1)
    overlap: int = Field(0, ge=0, description="candidates shared by neighbouring groups")
    mode: Literal["expectation", "generate"] = "expectation"
    max_grade: int = Field(10, ge=1, le=100)
    doc_max_tokens: int | None = Field(80, ge=1)
    answer_tokens: int | None = Field(None, ge=1, description="generate: default 8 per candidate")
    unparsed_score: float = -1.0
    system: str | None = None
    chat: bool = True
    batch_size: int = Field(8, ge=1)
    bucket: bool = True

    @model_validator(mode="after")
    def _overlap_fits(self):
        if self.overlap >= self.group_size:
            raise LrbenchError(f"overlap ({self.overlap}) must be smaller than group_size ({self.group_size})",
                               key="params.overlap", hint="e.g. group_size: 5, overlap: 1")
        check_backend(self, self.mode == "generate", f"mode: {self.mode}")
        return self


def group_spans(n: int, size: int, overlap: int) -> list[tuple[int, int]]:
    """[start, end) spans of `size` that tile range(n), neighbours sharing `overlap` items; the last span is
    shifted back to stay full when the list allows it."""
    if n == 0:
        return []
    stride = size - overlap
    spans, start = [], 0
    while True:
        end = min(n, start + size)
        spans.append((max(0, end - size), end))
        if end == n:
            return spans
        start += stride


def parse_group(text: str, n: int, max_grade: int) -> dict[int, float]:
    """'[i]: grade' lines (also 'i. grade', 'Passage i: grade') -> {0-based index: grade clamped to 0..max}."""
    found = {}
    for m in re.finditer(r"(?:\[|passage\s*)?(\d+)\]?\s*[:=.)-]\s*(\d+(?:\.\d+)?)", text, flags=re.IGNORECASE):
        i, grade = int(m.group(1)) - 1, float(m.group(2))
        if 0 <= i < n and i not in found:
            found[i] = max(0.0, min(float(max_grade), grade))
    return found


class GroupwiseRunner(NeuralRunner):
    """LLM groupwise reranker (GroupRank): one grade per candidate from a prompt holding a group of them."""

    type = "llm-groupwise"
    version = "1"
    model_kind = "causal-lm"
    needs_input = True
    Params = GroupwiseParams
    schedule_params = GENERATION_SCHEDULE_PARAMS

    def __init__(self, params):
        super().__init__(params)
        self.reset_counters()

    def run(self, dataset, inputs, ctx: RunContext) -> Output:
        self._grader = GenerateInteger(self.params)
        return attach_generations(self, self.rerank(dataset, inputs, ctx, self._score,
                                                    f"llm groupwise ({self.params.mode})"))

    def reset_counters(self) -> None:
        self.groups = self.generated = self.unparsed = self.queries = 0
        if hasattr(self, "_grader"):
            self._grader.reset()

    def group_prompt(self, loaded, query: str, docs: list[str], assistant_prefix: str = "") -> list[int]:
        p: GroupwiseParams = self.params
        passages = "".join(f"[{j + 1}] {' '.join(truncate_tokens(loaded.tokenizer, d, p.doc_max_tokens).split())}\n"
                           for j, d in enumerate(docs))
        text = PROMPT.format(query=query, passages=passages, n=len(docs), max_grade=p.max_grade)
        return prompt_ids(loaded, text, p.system, p.chat, assistant_prefix)

    def group_grades(self, loaded, query: str, groups: list[list[str]], watch) -> list[list[float]]:
        p: GroupwiseParams = self.params
        self.groups += len(groups)
        if p.mode == "expectation":
            seqs = [self.group_prompt(loaded, query, g, f"[{j + 1}]: ") for g in groups for j in range(len(g))]
            flat = self._grader.expected_grades(loaded, seqs, watch).tolist()
            out, pos = [], 0
            for g in groups:
                out.append(flat[pos:pos + len(g)])
                pos += len(g)
            return out
        budget = p.answer_tokens or 8 * max(len(g) for g in groups)
        texts = generate(loaded, [self.group_prompt(loaded, query, g) for g in groups], budget, p.batch_size, watch)
        out = []
        for g, ids in zip(groups, texts):
            self.generated += len(ids)
            found = parse_group(loaded.tokenizer.decode(ids, skip_special_tokens=True), len(g), p.max_grade)
            self.unparsed += len(g) - len(found)
            out.append([found.get(j, p.unparsed_score) for j in range(len(g))])
        return out

    def _score(self, loaded, query: str, docs: list[str], watch):
        p: GroupwiseParams = self.params
        self.queries += 1
        spans = group_spans(len(docs), p.group_size, p.overlap)
        grades = self.group_grades(loaded, query, [docs[s:e] for s, e in spans], watch)
        return merge_group_scores(len(docs), spans, grades)

    def extra_profile(self) -> dict:
        p: GroupwiseParams = self.params
        return {"mode": p.mode, "group_size": p.group_size, "overlap": p.overlap, "groups": self.groups,
                "generated_tokens": self.generated, "generated_tokens_per_query": self.generated / max(1, self.queries),
                "unparsed_grades": self.unparsed, "two_step_passes": getattr(self._grader, "two_step", 0)}


def merge_group_scores(n: int, spans, grades) -> list[float]:
    """Mean grade of each candidate over its groups, minus 1e-6 * input rank (ties keep the input order)."""
    total, count = [0.0] * n, [0] * n
    for (start, end), group in zip(spans, grades):
        for offset, grade in enumerate(group):
            total[start + offset] += grade
            count[start + offset] += 1
    return [total[i] / max(1, count[i]) - 1e-6 * i for i in range(n)]
