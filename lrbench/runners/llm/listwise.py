"""`llm-listwise`: RankGPT-style sliding-window listwise reranking with a causal LM.

Prompts, windows and answer parsing are the pure functions of `listwise_prompts` (`prompt:` names the text:
lrbench's own, or RankLLM's rank_gpt / rank_zephyr / rank_zephyr_alpha); `recipe:` fills a published setup.

mode: generate — the model reads a window of numbered passages and generates a permutation
  ("[3] > [1] > ..."); malformed or partial outputs are repaired (unknown and repeated ids dropped,
  missing ids appended in their previous order) and counted in the profile. Every window's raw answer, parsed
  permutation and repair is kept as the cell's `generations` frame, whichever backend generated it.
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
from typing import Literal

from pydantic import Field, model_validator

from lrbench.errors import LrbenchError
from lrbench.runners.base import Output, RunContext
from lrbench.runners.neural.base import NeuralParams, NeuralRunner, truncate_tokens
from lrbench.runners.neural.batching import pad_batch
from lrbench.runners.neural.generation import (GENERATION_SCHEDULE_PARAMS, GenerationParams, attach_generations,
                                              check_backend, generated_texts)
from lrbench.runners.llm.prompts.listwise import (LETTERS, first_order, get_prompt, repair_permutation,
                                                 window_messages, window_schedule)
from lrbench.runners.neural.llm import logits_after_first_token, next_token_logits
from lrbench.runners.llm.recipes import RecipeParams, fill_recipe


#: the `generations` frame of a generating listwise cell
WINDOW_COLUMNS = ["query_id", "pass", "window", "generation", "permutation", "status", "repaired", "repair"]


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
        self.window_log, self.items_seen, self.warmup_requests = [], 0, 0
        output = attach_generations(self, self.rerank(dataset, inputs, ctx, group_size=self.params.batch_size,
                                                      description=f"llm listwise ({self.params.mode})"))
        if self.window_log:
            output.frames["generations"] = self.generations_frame(output.frames.get("generations"))
        return output

    def candidate_lists(self, dataset, inputs, ctx):
        lists, texts, depth = super().candidate_lists(dataset, inputs, ctx)
        self.query_order = [qid for qid, _, _ in lists]  # the order the base loop hands the lists to score_group
        return lists, texts, depth

    def reset_counters(self) -> None:
        """After the warm-up: its windows are not the cell's (a served backend's first records are theirs)."""
        super().reset_counters()
        self.warmup_requests, self.window_log, self.items_seen = len(self.window_log), [], 0

    def score_group(self, loaded, items, texts, watch, scorer=None) -> list[list[float]]:
        """The window loop works on a group of queries at once: each list's new order, as scores n - rank."""
        first, self.items_seen = self.items_seen, self.items_seen + len(items)
        logged = len(self.window_log)
        orders = self.rank_group(loaded, items, texts, watch)
        for record in self.window_log[logged:]:
            record["item"] += first
        for (_, docs), order in zip(items, orders):
            watch.count("queries_reranked")
            watch.count("queries_input_order", int(list(order) == list(docs)))
        return [[float(len(order) - order.index(d)) for d in docs] for (_, docs), order in zip(items, orders)]

    def generations_frame(self, served):
        """One row per generated window: its query, span, raw answer, parsed permutation and repair; a served
        backend's request columns (key, prompt, cached, seconds) joined in the order the windows were asked."""
        import pandas as pd

        records = [{**{k: v for k, v in r.items() if k != "item"}, "query_id": self.query_order[r["item"]]}
                   for r in self.window_log]
        frame = pd.DataFrame(records, columns=WINDOW_COLUMNS)
        if served is not None:
            served = served.iloc[self.warmup_requests:].reset_index(drop=True)
            if len(served) == len(frame):
                frame = pd.concat([frame, served.drop(columns=["generation"])], axis=1)
        return frame

    def extra_profile(self) -> dict:
        from lrbench.runners.llm.recipes import recipe_profile

        p: ListwiseParams = self.params
        return {"mode": p.mode, "window": p.window, "stride": p.stride, "passes": p.passes, "prompt": p.prompt,
                **recipe_profile(p)}

    # -- one group of queries --------------------------------------------------------------
    def rank_group(self, loaded, items, texts, watch) -> list[list[str]]:
        """The public hook: [(query, [doc ids])] -> each list reordered by the sliding windows."""
        p: ListwiseParams = self.params
        for name in ("windows", "windows_ok", "windows_repaired", "windows_partial", "windows_with_repairs",
                     "generated_tokens"):
            watch.count(name, 0)  # reported even when none happened
        rankings = [list(docs) for _, docs in items]
        schedules = [window_schedule(len(docs), p.window, p.stride) * p.passes for _, docs in items]
        per_pass = [len(s) // p.passes for s in schedules]
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
                for i, (start, end), answer in zip(active, spans, self.answers):
                    self.window_log.append({"item": i, "pass": step // max(1, per_pass[i]) + 1,
                                            "window": f"{start + 1}-{end}", **answer})
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
            watch.count("windows")
            watch.count("windows_ok")
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
            generated = sum(len(loaded.tokenizer(t, add_special_tokens=False)["input_ids"]) for t in served)
            watch.count("generated_tokens", generated)
            return self._orders(served, sizes, watch)
        t = pad_batch(prompts, loaded.pad_id, "left")
        t = {k: v.to(loaded.device) for k, v in t.items()}
        with torch.inference_mode():
            out = loaded.model.generate(**t, max_new_tokens=max_new, do_sample=False, num_beams=1,
                                        pad_token_id=loaded.pad_id, temperature=None, top_p=None, top_k=None,
                                        **length)
        new = out[:, t["input_ids"].shape[1]:]
        generated = int((new != loaded.pad_id).sum())  # a finished row is padded to the longest one
        watch.count("generated_tokens", generated)
        watch.add(tokens_out=generated)
        watch.tokens += int(t["attention_mask"].sum()) + generated
        return self._orders([loaded.tokenizer.decode(row, skip_special_tokens=True) for row in new], sizes, watch)

    def _orders(self, texts: list[str], sizes: list[int], watch) -> list[list[int]]:
        """Parsed (and repaired) permutations; `self.answers` keeps each window's audit record."""
        orders, self.answers = [], []
        for text, n in zip(texts, sizes):
            order, status, repair = repair_permutation(text, n, self.params.letters)
            watch.count("windows")
            watch.count(f"windows_{status}")
            watch.count("windows_with_repairs", int(status != "ok"))
            orders.append(order)
            self.answers.append({"generation": text, "permutation": " > ".join(str(j + 1) for j in order),
                                 "status": status, "repaired": status != "ok", "repair": repair})
        return orders
