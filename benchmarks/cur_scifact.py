"""ANNCUR on BEIR SciFact (5,183 items, 300 test queries) with the all-MiniLM-L6-v2 bi-encoder as the scorer:
recall@10 of the exact scorer's top-10 and nDCG@10 as the number of anchor items grows, against the scorer
calls per query, compared with exhaustive scoring (every item scored exactly).

    .venv/bin/python benchmarks/cur_scifact.py [--anchor-queries 100] [--items 25 50 100 200 400 800] [--k 100]
    # an LLM pointwise scorer (SmolLM2-135M yes/no) on a slice: 30 queries, their abstracts and 120 others
    .venv/bin/python benchmarks/cur_scifact.py --scorer smollm2 --slice 30 120 --anchor-queries 15 \
        --items 10 20 40 80 --k 10 30 --tag -smollm2

The exact score matrix (queries x items) is computed once; the CUR runs then take their scorer calls from it
(counted one by one), so an expensive scorer is paid for once, not once per configuration.

Protocol (lrbench cur-retrieval): queries split in two seeded folds, each fold answered with anchor queries from
the other (SciFact has no spare training queries offline); anchor items random (seed 0); top-k by the CUR
approximation rescored exactly. Writes benchmarks/out/cur_scifact.json and .md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import pandas as pd
from neural_common import OUT, ROOT, SHARED, context, dataset, evaluate, machine

from lrbench.runners.base import Output
from lrbench.runners.retrieval.cur_retrieval import CurRetrievalRunner, PairScorer
from lrbench.datasets.base import RUN_COLUMNS

SCORERS = {
    "minilm": {"type": "embedder", "params": {"model": "sentence-transformers/all-MiniLM-L6-v2"}},
    "smollm2": {"type": "llm-pointwise", "params": {"model": "HuggingFaceTB/SmolLM2-135M-Instruct",
                                                     "batch_size": 16, "max_length": 192}},
}


class MatrixScorer:
    """The scorer's exact scores, computed once per query over all items; calls are still counted."""

    def __init__(self, scorer: PairScorer, queries: dict[str, str]):
        self.ids, self.calls = scorer.ids, 0
        self.rows = {text: scorer.all_items(text) for text in queries.values()}
        self.exhaustive_calls = scorer.calls

    def __call__(self, query: str, items):
        items = np.asarray(items, dtype=np.int64)
        self.calls += len(items)
        return self.rows[query][items]

    def all_items(self, query: str):
        return self(query, np.arange(len(self.ids)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--anchor-queries", type=int, default=100)
    ap.add_argument("--items", type=int, nargs="*", default=[25, 50, 100, 200, 400, 800])
    ap.add_argument("--k", type=int, nargs="*", default=[10, 100])
    ap.add_argument("--rcond", type=float, default=1e-2, help="pseudo-inverse cut-off (cur-retrieval's rcond)")
    ap.add_argument("--tag", default="", help="suffix of the output files")
    ap.add_argument("--scorer", choices=sorted(SCORERS), default="minilm")
    ap.add_argument("--slice", type=int, nargs=2, metavar=("QUERIES", "OTHER_DOCS"),
                    help="a SciFact slice: the first QUERIES test queries, their abstracts and OTHER_DOCS others")
    ap.add_argument("--threads", type=int, help="torch threads of the scorer")
    args = ap.parse_args()
    spec = {"type": SCORERS[args.scorer]["type"], "params": dict(SCORERS[args.scorer]["params"])}
    if args.threads:
        spec["params"]["threads"] = args.threads
    if args.slice:
        sys.path.insert(0, str(ROOT / "tests"))
        from neural_helpers import scifact_slice

        folder = scifact_slice(SHARED, OUT / "cur-scifact-slice", *args.slice)
        ds = dataset(f"beir:{folder}")
    else:
        ds = dataset("irds:beir/scifact/test")
    ctx = context()
    queries = ds.eval_queries()
    qids = sorted(queries)
    t0 = time.perf_counter()
    scorer = MatrixScorer(PairScorer(spec, ds, ctx), queries)
    exhaustive_seconds = time.perf_counter() - t0
    exact = {q: scorer.rows[queries[q]] for q in qids}
    n = len(scorer.ids)
    top10 = {q: set(np.argsort(-exact[q])[:10].tolist()) for q in qids}
    exhaustive_rows = [(q, scorer.ids[i], float(exact[q][i])) for q in qids for i in np.argsort(-exact[q])[:100]]
    results = [{"method": "exhaustive", "anchor_items": None, "k": None, "calls_per_query": n, "recall@10": 1.0,
                **evaluate(Output(run=pd.DataFrame(exhaustive_rows, columns=RUN_COLUMNS)), ds, ["nDCG@10"])}]
    print(results[0], f"({time.perf_counter() - t0:.0f} s)", flush=True)
    for k in args.k:
        for items in args.items:
            runner = CurRetrievalRunner({"scorer": spec, "anchor_queries": args.anchor_queries,
                                         "anchor_items": items, "k": k, "rcond": args.rcond})
            index = runner.build_index(scorer, queries, qids, ctx)
            calls0, rows, recalls = scorer.calls, [], []
            for q in qids:
                found, scores = runner.search(scorer, queries[q], index["operators"][1 - index["fold_of"][q]],
                                              index["anchor_items"])
                rows.extend((q, scorer.ids[i], float(s)) for i, s in zip(found, scores))
                recalls.append(len(top10[q] & set(found[:10].tolist())) / 10)
            run = pd.DataFrame(rows, columns=RUN_COLUMNS)
            rec = {"method": "cur", "rcond": args.rcond, "anchor_queries": index["anchor_counts"], "anchor_items": items, "k": k,
                   "calls_per_query": (scorer.calls - calls0) / len(qids), "index_calls": index["calls"],
                   "recall@10": float(np.mean(recalls)), **evaluate(Output(run=run), ds, ["nDCG@10"])}
            results.append(rec)
            print(rec, flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"cur_scifact{args.tag}.json").write_text(json.dumps({
        "results": results, "items": n, "queries": len(qids), "scorer": spec, "slice": args.slice,
        "exhaustive_seconds": exhaustive_seconds, "exhaustive_calls": scorer.exhaustive_calls, "machine": machine()},
        indent=2))
    lines = ["| method | anchor items | k | scorer calls / query | recall@10 of exact top-10 | nDCG@10 |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['method']} | {r['anchor_items'] or ''} | {r['k'] or ''} | {r['calls_per_query']:.0f} | "
                     f"{r['recall@10']:.3f} | {r['nDCG@10']:.4f} |")
    (OUT / f"cur_scifact{args.tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
