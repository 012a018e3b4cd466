"""Shared pieces of the task runners (lm-perplexity, glue, mteb-classification): the model-runner base."""

from __future__ import annotations

from lrbench.runners.neural.base import ModelRunner


class TaskModelRunner(ModelRunner):
    """A runner backed by one transformers model, compressed per the system's `compress:` block; its model
    and cost profile come from `model_profile(loaded, cost, examples)` (per query: per example)."""

    model_kind = "causal-lm"
