"""`lm-perplexity`: token-level perplexity of a causal LM with the sliding-window protocol.

The protocol of the transformers perplexity guide: windows of `context_length` tokens advancing by
`stride`; each window scores only the tokens not scored by the previous window, with the tokens
before them as context. Token counts are exact (every token but the first is scored once).
The protocol (model, tokenizer, context, stride, file, counts) is stored in the cell's profile and
in every row of the `nll` frame, and printed with the numbers by the benchmarks.
"""

from __future__ import annotations

import time

import pandas as pd
from pydantic import Field

from lrbench.errors import LrbenchError
from lrbench.runners.base import Output, RunContext
from lrbench.runners.cost import Cost
from lrbench.runners.neural.base import ModelParams
from lrbench.runners.tasks.common import TaskModelRunner

NLL_COLUMNS = ["window", "begin", "end", "tokens", "nll"]


class PerplexityParams(ModelParams):
    context_length: int = Field(1024, ge=2, description="tokens per window (the model's context at most)")
    stride: int = Field(512, ge=1, description="tokens the window advances; = context_length for disjoint windows")
    batch_size: int = Field(1, ge=1, description="windows per forward pass")
    add_special_tokens: bool = Field(False, description="let the tokenizer add BOS/EOS to the text")


def sliding_windows(n_tokens: int, context_length: int, stride: int) -> list[tuple[int, int, int]]:
    """(begin, end, first scored position) per window, as in the transformers perplexity guide."""
    windows, prev_end = [], 0
    for begin in range(0, n_tokens, stride):
        end = min(begin + context_length, n_tokens)
        windows.append((begin, end, max(prev_end, begin + 1)))
        prev_end = end
        if end == n_tokens:
            break
    return windows


def window_nll(model, ids, windows, device, batch_size: int = 1):
    """Summed NLL (nats) and scored-token count per window."""
    import torch

    out = []
    with torch.inference_mode():
        i = 0
        while i < len(windows):
            length = windows[i][1] - windows[i][0]
            group = [windows[i]]
            while (len(group) < batch_size and i + len(group) < len(windows)
                   and windows[i + len(group)][1] - windows[i + len(group)][0] == length):
                group.append(windows[i + len(group)])
            batch = torch.stack([ids[b:e] for b, e, _ in group]).to(device)
            logits = model(input_ids=batch).logits.float()
            logp = torch.log_softmax(logits[:, :-1], dim=-1)
            target = batch[:, 1:]
            token_nll = -logp.gather(-1, target.unsqueeze(-1)).squeeze(-1)
            for row, (b, e, first) in enumerate(group):
                scored = token_nll[row, first - b - 1:]
                out.append((float(scored.double().sum()), int(scored.numel())))
            i += len(group)
    return out


class PerplexityRunner(TaskModelRunner):
    """Sliding-window perplexity of a causal LM on a text (wikitext: datasets)."""

    type = "lm-perplexity"
    version = "1"
    task_kinds = ("lm",)
    model_kind = "causal-lm"
    Params = PerplexityParams

    def run(self, dataset, inputs, ctx: RunContext) -> Output:
        import torch

        p: PerplexityParams = self.params
        if dataset.task != "lm":
            raise LrbenchError(f"lm-perplexity scores running text; {dataset.spec.label} is a {dataset.task} dataset",
                               key="type", hint="use a wikitext: dataset")
        loaded, cost = self.load(ctx), Cost()
        max_positions = getattr(loaded.model.config, "max_position_embeddings", None)
        if max_positions and p.context_length > max_positions:
            raise LrbenchError(f"context_length {p.context_length} exceeds the model's {max_positions} positions",
                               key="params.context_length", hint=f"use at most {max_positions}")
        if p.stride > p.context_length:
            raise LrbenchError("stride larger than context_length leaves tokens unscored", key="params.stride",
                               hint="use stride <= context_length")
        text = dataset.text()
        t0 = time.perf_counter()
        ids = torch.tensor(loaded.tokenizer(text, add_special_tokens=p.add_special_tokens)["input_ids"])
        tokenize_seconds = time.perf_counter() - t0
        windows = sliding_windows(len(ids), p.context_length, p.stride)
        t0 = time.perf_counter()
        with loaded.charging(cost):
            groups = [windows[i:i + 8 * p.batch_size] for i in range(0, len(windows), 8 * p.batch_size)]
            sums = []
            for group in ctx.progress(groups, total=len(groups), description="perplexity windows"):
                sums.extend(window_nll(loaded.model, ids, group, loaded.device, p.batch_size))
        seconds = time.perf_counter() - t0
        rows = [(n, b, e, count, nll) for n, ((b, e, _), (nll, count)) in enumerate(zip(windows, sums))]
        frame = pd.DataFrame(rows, columns=NLL_COLUMNS)
        info = dataset.describe()
        protocol = {
            "protocol": "sliding-window (transformers perplexity guide), exact token counts",
            "tokenizer": loaded.resolved.model_id, "context_length": p.context_length, "stride": p.stride,
            "add_special_tokens": p.add_special_tokens, "text_tokens": int(len(ids)),
            "scored_tokens": int(frame["tokens"].sum()), "windows": len(windows), **info,
        }
        label = (f"{info['file']} ({info['format']}, {info['chars']:,} chars), ctx {p.context_length}, "
                 f"stride {p.stride}, {protocol['scored_tokens']:,} tokens scored")
        protocol["label"] = label
        frame["protocol"] = label
        profile = {**self.model_profile(loaded, cost, len(windows)), "protocol": protocol,
                   "tokenize_seconds": tokenize_seconds, "score_seconds": seconds,
                   "tokens_per_second": protocol["scored_tokens"] / max(seconds, 1e-9)}
        return Output(frames={"nll": frame}, profile=profile)
