"""`mteb-classification`: the MTEB classification protocol on sentence embeddings.

As mteb's AbsTaskClassification with logistic regression (see runners/mteb_protocol.py): for each of
`n_experiments` (10) experiments a fresh RandomState(`seed`=42) shuffles the index list the previous
experiment left, and the first `samples_per_label` (8) examples of each label are kept; a
LogisticRegression(random_state=seed, max_iter=100) fits their embeddings and predicts every test example;
scores are means over experiments.
Embeddings come from the model's own pooling and normalisation (sentence-transformers config),
batch size 32, as mteb encodes them.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from pydantic import Field

from lrbench.errors import LrbenchError
from lrbench.runners.base import Output, RunContext
from lrbench.runners.cost import Cost
from lrbench.runners.tasks.mteb_protocol import logreg_experiments, undersample
from lrbench.runners.neural.base import ModelParams
from lrbench.runners.tasks.common import TaskModelRunner


class MtebClassificationParams(ModelParams):
    n_experiments: int = Field(10, ge=1)
    samples_per_label: int = Field(8, ge=1)
    seed: int = 42
    max_iter: int = Field(100, ge=1)
    pooling: str = "auto"
    normalize: bool | None = None


class MtebClassificationRunner(TaskModelRunner):
    """MTEB classification: logistic regression on embeddings, 10 experiments (mteb's sampling)."""

    type = "mteb-classification"
    version = "2"  # 2: mteb's per-experiment re-seeding
    task_kinds = ("classification",)
    model_kind = "embedder"
    Params = MtebClassificationParams

    def run(self, dataset, inputs, ctx: RunContext) -> Output:
        p: MtebClassificationParams = self.params
        if not hasattr(dataset, "train_examples"):
            raise LrbenchError(f"{dataset.spec.label} has no training split", key="type",
                               hint="use an mteb-classification: dataset (train.csv + test.csv)")
        train, test = dataset.train_examples(), dataset.examples()
        experiments = undersample(train["label"].to_numpy(), p.samples_per_label, p.n_experiments, p.seed)
        needed = sorted({i for chosen in experiments for i in chosen})
        loaded, cost = self.load(ctx), Cost()
        texts = [train["text"].iloc[i] for i in needed] + list(test["text"])
        t0 = time.perf_counter()
        with loaded.charging(cost):
            chunks = [texts[i:i + 512] for i in range(0, len(texts), 512)]
            parts = [loaded.encode(chunk, batch_size=p.batch_size)
                     for chunk in ctx.progress(chunks, total=len(chunks), description="embedding")]
        encode_seconds = time.perf_counter() - t0
        emb = np.concatenate(parts)
        train_emb = dict(zip(needed, emb[: len(needed)]))
        test_emb = emb[len(needed):]
        t0 = time.perf_counter()
        predictions = logreg_experiments(experiments, train_emb, train["label"].to_numpy(), test_emb,
                                         seed=p.seed, max_iter=p.max_iter)
        rows = [pd.DataFrame({"id": test["id"].astype(str), "experiment": n, "label": pred.astype(int)})
                for n, pred in enumerate(predictions)]
        fit_seconds = time.perf_counter() - t0
        profile = {**self.model_profile(loaded, cost, len(texts)),
                   "protocol": f"mteb logReg: {p.n_experiments} experiments, {p.samples_per_label} per label, "
                               f"seed {p.seed}, max_iter {p.max_iter}",
                   "train_texts_embedded": len(needed), "test_examples": len(test),
                   "encode_seconds": encode_seconds, "texts_per_second": len(texts) / max(encode_seconds, 1e-9),
                   "fit_seconds": fit_seconds, "pooling": loaded.pooling.mode, "normalize": loaded.pooling.normalize}
        return Output(frames={"predictions": pd.concat(rows, ignore_index=True)}, profile=profile)
