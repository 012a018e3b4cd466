"""`fusion`: combine several systems' runs (`inputs: [a, b]`) into one: RRF, CombSUM, CombMNZ or a weighted sum.

Per query, each input's scores are normalised (min-max, z-score or rank) and combined over the documents
any input retrieved; a document missing from an input contributes nothing from it (as ranx's `fuse` does).
Ranks within an input follow trec_eval's order (score descending, then doc id descending), so RRF and rank
normalisation are deterministic when an input has tied scores.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import field_validator, model_validator

from lrbench.errors import LrbenchError
from lrbench.runners.base import Output, RunContext, Runner, RunnerParams, top_k
from lrbench.runners.cost import Cost

NORMS = ("none", "min-max", "z-score", "rank")
#: the normalisation a method uses when `norm:` is not given (RRF works on ranks and needs none)
DEFAULT_NORM = {"rrf": "none", "combsum": "min-max", "combmnz": "min-max", "wsum": "min-max"}


class FusionParams(RunnerParams):
    method: Literal["rrf", "combsum", "combmnz", "wsum"] = "rrf"
    norm: Literal["none", "min-max", "z-score", "rank"] | None = None  # None: the method's default
    k: float = 60  # RRF's rank offset
    #: wsum weights, one per input in `inputs:` order (or {system: weight})
    weights: list[float] | dict[str, float] | None = None
    #: wsum with two inputs: weight of the first input; the second gets 1 - alpha (convenient to sweep)
    alpha: float | None = None
    keep: int | None = 1000  # documents kept per query after fusion

    @field_validator("k")
    @classmethod
    def _positive_k(cls, value):
        if value <= 0:
            raise ValueError("k must be positive (RRF adds it to each rank)")
        return value

    @field_validator("alpha")
    @classmethod
    def _alpha_in_unit_interval(cls, value):
        if value is not None and not 0 <= value <= 1:
            raise ValueError("alpha must lie in [0, 1]")
        return value

    @model_validator(mode="after")
    def _weights_for_wsum(self):
        if self.method != "wsum" and (self.weights is not None or self.alpha is not None):
            raise ValueError(f"weights/alpha apply to method: wsum, not {self.method}")
        if self.weights is not None and self.alpha is not None:
            raise ValueError("give either weights or alpha, not both")
        return self


def rank_frame(run: pd.DataFrame) -> pd.DataFrame:
    """The run in trec_eval order with a 0-based `position` per query."""
    ordered = run.sort_values(["query_id", "score", "doc_id"], ascending=[True, False, False], kind="stable")
    ordered = ordered.reset_index(drop=True)
    return ordered.assign(position=ordered.groupby("query_id").cumcount())


def normalise(run: pd.DataFrame, norm: str) -> pd.DataFrame:
    """Per-query normalised scores (query_id, doc_id, score)."""
    ranked = rank_frame(run)
    scores = ranked["score"].astype(float)
    by_query = scores.groupby(ranked["query_id"])
    if norm == "none":
        value = scores
    elif norm == "min-max":
        low, high = by_query.transform("min"), by_query.transform("max")
        value = (scores - low) / np.maximum(high - low, 1e-9)
    elif norm == "z-score":  # population standard deviation, as ranx's zmuv
        std = by_query.transform(lambda s: s.std(ddof=0))
        value = (scores - by_query.transform("mean")) / np.maximum(std, 1e-9)
    elif norm == "rank":  # 1 for the top document, falling by 1/n per rank
        count = ranked.groupby("query_id")["doc_id"].transform("size")
        value = 1 - ranked["position"] / count
    else:
        raise ValueError(norm)
    return ranked.assign(score=value.to_numpy())[["query_id", "doc_id", "score", "position"]]


def fuse(runs: dict[str, pd.DataFrame], method: str, norm: str | None = None, k: float = 60,
         weights: dict[str, float] | None = None) -> pd.DataFrame:
    """Fuse named runs (query_id, doc_id, score) into one run of the same columns."""
    norm = norm or DEFAULT_NORM[method]
    parts = []
    for name, run in runs.items():
        part = normalise(run, norm)
        if method == "rrf":
            part = part.assign(score=1.0 / (k + part["position"] + 1))
        elif method == "wsum":
            part = part.assign(score=part["score"] * weights[name])
        parts.append(part[["query_id", "doc_id", "score"]])
    stacked = pd.concat(parts, ignore_index=True)
    grouped = stacked.groupby(["query_id", "doc_id"], sort=False)["score"]
    fused = grouped.sum()
    if method == "combmnz":
        fused = fused * grouped.size()
    return fused.rename("score").reset_index()


def input_weights(params: FusionParams, names: list[str]) -> dict[str, float] | None:
    """{input system: weight} for wsum; every input weighs 1 when none are given."""
    if params.method != "wsum":
        return None
    if params.alpha is not None:
        if len(names) != 2:
            raise LrbenchError(f"alpha weighs exactly two inputs, this system has {len(names)}",
                               key="params.alpha", hint="give weights: [w1, w2, ...] instead")
        return {names[0]: params.alpha, names[1]: 1 - params.alpha}
    if params.weights is None:
        return {name: 1.0 for name in names}
    if isinstance(params.weights, dict):
        unknown = set(params.weights) - set(names)
        missing = set(names) - set(params.weights)
        if unknown or missing:
            raise LrbenchError(f"weights name {sorted(unknown) or 'no'} unknown and miss {sorted(missing) or 'no'} "
                               f"inputs", key="params.weights", hint=f"inputs: {', '.join(names)}")
        return dict(params.weights)
    if len(params.weights) != len(names):
        raise LrbenchError(f"{len(params.weights)} weights for {len(names)} inputs", key="params.weights",
                           hint=f"one weight per input, in order: {', '.join(names)}")
    return dict(zip(names, params.weights))


class FusionRunner(Runner):
    """Rank fusion of several systems' runs: RRF, CombSUM, CombMNZ or weighted sum (hybrid retrieval)."""

    type = "fusion"
    version = "1"
    Params = FusionParams
    min_inputs = 2
    max_inputs = None

    def run(self, dataset, inputs: dict[str, pd.DataFrame], ctx: RunContext) -> Output:
        p: FusionParams = self.params
        names = list(inputs)
        weights = input_weights(p, names)
        runs = {name: top_k(run, ctx.depth) for name, run in inputs.items()}
        fused = fuse(runs, p.method, p.norm, p.k, weights)
        cost = Cost()
        cost.count("docs_touched", sum(len(run) for run in runs.values()))
        return Output(run=top_k(fused, p.keep), profile={
            "method": p.method, "norm": p.norm or DEFAULT_NORM[p.method], "inputs": names,
            "weights": weights, "depth": ctx.depth, **cost.profile(fused["query_id"].nunique())})
