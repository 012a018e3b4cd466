"""embedder vs beir's DenseRetrievalExactSearch (SentenceBERT model, cosine) and plain sentence-transformers
encode + cosine top-k, on a BEIR-layout SciFact folder (title and text joined by a space, as beir does)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from equiv.common import MINILM, cell_frame, minilm_path, run_suite

TOP = 10


def read_beir_slice(folder: Path):
    """({doc id: {title, text}}, {query id: text} of the judged test queries) of a BEIR-format folder."""
    corpus = {}
    with open(folder / "corpus.jsonl") as fh:
        for line in fh:
            doc = json.loads(line)
            corpus[doc["_id"]] = {"title": doc.get("title", ""), "text": doc.get("text", "")}
    qids = {line.split("\t")[0] for line in (folder / "qrels" / "test.tsv").read_text().splitlines()[1:] if line}
    queries = {}
    with open(folder / "queries.jsonl") as fh:
        for line in fh:
            q = json.loads(line)
            if q["_id"] in qids:
                queries[q["_id"]] = q["text"]
    return corpus, queries


def lrbench_run(folder: Path, work: Path) -> pd.DataFrame:
    suite = {"name": "equiv-embedder", "datasets": [{"id": f"beir:{folder}", "name": "scifact",
                                                      "measures": ["nDCG@10"]}],
             "systems": [{"name": "minilm", "type": "embedder",
                          "params": {"model": MINILM, "batch_size": 32, "k": TOP, "device": "cpu"}}]}
    results, _ = run_suite(suite, work)
    return cell_frame(results, "scifact", "minilm", "run")[["query_id", "doc_id", "score"]]


def beir_run(folder: Path) -> pd.DataFrame:
    from beir.retrieval.models import SentenceBERT
    from beir.retrieval.search.dense import DenseRetrievalExactSearch

    corpus, queries = read_beir_slice(folder)
    search = DenseRetrievalExactSearch(SentenceBERT(minilm_path()), batch_size=32)
    results = search.search(corpus, queries, top_k=TOP, score_function="cos_sim")
    return pd.DataFrame([(q, d, float(s)) for q, docs in results.items() for d, s in docs.items()],
                        columns=["query_id", "doc_id", "score"])


def sentence_transformers_run(folder: Path) -> pd.DataFrame:
    from sentence_transformers import SentenceTransformer

    corpus, queries = read_beir_slice(folder)
    model = SentenceTransformer(minilm_path(), device="cpu")
    doc_ids = list(corpus)
    docs = model.encode([(corpus[d]["title"] + " " + corpus[d]["text"]).strip() for d in doc_ids],
                        batch_size=32, normalize_embeddings=True)
    qids = list(queries)
    qs = model.encode([queries[q] for q in qids], batch_size=32, normalize_embeddings=True)
    scores = qs @ docs.T
    rows = []
    for qi, qid in enumerate(qids):
        for j in np.argsort(-scores[qi], kind="stable")[:TOP]:
            rows.append((qid, doc_ids[j], float(scores[qi, j])))
    return pd.DataFrame(rows, columns=["query_id", "doc_id", "score"])


def top_lists(run: pd.DataFrame) -> dict[str, list[str]]:
    ordered = run.sort_values(["query_id", "score"], ascending=[True, False], kind="stable")
    return {str(q): list(g["doc_id"].astype(str))[:TOP] for q, g in ordered.groupby("query_id", sort=False)}


def compare(ours: pd.DataFrame, theirs: pd.DataFrame) -> dict:
    """Identical ordered top-10 per query; max_diff is the largest cosine difference on shared top-10 pairs."""
    a, b = top_lists(ours), top_lists(theirs)
    same = [q for q in b if a.get(q) == b[q]]
    merged = ours.merge(theirs, on=["query_id", "doc_id"], suffixes=("_ours", "_ref"))
    diff = float((merged["score_ours"] - merged["score_ref"]).abs().max()) if len(merged) else float("inf")
    return {"queries": len(b), "identical_top10": len(same), "max_diff": diff,
            "equal": set(a) == set(b) and len(same) == len(b)}
