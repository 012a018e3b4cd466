"""Length-bucketed batching: sort by token length, cut into batches, restore the input order; and running a
batch-at-a-time encoding generator to its result."""

from __future__ import annotations

from typing import Callable, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def length_batches(lengths: Sequence[int], batch_size: int, sort: bool = True,
                   token_budget: int | None = None) -> list[list[int]]:
    """Indices grouped into batches; with sort=True, longest first, so similar lengths share a batch
    (less padding) and an out-of-memory shows up on the first batch.

    With `token_budget`, a batch also stops growing before its padded size (rows x longest row) would pass
    the budget: long inputs come in small batches, short ones in large ones (up to `batch_size`), so memory
    per forward pass stays flat. A row longer than the budget goes alone."""
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i)) if sort else list(range(len(lengths)))
    if not token_budget:
        return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    batches: list[list[int]] = []
    batch: list[int] = []
    longest = 0
    for i in order:
        wider = max(longest, lengths[i])
        if batch and (len(batch) == batch_size or (len(batch) + 1) * wider > token_budget):
            batches.append(batch)
            batch, wider = [], lengths[i]
        batch.append(i)
        longest = wider
    if batch:
        batches.append(batch)
    return batches


def map_batched(items: Sequence[T], lengths: Sequence[int], fn: Callable[[list[T]], Sequence[R]],
                batch_size: int, sort: bool = True) -> list[R]:
    """Apply `fn` to batches of `items` (bucketed by `lengths`) and return results in the input order."""
    if len(items) != len(lengths):
        raise ValueError("items and lengths differ in length")
    out: list = [None] * len(items)
    for batch in length_batches(lengths, batch_size, sort):
        results = fn([items[i] for i in batch])
        if len(results) != len(batch):
            raise ValueError(f"batch function returned {len(results)} results for {len(batch)} items")
        for i, r in zip(batch, results):
            out[i] = r
    return out


def pad_batch(sequences: Sequence[Sequence[int]], pad_id: int, side: str = "right", extra: dict | None = None):
    """Pad token id lists into tensors: input_ids, attention_mask (+ any `extra` per-token lists, padded with 0)."""
    import torch

    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    extras = {k: torch.zeros((len(sequences), width), dtype=torch.long) for k in (extra or {})}
    for row, seq in enumerate(sequences):
        n = len(seq)
        sl = slice(width - n, width) if side == "left" else slice(0, n)
        ids[row, sl] = torch.as_tensor(seq, dtype=torch.long)
        mask[row, sl] = 1
        for k, values in (extra or {}).items():
            extras[k][row, sl] = torch.as_tensor(values[row], dtype=torch.long)
    return {"input_ids": ids, "attention_mask": mask, **extras}


def finished(steps):
    """Run a generator of progress steps (the encoders' `*_steps`) to its end and return what it returns."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value
