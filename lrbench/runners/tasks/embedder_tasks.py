"""The non-ranking task kinds of an `embedder` system, so one system is scored on every MTEB task kind.

- STS (a regression dataset: pairs with a gold similarity): the prediction is the cosine of the two texts'
  embeddings (MTEB's main STS score is the Spearman correlation of this cosine with the gold scores);
- classification: MTEB's logistic-regression protocol, run by the `mteb-classification` runner with this
  system's model, pooling and normalisation.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from lrbench.errors import LrbenchError
from lrbench.runners.base import Output, RunContext
from lrbench.runners.neural.base import ModelParams
from lrbench.runners.neural.device import select_device
from lrbench.runners.neural.profile import PeakMemory, Stopwatch


def run_embedder_task(runner, dataset, ctx: RunContext) -> Output:
    if not hasattr(dataset, "examples"):
        raise LrbenchError(f"{dataset.spec.label} is a {dataset.task} dataset without examples", key="type")
    if getattr(dataset, "regression", False):
        return similarity_run(runner, dataset, ctx)
    return classification_run(runner, dataset, ctx)


def similarity_run(runner, dataset, ctx: RunContext) -> Output:
    """Cosine similarity of each pair (text, text_pair), as the prediction."""
    examples = dataset.examples()
    if examples["text_pair"].isna().any():
        raise LrbenchError(f"{dataset.spec.label} has examples without a second text", key="datasets.id",
                           hint="a similarity task pairs two texts")
    p = runner.params
    started = time.perf_counter()
    with PeakMemory(select_device(p.device)) as mem:
        first, second = list(examples["text"]), list(examples["text_pair"])
        loaded = runner.load(ctx, first[:64])
        watch = Stopwatch()
        with watch.timed(), loaded.charging(watch):
            a = _unit(runner.embed(loaded, first, p.query_prefix, watch))
            b = _unit(runner.embed(loaded, second, p.query_prefix, watch))
        cosine = (a * b).sum(axis=1)
    profile = {**runner.model_profile(loaded, watch, len(examples)), "role": "similarity (cosine)",
               "pairs": len(examples), "runner_seconds": time.perf_counter() - started, **watch.as_dict(),
               **mem.as_dict()}
    frame = pd.DataFrame({"id": examples["id"].astype(str), "label": cosine.astype(float)})
    return Output(frames={"predictions": frame}, profile=profile)


def _unit(emb):
    return emb / np.clip(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12, None)


def classification_run(runner, dataset, ctx: RunContext) -> Output:
    """MTEB classification with this system's model: the mteb-classification runner's protocol, with its defaults
    unless the system's `classification:` param sets them."""
    from lrbench.runners.tasks.mteb_classification import MtebClassificationRunner

    params = runner.params.model_dump()
    shared = {k: params[k] for k in ModelParams.model_fields} | {"pooling": params["pooling"],
                                                                 "normalize": params["normalize"]}
    return MtebClassificationRunner({**shared, **params["classification"]}).run(dataset, {}, ctx)
