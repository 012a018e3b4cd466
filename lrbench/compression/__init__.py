"""Low-rank (and sparse plus low-rank) compression of any transformer: `compress_model(model, config, ...) -> (model, report)`.

Importing this package does not import torch; `compress_model` does, when called.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from lrbench.compression.calibration import calibration_texts, make_calibration
from lrbench.compression.config import METHODS, CompressConfig, canonical_compress, compress_errors, parse_compress


def compress_model(model, config: dict | CompressConfig, *, tokenizer=None, calibration=None,
                   cache_dir: Path | None = None, progress: Callable | None = None, base_dir: Path | None = None):
    """See lrbench.compression.lowrank.compress_model (imports torch when called). `config`: the typed block
    (a runner's `ctx.compress`) or a dict as written in a suite."""
    config = parse_compress(config)
    if config.method == "lora-squeeze":
        from lrbench.compression.lora_squeeze import squeeze_model

        return squeeze_model(model, config)
    if config.method == "sparse-lowrank":
        from lrbench.compression.sparse_lowrank import compress_sparse_lowrank

        return compress_sparse_lowrank(model, config, tokenizer=tokenizer, calibration=calibration,
                                       cache_dir=cache_dir, progress=progress, base_dir=base_dir)
    from lrbench.compression.lowrank import compress_model as _compress

    return _compress(model, config, tokenizer=tokenizer, calibration=calibration, cache_dir=cache_dir,
                     progress=progress, base_dir=base_dir)


def compress_for_cell(model, ctx, tokenizer):
    """What a runner calls: compress `model` per its cell's `compress:` block, ctx.compress, the typed block
    (calibration drawn relative to the suite).

    Returns (model, report); report is None when the system has no compress block.
    """
    if not ctx.compress:
        return model, None
    calibration = make_calibration(ctx.compress, ctx.suite_dir)
    return compress_model(model, ctx.compress, tokenizer=tokenizer, calibration=calibration,
                          cache_dir=Path(ctx.cache_dir), base_dir=ctx.suite_dir)


__all__ = ["compress_model", "compress_for_cell", "make_calibration", "calibration_texts", "compress_errors",
           "parse_compress", "canonical_compress", "CompressConfig", "METHODS"]
