"""`icr`: in-context reranking from attention (Chen et al., "Attention in Large Language Models Yields
Efficient Zero-Shot Re-Rankers", ICLR 2025).

One forward pass over the candidates packed into one prompt followed by the query, and one calibration
pass with a content-free query ("N/A"). A document's score is the attention mass that flows from the
query tokens to its tokens (mean over query tokens and heads, summed over layers), minus the same mass
under the content-free query. No generation. Attention rows are computed only for the query positions,
inside a registered attention function that otherwise runs SDPA, so memory stays linear in the prompt.
Documents are cut to `doc_max_tokens`; when the packed prompt would exceed `max_length` (default: the
model's context), the candidates are split into equal chunks scored independently (`window` forces a
chunk size).

`recipe: icr` is the authors' setup as rankify ships it (`InContextReranker`, IE prompt, query last,
`masked_NA_calibration`): layout rankify (the paragraphs as "[i] text" joined by " \n\n", the query rows
running from the closing instruction to the end of the prompt), attention summed over heads, and masked
calibration (a document's tokens whose calibrated score falls below mean - 2 sd are left out).
"""

from __future__ import annotations

import math
import threading

from typing import Literal

from pydantic import Field, model_validator

from lrbench.runners.base import Output, RunContext
from lrbench.runners.neural.base import NeuralParams, NeuralRunner, truncate_tokens
from lrbench.runners.neural.loading import chat_wrap
from lrbench.runners.llm.recipes import RecipeParams, fill_recipe

ATTN_NAME = "lrbench_icr"
_CAPTURE = threading.local()

HEAD = "Here are some paragraphs:\n\n"
TAIL = "Please find information that are relevant to the following query in the paragraphs above.\n\nQuery: "
RANKIFY_SEPARATOR = " \n\n"
RANKIFY_HEAD = " Here are some paragraphs:"
RANKIFY_TAIL = "Please find information that are relevant to the following query in the paragraphs above."


def _icr_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    out = sdpa_attention_forward(module, query, key, value, attention_mask, scaling=scaling, dropout=dropout, **kwargs)
    rows = getattr(_CAPTURE, "rows", None)
    if rows is not None and query.shape[2] > 1:
        n_rep = query.shape[1] // key.shape[1]
        k = key.repeat_interleave(n_rep, dim=1) if n_rep > 1 else key
        q = query[:, :, rows, :].float()
        scores = torch.matmul(q, k.float().transpose(-1, -2)) * (scaling or 1.0 / math.sqrt(q.shape[-1]))
        positions = torch.arange(k.shape[2], device=k.device)
        scores = scores.masked_fill(positions[None, :] > rows[:, None], float("-inf"))
        attn = scores.softmax(dim=-1)                     # [batch, heads, query rows, keys]
        mass = attn.mean(dim=2)                           # mean over query tokens
        mass = mass.sum(dim=1) if getattr(_CAPTURE, "heads", "mean") == "sum" else mass.mean(dim=1)
        _CAPTURE.acc = mass if _CAPTURE.acc is None else _CAPTURE.acc + mass
    return out


def register_attention() -> str:
    from transformers import AttentionInterface

    AttentionInterface.register(ATTN_NAME, _icr_attention)
    try:
        from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

        AttentionMaskInterface.register(ATTN_NAME, sdpa_mask)
    except ImportError:  # older transformers build masks by name
        pass
    return ATTN_NAME


def rankify_prompt(tokenizer, query: str, docs: list[str], before: str, after: str):
    """rankify's ICR prompt (IE instruction, query last) and its token bookkeeping: (text, document token spans,
    first query row). Lengths are counted piece by piece as rankify does (a tokenizer adding BOS counts it once)."""
    bos = len(tokenizer("", add_special_tokens=True)["input_ids"])
    count = lambda text: len(tokenizer(text, add_special_tokens=True)["input_ids"]) - bos
    sep = RANKIFY_SEPARATOR
    sep_len = count(sep)
    text = before + RANKIFY_HEAD
    length = count(text + sep) - sep_len + bos
    spans = []
    for i, doc in enumerate(docs):
        piece = f"[{i + 1}] {doc}"
        length += sep_len
        doc_len = count(sep + piece) - sep_len
        spans.append((length, length + doc_len))
        length += doc_len
        text += sep + piece
    query_start = length + sep_len
    text += sep + RANKIFY_TAIL + sep + "Query:" + f" {query.strip()}" + after
    return text, spans, query_start


def masked_calibration(scores, calibration) -> float:
    """ICR's masked_NA_calibration for one document: calibrated token scores, tokens below mean - 2 sd dropped."""
    calibrated = scores - calibration
    keep = calibrated > calibrated.mean() - 2 * calibrated.std()
    return float((scores * keep - calibration * keep).sum())


class ICRParams(NeuralParams, RecipeParams):
    layout: Literal["lrbench", "rankify"] = "lrbench"
    heads: Literal["mean", "sum"] = Field("mean", description="how attention is pooled over heads")
    calibration: Literal["subtract", "masked"] = Field(
        "subtract", description="subtract: query mass minus content-free mass; masked: ICR's masked_NA_calibration")
    doc_max_tokens: int | None = Field(100, ge=1)
    window: int | None = Field(None, ge=1, description="documents per forward pass (default: as many as fit)")
    calibration_query: str = "N/A"
    system: str | None = None
    chat: bool = True
    batch_size: int = Field(1, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _recipe(cls, data):
        return fill_recipe("icr", data)


class ICRRunner(NeuralRunner):
    """In-context reranking: calibrated attention from the query tokens to each packed document."""

    type = "icr"
    version = "2"
    model_kind = "causal-lm"
    needs_input = True
    Params = ICRParams

    def run(self, dataset, inputs, ctx: RunContext) -> Output:
        self.passes = 0
        return self.rerank(dataset, inputs, ctx, self._score, "icr")

    def load(self, ctx, calibration=None, **kwargs):
        return super().load(ctx, calibration, attn_implementation=register_attention())

    def prepare(self, loaded) -> None:
        tok = loaded.tokenizer
        before, after = chat_wrap(tok, self.params.system, self.params.chat)
        self._before, self._after_text = before, after
        enc = lambda s: tok(s, add_special_tokens=False)["input_ids"] if s else []
        self._head = (enc(before) if before else tok("", add_special_tokens=True)["input_ids"]) + enc(HEAD)
        self._tail_ids, self._after = enc(TAIL), enc(after)
        cfg = loaded.model.config
        self._context = int(self.params.max_length or getattr(cfg, "max_position_embeddings", 2048) or 2048)
        self._base = getattr(loaded.model, loaded.model.base_model_prefix, loaded.model)

    def _attention_mass(self, loaded, ids: list[int], rows: list[int]):
        import torch

        _CAPTURE.rows = torch.as_tensor(rows, device=loaded.device)
        _CAPTURE.heads = self.params.heads
        _CAPTURE.acc = None
        try:
            with torch.inference_mode():
                self._base(input_ids=torch.as_tensor([ids], device=loaded.device))
            return _CAPTURE.acc[0].float().cpu()
        finally:
            _CAPTURE.rows = None
            _CAPTURE.acc = None
            _CAPTURE.heads = "mean"  # the default pooling for the next capture, whoever starts it

    def _score_chunk(self, loaded, query_ids, cf_ids, docs_ids, watch) -> list[float]:
        tok = loaded.tokenizer
        enc = lambda s: tok(s, add_special_tokens=False)["input_ids"]
        ids = list(self._head)
        spans = []
        for i, d in enumerate(docs_ids, 1):
            ids += enc(f"[document {i}] ")
            spans.append((len(ids), len(ids) + len(d)))
            ids += d + enc("\n\n")
        ids += self._tail_ids
        masses = []
        for q in (query_ids, cf_ids):
            seq = ids + q + self._after
            rows = list(range(len(ids), len(ids) + len(q)))
            masses.append(self._attention_mass(loaded, seq, rows))
            self.passes += 1
            watch.tokens += len(seq)
        return self._combine(masses[0], masses[1], spans)

    def _combine(self, mass, mass_cf, spans) -> list[float]:
        if self.params.calibration == "masked":
            return [masked_calibration(mass[a:b], mass_cf[a:b]) for a, b in spans]
        return [float(mass[a:b].sum() - mass_cf[a:b].sum()) for a, b in spans]

    def rankify_chunk(self, loaded, query: str, docs: list[str], watch) -> list[float]:
        """One forward pass with the query and one with the calibration query over rankify's prompt."""
        tok = loaded.tokenizer
        masses, spans = [], None
        for q in (query, self.params.calibration_query):
            text, spans, start = rankify_prompt(tok, q, docs, self._before, self._after_text)
            ids = tok(text, add_special_tokens=not self._before)["input_ids"]
            masses.append(self._attention_mass(loaded, ids, list(range(start, len(ids)))))
            self.passes += 1
            watch.tokens += len(ids)
        return self._combine(masses[0], masses[1], spans)

    def _score(self, loaded, query: str, docs: list[str], watch):
        tok = loaded.tokenizer
        p: ICRParams = self.params
        query_ids = tok(query, add_special_tokens=False)["input_ids"] or [tok.eos_token_id]
        cf_ids = tok(p.calibration_query, add_special_tokens=False)["input_ids"]
        texts = [truncate_tokens(tok, " ".join(d.split()), p.doc_max_tokens) for d in docs]
        docs_ids = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
        fixed = len(self._head) + len(self._tail_ids) + len(self._after) + max(len(query_ids), len(cf_ids))
        per_doc = max(len(d) for d in docs_ids) + 8 if docs_ids else 1
        fits = max(1, (self._context - fixed) // per_doc)
        size = min(p.window or len(docs), fits)
        chunks = math.ceil(len(docs) / size)
        size = math.ceil(len(docs) / chunks)  # equal chunks keep attention scales comparable
        scores = []
        for start in range(0, len(docs), size):
            if p.layout == "rankify":
                scores += self.rankify_chunk(loaded, query, texts[start:start + size], watch)
            else:
                scores += self._score_chunk(loaded, query_ids, cf_ids, docs_ids[start:start + size], watch)
        return scores

    def reset_counters(self) -> None:
        self.passes = 0

    def extra_profile(self) -> dict:
        from lrbench.runners.llm.recipes import recipe_profile

        p: ICRParams = self.params
        return {"forward_passes": self.passes, "context_tokens": self._context, "calibration_query":
                p.calibration_query, "layout": p.layout, "heads": p.heads, "calibration": p.calibration,
                **recipe_profile(p)}
