"""`llm-listwise`: RankGPT-style sliding-window listwise reranking with a causal LM.

Prompts, windows and answer parsing are the pure functions of `listwise_prompts` (`prompt:` names the text:
lrbench's own, or RankLLM's rank_gpt / rank_zephyr / rank_zephyr_alpha); `recipe:` fills a published setup.

mode: generate — the model reads a window of numbered passages and generates a permutation
  ("[3] > [1] > ..."); malformed or partial outputs are repaired (unknown and repeated ids dropped,
  missing ids appended in their previous order) and counted in the profile.
mode: first — FIRST (Reddy et al., 2024): no answer is generated; the window is ranked by the logits of the
  first identifier token. `first_token: forced` reads them after a forced "[" (one forward pass);
  `generated` after the first greedily generated token, as RankLLM does under vLLM (two passes).
  `first_top_logprobs: 30` ranks only the identifiers among the 30 most likely tokens (RankLLM's vLLM
  setting) and keeps the rest in their previous order. Identifiers are letters [A]..[Z] (window <= 26).
The window slides from the bottom of the list to the top (`window`, `stride`), `passes` times.
`batch_size` windows (one per query, at the same step) run together; a query's latency is the wall
time of its group.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Literal

from pydantic import Field, model_validator

from lrbench.errors import LrbenchError
from lrbench.runners.base import Output, RunContext
from lrbench.runners.neural.base import NeuralParams, NeuralRunner, truncate_tokens
from lrbench.runners.neural.batching import pad_batch
from lrbench.runners.neural.generation import (GENERATION_SCHEDULE_PARAMS, GenerationParams, attach_generations,
                                              check_backend, generated_texts)
from lrbench.runners.llm.prompts.listwise import (LETTERS, first_order, get_prompt, parse_permutation, window_messages,
                                              window_schedule)
from lrbench.runners.neural.llm import logits_after_first_token, next_token_logits
from lrbench.runners.llm.recipes import RecipeParams, fill_recipe


class ListwiseParams(NeuralParams, RecipeParams, GenerationParams):  # backend: see neural/generation
    mode: Literal["generate", "first"] = "generate"
    prompt: str = Field("lrbench", description="lrbench | rank_gpt | rank_zephyr | rank_zephyr_alpha")
    identifiers: Literal["auto", "numbers", "letters"] = Field("auto", description="auto: letters for mode first")
    window: int = 20
    stride: int = 10
    passes: int = Field(1, ge=1)
    doc_max_tokens: int | None = Field(80, ge=1, description="lrbench prompt: tokens kept per passage")
    new_tokens: Literal["budget", "permutation"] = Field(
        "budget", description="budget: up to max_new_tokens; permutation: exactly the tokens of a full "
                              "'[1] > ... > [n]' answer, as RankLLM asks vLLM for")
    max_new_tokens: int | None = Field(None, ge=1, description="default: enough for a full permutation")
    context_size: int | None = Field(None, ge=64, description="RankLLM prompts: passages are cut until the prompt "
                                                               "and answer fit (RankZephyr: 4096)")
    first_token: Literal["forced", "generated"] = "forced"
    first_top_logprobs: int | None = Field(None, ge=1)
    system: str | None = Field(None, description="a system message (replaces the prompt's own)")
    chat: bool = True
    batch_size: int = Field(1, ge=1, description="queries whose windows run together")

    @model_validator(mode="before")
    @classmethod
    def _recipe(cls, data):
        return fill_recipe("llm-listwise", data)

    @model_validator(mode="after")
    def _window_fits(self):
        if self.window < 2:
            raise LrbenchError(f"window must be at least 2 (got {self.window})", key="params.window",
                               hint="a listwise window compares 2 or more passages; 20 is usual")
        if not 1 <= self.stride <= self.window:
            raise LrbenchError(f"stride must be between 1 and the window ({self.window}), got {self.stride}",
                               key="params.stride", hint="windows must overlap or touch: stride <= window")
        if self.letters and self.window > 26:
            raise LrbenchError(f"letter identifiers go up to Z: window must be <= 26 (got {self.window})",
                               key="params.window", hint="use window: 20")
        get_prompt(self.prompt)
        check_backend(self, self.mode == "generate", f"mode: {self.mode}")
        return self

    @property
    def letters(self) -> bool:
        return self.identifiers == "letters" or (self.identifiers == "auto" and self.mode == "first")


def greedy_first(logits, eos: int | None) -> list[int]:
    """FIRST's first generated token: greedy, end of sequence excluded (RankLLM asks vLLM for min_tokens=2)."""
    if eos is not None:
        logits[:, eos] = float("-inf")
    return [int(row.argmax()) for row in logits]


class ListwiseRunner(NeuralRunner):
    """LLM listwise reranker: sliding windows, generated permutations (with repair) or FIRST logits."""

    type = "llm-listwise"
    version = "2"
    model_kind = "causal-lm"
    needs_input = True
    Params = ListwiseParams
    schedule_params = GENERATION_SCHEDULE_PARAMS

    def run(self, dataset, inputs, ctx: RunContext) -> Output:
        self.counts = {"windows": 0, "ok": 0, "repaired": 0, "partial": 0}
        self.latency_groups = 0
        self.generated = 0
        return attach_generations(self, self.rerank_grouped(dataset, inputs, ctx))

    # the window loop works on groups of queries, so `rerank` from the base is replaced by this
    def rerank_grouped(self, dataset, inputs, ctx: RunContext) -> Output:
        import pandas as pd

        from lrbench.runners.neural.device import select_device
        from lrbench.runners.neural.profile import PeakMemory, Stopwatch
        from lrbench.datasets.base import RUN_COLUMNS

        lists, texts, depth = self.candidate_lists(dataset, inputs, ctx)
        started = time.perf_counter()
        with PeakMemory(select_device(self.params.device)) as mem:
            loaded = self.load(ctx, [texts.get(d, "") for d in lists[0][2][:32]])
            t0 = time.perf_counter()
            qid, query, docs = lists[0]
            self.rank_group(loaded, [(query, docs[:2])], texts, Stopwatch())  # warm-up, not timed
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
                ranked = self.rank_group(loaded, [(q, d) for _, q, d in group], texts, watch)
                elapsed = time.perf_counter() - g0
                busy += elapsed
                for (qid, _, docs), order in zip(group, ranked):
                    watch.latencies.append(elapsed)
                    watch.docs += len(docs)
                    n = len(order)
                    rows.extend((qid, d, float(n - r)) for r, d in enumerate(order))
        profile = {**loaded.info(), "mode": self.params.mode, "window": self.params.window,
                   "stride": self.params.stride, "passes": self.params.passes, "warmup_seconds": warmup,
                   "depth": depth, **self.tail_profile(), "batch_size": bs, "missing_texts": self.missing_texts,
                   "runner_seconds": time.perf_counter() - started,
                   "windows": self.counts["windows"], "windows_ok": self.counts["ok"],
                   "windows_repaired": self.counts["repaired"], "windows_partial": self.counts["partial"],
                   "generated_tokens": self.generated, "prompt": self.params.prompt,
                   "generated_tokens_per_query": self.generated / max(1, len(lists)),
                   **watch.as_dict(), **mem.as_dict()}
        profile.update(scoring_seconds=busy, docs_per_second=watch.docs / busy if busy else None,
                       tokens_per_second=watch.tokens / busy if busy else None)
        if loaded.compression is not None:
            profile["compression"] = loaded.compression
        from lrbench.runners.llm.recipes import recipe_profile

        profile.update(recipe_profile(self.params))
        from lrbench.runners.tail import append_tail

        return Output(run=append_tail(pd.DataFrame(rows, columns=RUN_COLUMNS), self._tail), profile=profile)

    # -- one group of queries --------------------------------------------------------------
    def rank_group(self, loaded, items, texts, watch) -> list[list[str]]:
        """The public hook: [(query, [doc ids])] -> each list reordered by the sliding windows."""
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

    def messages(self, loaded, query: str, docs: list[str]) -> list[dict[str, str]]:
        """The chat messages for one window (passages cut by tokens for the lrbench prompt)."""
        p: ListwiseParams = self.params
        prompt = get_prompt(p.prompt)
        if prompt.words is None:
            docs = [" ".join(truncate_tokens(loaded.tokenizer, d, p.doc_max_tokens).split()) for d in docs]
        msgs = window_messages(prompt, query, docs, p.letters, p.window)
        if p.system is not None:
            msgs = [{"role": "system", "content": p.system}] + [m for m in msgs if m["role"] != "system"]
        return msgs

    def render(self, loaded, messages: list[dict[str, str]]) -> str:
        """The prompt string: the chat template with the assistant turn opened (RankLLM also runs ftfy over it)."""
        tok = loaded.tokenizer
        if self.params.chat and getattr(tok, "chat_template", None):
            text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        else:
            text = "\n\n".join(m["content"] for m in messages)
        if get_prompt(self.params.prompt).passages == "rank_llm":
            from ftfy import fix_text

            text = fix_text(text)
        return text

    def fitted_prompt(self, loaded, query: str, docs: list[str]) -> str:
        """RankLLM's create_prompt: with `context_size`, passages lose words until prompt + answer fit."""
        p: ListwiseParams = self.params
        prompt = get_prompt(p.prompt)
        text = self.render(loaded, self.messages(loaded, query, docs))
        if not p.context_size or prompt.words is None:
            return text
        n = len(docs)
        words = prompt.words(n, p.window)
        budget = p.context_size - self.answer_tokens(loaded, n)
        while True:
            tokens = len(loaded.tokenizer.encode(text))
            if tokens <= budget:
                return text
            words -= max(1, (tokens - budget) // (n * 4))
            fixed = dataclasses.replace(prompt, words=lambda _n, _w, k=words: k)
            msgs = window_messages(fixed, query, docs, p.letters, p.window)
            text = self.render(loaded, msgs)

    def answer_tokens(self, loaded, n: int) -> int:
        """Tokens of a full answer '[1] > [2] > ... > [n]' (RankLLM's num_output_tokens)."""
        ids = [LETTERS[j] if self.params.letters else str(j + 1) for j in range(n)]
        return len(loaded.tokenizer.encode(" > ".join(f"[{i}]" for i in ids))) - 1

    def _prompt(self, loaded, query: str, docs: list[str]) -> list[int]:
        text = self.fitted_prompt(loaded, query, docs)
        if self.params.mode == "first" and self.params.first_token == "forced":
            text += "["
        templated = self.params.chat and getattr(loaded.tokenizer, "chat_template", None)
        return loaded.tokenizer(text, add_special_tokens=not templated)["input_ids"]

    def _letter_ids(self, tok) -> list[int]:
        if not hasattr(self, "_letters"):
            ids = []
            for c in LETTERS:
                enc = tok(c, add_special_tokens=False)["input_ids"]
                if len(enc) != 1:
                    raise LrbenchError(f"identifier '{c}' is not one token for this tokenizer", key="params.mode",
                                       hint="use mode: generate with this model")
                ids.append(enc[0])
            self._letters = ids
        return self._letters

    def _first(self, loaded, prompts, sizes, watch) -> list[list[int]]:
        p: ListwiseParams = self.params
        letter_ids = self._letter_ids(loaded.tokenizer)
        if p.first_token == "generated":  # the identifier comes after the first generated token (often "[")
            logits, _ = logits_after_first_token(loaded, prompts, len(prompts),
                                                 lambda first: greedy_first(first, loaded.tokenizer.eos_token_id),
                                                 True, watch)
        else:
            logits = next_token_logits(loaded, prompts, len(prompts), True, watch)
        orders = []
        for row, n in zip(logits, sizes):
            scores = row[letter_ids[:n]].tolist()
            top = None
            if p.first_top_logprobs:
                best = set(row.topk(p.first_top_logprobs).indices.tolist())
                top = {j for j in range(n) if letter_ids[j] in best}
            orders.append(first_order(scores, n, top))
            self.counts["windows"] += 1
            self.counts["ok"] += 1
        return orders

    def _generate(self, loaded, prompts, sizes, watch) -> list[list[int]]:
        import torch

        p: ListwiseParams = self.params
        if p.new_tokens == "permutation":
            max_new = self.answer_tokens(loaded, max(sizes))
            length = {"min_new_tokens": max_new}
        else:
            max_new = p.max_new_tokens or max(sizes) * 5 + 8
            length = {}
        served = generated_texts(loaded, prompts, max_new)
        if served is not None:
            self.generated += sum(len(loaded.tokenizer(t, add_special_tokens=False)["input_ids"]) for t in served)
            return self._orders(served, sizes)
        t = pad_batch(prompts, loaded.pad_id, "left")
        t = {k: v.to(loaded.device) for k, v in t.items()}
        with torch.inference_mode():
            out = loaded.model.generate(**t, max_new_tokens=max_new, do_sample=False, num_beams=1,
                                        pad_token_id=loaded.pad_id, temperature=None, top_p=None, top_k=None,
                                        **length)
        new = out[:, t["input_ids"].shape[1]:]
        generated = int((new != loaded.pad_id).sum())  # a finished row is padded to the longest one
        self.generated += generated
        watch.tokens += int(t["attention_mask"].sum()) + generated
        return self._orders([loaded.tokenizer.decode(row, skip_special_tokens=True) for row in new], sizes)

    def _orders(self, texts: list[str], sizes: list[int]) -> list[list[int]]:
        orders = []
        for text, n in zip(texts, sizes):
            order, status = parse_permutation(text, n, self.params.letters)
            self.counts["windows"] += 1
            self.counts[status] += 1
            orders.append(order)
        return orders
