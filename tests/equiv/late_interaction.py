"""late-interaction vs pylate's ColBERT MaxSim (pylate.scores.colbert_scores, torch backend).

Layer compared: the scoring. pylate gets the token embeddings lrbench computed (queries re-encoded by the same
loaded encoder, passages read back from lrbench's token cache) and scores each (query, passage) pair with its
own MaxSim; lrbench's scores come from a normal run of the runner. Each pair is scored on its own, unpadded:
pylate's masks zero padded positions, which would lift a query token whose best cosine is negative to 0.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from equiv.common import MINILM
from equiv.cross_encoder import compare, dl19_pairs  # noqa: F401  (same pairs, same comparison)

TOLERANCE = 1e-5
PARAMS = {"model": MINILM, "query_marker": "[unused0]", "doc_marker": "[unused1]", "query_augment": 32,
          "batch_size": 16, "device": "cpu"}


def _context(cache: Path, depth: int):
    from lrbench.runners.base import RunContext

    return RunContext(cache_dir=cache, suite_dir=cache, depth=depth)


def lrbench_scores(ds, run: pd.DataFrame, cache: Path, params: dict | None = None) -> pd.DataFrame:
    from lrbench.runners.retrieval.late_interaction import LateInteractionRunner

    depth = int(run.groupby("query_id").size().max())
    out = LateInteractionRunner(params or PARAMS).run(ds, {"bm25": run}, _context(cache, depth))
    return out.run[["query_id", "doc_id", "score"]]


def pylate_scores(ds, run: pd.DataFrame, cache: Path, params: dict | None = None) -> pd.DataFrame:
    """MaxSim by pylate over lrbench's token embeddings (same runner settings, same token cache)."""
    import torch
    from pylate.scores import colbert_scores

    from lrbench.runners.cost import Cost
    from lrbench.runners.retrieval.late_interaction import LateInteractionRunner

    runner = LateInteractionRunner(params or PARAMS)
    ctx = _context(cache, int(run.groupby("query_id").size().max()))
    runner._ctx = ctx
    loaded = runner.load(ctx)
    runner.prepare(loaded)
    queries, texts = ds.eval_queries(), ds.doc_texts(run["doc_id"])
    rows = []
    for qid, group in run.groupby("query_id", sort=False):
        q, _ = runner._query(loaded, queries[qid])
        docs = runner.documents(loaded, [texts[d] for d in group["doc_id"]], Cost())
        for doc_id, d in zip(group["doc_id"], docs):
            score = colbert_scores(torch.from_numpy(q)[None], torch.from_numpy(d)[None], backend="torch")
            rows.append((qid, doc_id, float(score[0, 0])))
    assert runner.cache_misses == 0, "passage embeddings should come from the run's token cache"
    return pd.DataFrame(rows, columns=["query_id", "doc_id", "score"])
