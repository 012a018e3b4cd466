"""Shared pieces of the task runners (lm-perplexity, glue, mteb-classification): params, loading, compression."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from lrbench.runners.base import RunContext, Runner, RunnerParams


class TaskModelParams(RunnerParams):
    model: str = Field(description="Hugging Face Hub id (resolved offline through `lrbench models`) or a folder")
    revision: str | None = None
    device: str = "auto"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "float32"
    threads: int | None = Field(None, ge=1)
    batch_size: int = Field(32, ge=1)
    max_length: int | None = Field(None, ge=8)
    trust_remote_code: bool = False


def model_path(model: str, suite_dir: Path) -> str:
    local = Path(model).expanduser()
    if not local.is_absolute() and (suite_dir / local).is_dir():
        return str(suite_dir / local)
    return model


class TaskModelRunner(Runner):
    """A runner backed by one transformers model, compressed per the system's `compress:` block."""

    model_kind = "causal-lm"
    Params = TaskModelParams

    @classmethod
    def key_extra(cls, params: dict[str, Any], suite_dir: Path) -> str:
        from lrbench.models import resolve

        model = params.get("model")
        return resolve(model_path(model, suite_dir), params.get("revision")).revision if model else ""

    def load(self, ctx: RunContext, **kwargs):
        """(LoadedModel, compression report or None, compression seconds)."""
        from lrbench.compression import apply_compression
        from lrbench.runners.neural.loading import load_model

        loaded = load_model(self.model_kind, model_path(self.params.model, ctx.suite_dir), self.params, **kwargs)
        report, seconds = None, 0.0
        if ctx.compress:
            started = time.perf_counter()
            loaded.model, report = apply_compression(loaded.model, ctx, loaded.tokenizer)
            loaded.compression = report
            seconds = time.perf_counter() - started
        return loaded, report, seconds

    def base_profile(self, loaded, report, seconds) -> dict:
        profile = dict(loaded.info())
        if report is not None:
            profile["compression"] = report
            profile["compression_seconds"] = seconds
        return profile
