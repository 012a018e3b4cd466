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
"""

from __future__ import annotations

import math
import threading

from pydantic import Field

from lrbench.runners.base import Output, RunContext
from lrbench.runners.neural.base import NeuralParams, NeuralRunner, truncate_tokens
from lrbench.runners.neural.loading import chat_wrap

ATTN_NAME = "lrbench_icr"
_CAPTURE = threading.local()

HEAD = "Here are some paragraphs:\n\n"
TAIL = "Please find information that are relevant to the following query in the paragraphs above.\n\nQuery: "


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
        mass = attn.mean(dim=(1, 2))                      # mean over heads and query tokens
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


class ICRParams(NeuralParams):
    doc_max_tokens: int | None = Field(100, ge=1)
    window: int | None = Field(None, ge=1, description="documents per forward pass (default: as many as fit)")
    calibration_query: str = "N/A"
    system: str | None = None
    chat: bool = True
    batch_size: int = Field(1, ge=1)


class ICRRunner(NeuralRunner):
    """In-context reranking: calibrated attention from the query tokens to each packed document."""

    type = "icr"
    version = "1"
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
        enc = lambda s: tok(s, add_special_tokens=False)["input_ids"] if s else []
        self._head = (enc(before) if before else tok("", add_special_tokens=True)["input_ids"]) + enc(HEAD)
        self._tail, self._after = enc(TAIL), enc(after)
        cfg = loaded.model.config
        self._context = int(self.params.max_length or getattr(cfg, "max_position_embeddings", 2048) or 2048)
        self._base = getattr(loaded.model, loaded.model.base_model_prefix, loaded.model)

    def _attention_mass(self, loaded, ids: list[int], rows: list[int]):
        import torch

        _CAPTURE.rows = torch.as_tensor(rows, device=loaded.device)
        _CAPTURE.acc = None
        try:
            with torch.inference_mode():
                self._base(input_ids=torch.as_tensor([ids], device=loaded.device))
            return _CAPTURE.acc[0].float().cpu()
        finally:
            _CAPTURE.rows = None
            _CAPTURE.acc = None

    def _score_chunk(self, loaded, query_ids, cf_ids, docs_ids, watch) -> list[float]:
        tok = loaded.tokenizer
        enc = lambda s: tok(s, add_special_tokens=False)["input_ids"]
        ids = list(self._head)
        spans = []
        for i, d in enumerate(docs_ids, 1):
            ids += enc(f"[document {i}] ")
            spans.append((len(ids), len(ids) + len(d)))
            ids += d + enc("\n\n")
        ids += self._tail
        scores = None
        for q in (query_ids, cf_ids):
            seq = ids + q + self._after
            rows = list(range(len(ids), len(ids) + len(q)))
            mass = self._attention_mass(loaded, seq, rows)
            self.passes += 1
            watch.tokens += len(seq)
            per_doc = [float(mass[a:b].sum()) for a, b in spans]
            scores = per_doc if scores is None else [s - c for s, c in zip(scores, per_doc)]
        return scores

    def _score(self, loaded, query: str, docs: list[str], watch):
        tok = loaded.tokenizer
        p: ICRParams = self.params
        query_ids = tok(query, add_special_tokens=False)["input_ids"] or [tok.eos_token_id]
        cf_ids = tok(p.calibration_query, add_special_tokens=False)["input_ids"]
        docs_ids = [tok(truncate_tokens(tok, " ".join(d.split()), p.doc_max_tokens),
                        add_special_tokens=False)["input_ids"] for d in docs]
        fixed = len(self._head) + len(self._tail) + len(self._after) + max(len(query_ids), len(cf_ids))
        per_doc = max(len(d) for d in docs_ids) + 8 if docs_ids else 1
        fits = max(1, (self._context - fixed) // per_doc)
        size = min(p.window or len(docs), fits)
        chunks = math.ceil(len(docs) / size)
        size = math.ceil(len(docs) / chunks)  # equal chunks keep attention scales comparable
        scores = []
        for start in range(0, len(docs), size):
            scores += self._score_chunk(loaded, query_ids, cf_ids, docs_ids[start:start + size], watch)
        return scores

    def reset_counters(self) -> None:
        self.passes = 0

    def extra_profile(self) -> dict:
        return {"forward_passes": self.passes, "context_tokens": self._context,
                "calibration_query": self.params.calibration_query}
