"""The factored layer and the small torch helpers that compression and healing share."""

from __future__ import annotations

import torch
from torch import nn


class LowRankLinear(nn.Module):
    """Two Linears in sequence: in -> rank (no bias) -> out (with the original bias)."""

    def __init__(self, in_features: int, out_features: int, rank: int, bias: bool,
                 dtype: torch.dtype | None = None, device=None):
        super().__init__()
        self.in_features, self.out_features, self.rank = in_features, out_features, rank
        self.first = nn.Linear(in_features, rank, bias=False, dtype=dtype, device=device)
        self.second = nn.Linear(rank, out_features, bias=bias, dtype=dtype, device=device)

    def forward(self, x):
        return self.second(self.first(x))

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, rank={self.rank}"


def _prepare_tokenizer(tokenizer):
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    return tokenizer


def _batches(tokenizer, texts: list[str], batch_size: int, max_length: int, device):
    tokenizer = _prepare_tokenizer(tokenizer)
    for start in range(0, len(texts), batch_size):
        enc = tokenizer(texts[start: start + batch_size], padding=True, truncation=True,
                        max_length=max_length, return_tensors="pt")
        yield {k: v.to(device) for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}


def _model_device(model: nn.Module):
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")
