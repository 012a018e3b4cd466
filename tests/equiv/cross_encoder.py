"""cross-encoder vs sentence-transformers CrossEncoder.predict and rerankers' cross-encoder ranker.

Offline there is no trained cross-encoder, so all three load the same checkpoint: the all-MiniLM-L6-v2 encoder
plus a classification head initialised from a fixed seed and saved once. This checks mechanics (pairing,
truncation, batching, padding, which logit is the score), not quality: these scores mean nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from equiv.common import DL19, max_abs, minilm_path

MAX_LENGTH = 512
TOLERANCE = 1e-5


def fresh_head_checkpoint(folder: Path, seed: int = 0) -> Path:
    """MiniLM with a seeded single-logit head, saved as an ordinary sequence-classification checkpoint."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    if (folder / "config.json").exists():
        return folder
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_pretrained(minilm_path(), num_labels=1)
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(minilm_path()).save_pretrained(folder)
    return folder


def dl19_pairs(queries_limit: int | None, depth: int):
    """lrbench's DL19 dataset (BM25 top-100 with passage text) and its BM25 run cut to `depth` per query."""
    from lrbench.datasets import open_dataset
    from lrbench.suites.schema import DatasetSpec

    spec = DatasetSpec(id=f"candidates:{DL19}/rank_llm_candidates/BM25.top100.dl19.json",
                       qrels=str(DL19 / "qrels.dl19-passage.txt"), queries_limit=queries_limit)
    ds = open_dataset(spec, DL19)
    run = ds.candidates()
    run = run[run["query_id"].isin(set(ds.eval_queries()))]
    run = run.sort_values(["query_id", "score"], ascending=[True, False]).groupby("query_id").head(depth)
    return ds, run.reset_index(drop=True)


def lrbench_scores(checkpoint: Path, ds, run: pd.DataFrame, cache: Path, batch_size: int = 16) -> pd.DataFrame:
    from lrbench.runners.base import RunContext
    from lrbench.runners.rerankers.cross_encoder import CrossEncoderRunner

    depth = int(run.groupby("query_id").size().max())
    params = {"model": str(checkpoint), "max_length": MAX_LENGTH, "batch_size": batch_size, "device": "cpu"}
    out = CrossEncoderRunner(params).run(ds, {"bm25": run}, RunContext(cache_dir=cache, suite_dir=cache, depth=depth))
    return out.run[["query_id", "doc_id", "score"]]


def _pairs(ds, run: pd.DataFrame):
    queries, texts = ds.queries(), ds.doc_texts(run["doc_id"])
    for qid, group in run.groupby("query_id", sort=False):
        yield qid, list(group["doc_id"]), queries[qid], [texts[d] for d in group["doc_id"]]


def sentence_transformers_scores(checkpoint: Path, ds, run: pd.DataFrame) -> pd.DataFrame:
    import torch
    from sentence_transformers import CrossEncoder

    model = CrossEncoder(str(checkpoint), device="cpu", max_length=MAX_LENGTH, activation_fn=torch.nn.Identity())
    rows = []
    for qid, doc_ids, query, docs in _pairs(ds, run):
        scores = model.predict([(query, d) for d in docs], batch_size=16, convert_to_numpy=True)
        rows += [(qid, d, float(s)) for d, s in zip(doc_ids, scores)]
    return pd.DataFrame(rows, columns=["query_id", "doc_id", "score"])


def rerankers_scores(checkpoint: Path, ds, run: pd.DataFrame) -> pd.DataFrame:
    from rerankers import Reranker

    ranker = Reranker(str(checkpoint), model_type="cross-encoder", device="cpu", dtype="float32", verbose=0)
    rows = []
    for qid, doc_ids, query, docs in _pairs(ds, run):
        ranked = ranker.rank(query, docs, doc_ids=doc_ids)
        rows += [(qid, r.document.doc_id, float(r.score)) for r in ranked.results]
    return pd.DataFrame(rows, columns=["query_id", "doc_id", "score"])


def ranking(frame: pd.DataFrame) -> dict[str, list[str]]:
    """Per query, doc ids by descending score (ties by doc id, so equal scores rank the same everywhere)."""
    ordered = frame.sort_values(["query_id", "score", "doc_id"], ascending=[True, False, True])
    return {q: list(g["doc_id"]) for q, g in ordered.groupby("query_id", sort=False)}


def order_swaps(merged: pd.DataFrame, gap: float) -> tuple[int, int]:
    """(pairs of documents of one query that the two sides order differently although the reference's scores are
    more than `gap` apart, pairs ordered differently within `gap`: near ties). With every score within d of the
    reference, only pairs closer than 2d can swap; duplicated passages (DL19 has some) score equal up to the
    batch's floating-point noise."""
    import numpy as np

    hard = near = 0
    for _, group in merged.groupby("query_id"):
        ours, ref = group["score_ours"].to_numpy(), group["score_ref"].to_numpy()
        flipped = np.sign(ours[:, None] - ours[None, :]) != np.sign(ref[:, None] - ref[None, :])
        far = np.abs(ref[:, None] - ref[None, :]) > gap
        upper = np.triu(np.ones_like(flipped), k=1).astype(bool)
        hard += int((flipped & far & upper).sum())
        near += int((flipped & ~far & upper).sum())
    return hard, near


def compare(ours: pd.DataFrame, theirs: pd.DataFrame, tolerance: float = TOLERANCE) -> dict:
    """Scores within `tolerance`, and the same order of every two documents whose reference scores are more than
    2 x tolerance apart (closer pairs may swap under the allowed difference; they are counted, as near ties)."""
    merged = ours.merge(theirs, on=["query_id", "doc_id"], suffixes=("_ours", "_ref"), how="outer")
    diff = max_abs(merged["score_ours"], merged["score_ref"]) if not merged.isna().any().any() else float("inf")
    hard, near = order_swaps(merged, 2 * tolerance) if diff != float("inf") else (-1, -1)
    return {"pairs": len(merged), "max_diff": diff, "same_ranking": ranking(ours) == ranking(theirs),
            "order_swaps": hard, "near_tie_swaps": near, "equal": bool(diff <= tolerance and hard == 0)}
