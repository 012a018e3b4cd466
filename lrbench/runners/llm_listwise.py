"""`llm-listwise`: RankGPT-style sliding-window listwise reranking with a causal LM.

mode: generate — the model reads a window of numbered passages and generates a permutation
  ("[3] > [1] > ..."); malformed or partial outputs are repaired (unknown and repeated ids dropped,
  missing ids appended in their previous order) and counted in the profile.
mode: first — FIRST (Reddy et al., 2024): a single forward pass per window; the window is ranked by
  the logits of the first generated identifier token. Identifiers are letters [A]..[Z] so that each is
  one token (window <= 26).
The window slides from the bottom of the list to the top (`window`, `stride`), `passes` times.
`batch_size` windows (one per query, at the same step) run together; a query's latency is the wall
time of its group.
"""

from __future__ import annotations

import re
import string
import time
from typing import Literal

from pydantic import Field, model_validator

from lrbench.errors import LrbenchError
from lrbench.runners.base import Output, RunContext
from lrbench.runners.neural.base import NeuralParams, NeuralRunner, truncate_tokens
from lrbench.runners.neural.batching import pad_batch
from lrbench.runners.neural.llm import next_token_logits, prompt_ids

PROMPT_HEAD = ("I will provide you with {n} passages, each indicated by an identifier in brackets. "
               "Rank the passages based on their relevance to the search query: {query}\n\n")
PROMPT_TAIL = ("\nSearch query: {query}\n\nRank the {n} passages above based on their relevance to the search "
               "query, most relevant first. List all identifiers in descending order of relevance using the "
               "format {example}. Answer with the ranking only, no explanation.")


class ListwiseParams(NeuralParams):
    mode: Literal["generate", "first"] = "generate"
    window: int = 20
    stride: int = 10
    passes: int = Field(1, ge=1)
    doc_max_tokens: int | None = Field(80, ge=1)
    max_new_tokens: int | None = Field(None, ge=1, description="default: enough for a full permutation")
    system: str | None = None
    chat: bool = True
    batch_size: int = Field(1, ge=1, description="queries whose windows run together")

    @model_validator(mode="after")
    def _window_fits(self):
        if self.window < 2:
            raise LrbenchError(f"window must be at least 2 (got {self.window})", key="params.window",
                               hint="a listwise window compares 2 or more passages; 20 is usual")
        if not 1 <= self.stride <= self.window:
            raise LrbenchError(f"stride must be between 1 and the window ({self.window}), got {self.stride}",
                               key="params.stride", hint="windows must overlap or touch: stride <= window")
        if self.mode == "first" and self.window > 26:
            raise LrbenchError(f"mode: first uses letter identifiers: window must be <= 26 (got {self.window})",
                               key="params.window", hint="use window: 20")
        return self


def window_schedule(n: int, window: int, stride: int) -> list[tuple[int, int]]:
    """RankGPT's back-to-front windows over ranks [0, n), ending with one that starts at rank 0."""
    if n <= window:
        return [(0, n)] if n > 1 else []
    spans, end = [], n
    while True:
        start = max(0, end - window)
        spans.append((start, end))
        if start == 0:
            return spans
        end -= stride


def parse_permutation(text: str, n: int, letters: bool = False) -> tuple[list[int], str]:
    """Identifiers in `text` -> a full permutation of range(n) and a status: ok | repaired | partial."""
    if letters:
        found = [string.ascii_uppercase.index(c) for c in re.findall(r"\[?\b([A-Z])\b\]?", text)]
    else:
        found = [int(x) - 1 for x in re.findall(r"\d+", text)]
    seen, order, bad = set(), [], False
    for i in found:
        if 0 <= i < n and i not in seen:
            seen.add(i)
            order.append(i)
        else:
            bad = True
    missing = [i for i in range(n) if i not in seen]
    status = "repaired" if bad or not order else ("partial" if missing else "ok")
    return order + missing, status


class ListwiseRunner(NeuralRunner):
    """LLM listwise reranker: sliding windows, generated permutations (with repair) or FIRST logits."""

    type = "llm-listwise"
    version = "1"
    model_kind = "causal-lm"
    needs_input = True
    Params = ListwiseParams

    def run(self, dataset, inputs, ctx: RunContext) -> Output:
        self.counts = {"windows": 0, "ok": 0, "repaired": 0, "partial": 0}
        self.latency_groups = 0
        self.generated = 0
        return self.rerank_grouped(dataset, inputs, ctx)

    # the window loop works on groups of queries, so `rerank` from the base is replaced by this
    def rerank_grouped(self, dataset, inputs, ctx: RunContext) -> Output:
        import pandas as pd

        from lrbench.runners.neural.device import select_device
        from lrbench.runners.neural.profile import PeakMemory, Stopwatch
        from lrbench.suites.datasets.base import RUN_COLUMNS

        lists, texts, depth = self.candidate_lists(dataset, inputs, ctx)
        started = time.perf_counter()
        with PeakMemory(select_device(self.params.device)) as mem:
            loaded = self.load(ctx, [texts.get(d, "") for d in lists[0][2][:32]])
            t0 = time.perf_counter()
            qid, query, docs = lists[0]
            self._rank_group(loaded, [(query, docs[:2])], texts, Stopwatch())  # warm-up, not timed
            self.counts = {"windows": 0, "ok": 0, "repaired": 0, "partial": 0}
            self.generated = 0
            warmup = time.perf_counter() - t0
            watch = Stopwatch()
            rows = []
            bs = self.params.batch_size
            groups = [lists[i:i + bs] for i in range(0, len(lists), bs)]
            busy = 0.0
            for group in ctx.progress(groups, total=len(groups), description=f"llm listwise ({self.params.mode})"):
                g0 = time.perf_counter()
                ranked = self._rank_group(loaded, [(q, d) for _, q, d in group], texts, watch)
                elapsed = time.perf_counter() - g0
                busy += elapsed
                for (qid, _, docs), order in zip(group, ranked):
                    watch.latencies.append(elapsed)
                    watch.docs += len(docs)
                    n = len(order)
                    rows.extend((qid, d, float(n - r)) for r, d in enumerate(order))
        profile = {**loaded.info(), "mode": self.params.mode, "window": self.params.window,
                   "stride": self.params.stride, "passes": self.params.passes, "warmup_seconds": warmup,
                   "depth": depth, "batch_size": bs, "missing_texts": self._missing_texts,
                   "runner_seconds": time.perf_counter() - started,
                   "windows": self.counts["windows"], "windows_ok": self.counts["ok"],
                   "windows_repaired": self.counts["repaired"], "windows_partial": self.counts["partial"],
                   "generated_tokens": self.generated,
                   "generated_tokens_per_query": self.generated / max(1, len(lists)),
                   **watch.as_dict(), **mem.as_dict()}
        profile.update(scoring_seconds=busy, docs_per_second=watch.docs / busy if busy else None,
                       tokens_per_second=watch.tokens / busy if busy else None)
        if loaded.compression is not None:
            profile["compression"] = loaded.compression
        return Output(run=pd.DataFrame(rows, columns=RUN_COLUMNS), profile=profile)

    # -- one group of queries --------------------------------------------------------------
    def _rank_group(self, loaded, items, texts, watch) -> list[list[str]]:
        p: ListwiseParams = self.params
        rankings = [list(docs) for _, docs in items]
        schedules = [window_schedule(len(docs), p.window, p.stride) * p.passes for _, docs in items]
        for step in range(max((len(s) for s in schedules), default=0)):
            active = [i for i, s in enumerate(schedules) if step < len(s)]
            prompts, spans = [], []
            for i in active:
                start, end = schedules[i][step]
                window_docs = rankings[i][start:end]
                prompts.append(self._prompt(loaded, items[i][0], [texts.get(d, "") for d in window_docs]))
                spans.append((start, end))
            if p.mode == "first":
                orders = self._first(loaded, prompts, [e - s for s, e in spans], watch)
            else:
                orders = self._generate(loaded, prompts, [e - s for s, e in spans], watch)
            for i, (start, end), order in zip(active, spans, orders):
                window_docs = rankings[i][start:end]
                rankings[i][start:end] = [window_docs[j] for j in order]
        return rankings

    def _prompt(self, loaded, query: str, docs: list[str]) -> list[int]:
        p: ListwiseParams = self.params
        letters = p.mode == "first"
        ident = (lambda j: string.ascii_uppercase[j]) if letters else (lambda j: str(j + 1))
        body = PROMPT_HEAD.format(n=len(docs), query=query)
        for j, d in enumerate(docs):
            text = " ".join(truncate_tokens(loaded.tokenizer, d, p.doc_max_tokens).split())
            body += f"[{ident(j)}] {text}\n"
        example = "[C] > [A] > [B]" if letters else "[3] > [1] > [2]"
        body += PROMPT_TAIL.format(n=len(docs), query=query, example=example)
        return prompt_ids(loaded, body, p.system, p.chat, assistant_prefix="[" if letters else "")

    def _first(self, loaded, prompts, sizes, watch) -> list[list[int]]:
        tok = loaded.tokenizer
        if not hasattr(self, "_letter_ids"):
            ids = []
            for c in string.ascii_uppercase:
                enc = tok(c, add_special_tokens=False)["input_ids"]
                if len(enc) != 1:
                    raise LrbenchError(f"identifier '{c}' is not one token for this tokenizer", key="params.mode",
                                       hint="use mode: generate with this model")
                ids.append(enc[0])
            self._letter_ids = ids
        logits = next_token_logits(loaded, prompts, len(prompts), True, watch)
        orders = []
        for row, n in zip(logits, sizes):
            scores = row[self._letter_ids[:n]]
            orders.append(scores.argsort(descending=True).tolist())
            self.counts["windows"] += 1
            self.counts["ok"] += 1
        return orders

    def _generate(self, loaded, prompts, sizes, watch) -> list[list[int]]:
        import torch

        p: ListwiseParams = self.params
        max_new = p.max_new_tokens or max(sizes) * 5 + 8
        t = pad_batch(prompts, loaded.pad_id, "left")
        t = {k: v.to(loaded.device) for k, v in t.items()}
        with torch.inference_mode():
            out = loaded.model.generate(**t, max_new_tokens=max_new, do_sample=False, num_beams=1,
                                        pad_token_id=loaded.pad_id, temperature=None, top_p=None, top_k=None)
        new = out[:, t["input_ids"].shape[1]:]
        generated = int((new != loaded.pad_id).sum())  # a finished row is padded to the longest one
        self.generated += generated
        watch.tokens += int(t["attention_mask"].sum()) + generated
        orders = []
        for row, n in zip(new, sizes):
            text = loaded.tokenizer.decode(row, skip_special_tokens=True)
            order, status = parse_permutation(text, n)
            self.counts["windows"] += 1
            self.counts[status] += 1
            orders.append(order)
        return orders
