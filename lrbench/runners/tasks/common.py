"""Shared pieces of the task runners (lm-perplexity, glue, mteb-classification): params, loading, compression."""

from __future__ import annotations

import time
from pathlib import Path

from lrbench.runners.base import RunContext, Runner
from lrbench.runners.neural.base import ModelParams, check_model_path, model_location, model_revision


class TaskModelRunner(Runner):
    """A runner backed by one transformers model, compressed per the system's `compress:` block."""

    model_kind = "causal-lm"
    Params = ModelParams
    loads_model = True

    @classmethod
    def key_extra(cls, params, suite_dir: Path) -> str:
        return model_revision(params, suite_dir)

    @classmethod
    def check(cls, params, suite_dir: Path) -> None:
        super().check(params, suite_dir)
        check_model_path(getattr(params, "model", None), suite_dir)

    def load(self, ctx: RunContext, **kwargs):
        """(LoadedModel, compression report or None, compression seconds)."""
        from lrbench.compression import compress_for_cell
        from lrbench.runners.neural.loading import load_model

        loaded = load_model(self.model_kind, model_location(self.params.model, ctx.suite_dir), self.params, **kwargs)
        report, seconds = None, 0.0
        if ctx.compress:
            started = time.perf_counter()
            loaded.model, report = compress_for_cell(loaded.model, ctx, loaded.tokenizer)
            loaded.compression = report
            seconds = time.perf_counter() - started
        return loaded, report, seconds

    def base_profile(self, loaded, report, seconds) -> dict:
        profile = dict(loaded.info())
        if report is not None:
            profile["compression"] = report
            profile["compression_seconds"] = seconds
        return profile
