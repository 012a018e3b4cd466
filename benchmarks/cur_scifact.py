"""ANNCUR on BEIR SciFact (5,183 items, 300 test queries) with the all-MiniLM-L6-v2 bi-encoder as the scorer:
recall@10 of the exact scorer's top-10 and nDCG@10 as the number of anchor items grows, against the scorer
calls per query, compared with exhaustive scoring (every item scored exactly).

    .venv/bin/python benchmarks/cur_scifact.py [--anchor-queries 100] [--items 25 50 100 200 400 800] [--k 100]

Protocol (lrbench cur-retrieval): queries split in two seeded folds, each fold answered with anchor queries from
the other (SciFact has no spare training queries offline); anchor items random (seed 0); top-k by the CUR
approximation rescored exactly. Writes benchmarks/out/cur_scifact.json and .md.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd
from neural_common import OUT, context, dataset, evaluate, machine

from lrbench.runners.base import Output
from lrbench.runners.cur_retrieval import CurRetrievalRunner, PairScorer
from lrbench.suites.datasets.base import RUN_COLUMNS

SCORER = {"type": "embedder", "params": {"model": "sentence-transformers/all-MiniLM-L6-v2"}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--anchor-queries", type=int, default=100)
    ap.add_argument("--items", type=int, nargs="*", default=[25, 50, 100, 200, 400, 800])
    ap.add_argument("--k", type=int, nargs="*", default=[10, 100])
    ap.add_argument("--rcond", type=float, default=1e-2, help="pseudo-inverse cut-off (cur-retrieval's rcond)")
    ap.add_argument("--tag", default="", help="suffix of the output files")
    args = ap.parse_args()
    ds = dataset("irds:beir/scifact/test")
    ctx = context()
    queries = ds.eval_queries()
    qids = sorted(queries)
    t0 = time.perf_counter()
    scorer = PairScorer(SCORER, ds, ctx)
    exact = {q: scorer.all_items(queries[q]) for q in qids}
    n = len(scorer.ids)
    top10 = {q: set(np.argsort(-exact[q])[:10].tolist()) for q in qids}
    exhaustive_rows = [(q, scorer.ids[i], float(exact[q][i])) for q in qids for i in np.argsort(-exact[q])[:100]]
    results = [{"method": "exhaustive", "anchor_items": None, "k": None, "calls_per_query": n, "recall@10": 1.0,
                **evaluate(Output(run=pd.DataFrame(exhaustive_rows, columns=RUN_COLUMNS)), ds, ["nDCG@10"])}]
    print(results[0], f"({time.perf_counter() - t0:.0f} s)", flush=True)
    for k in args.k:
        for items in args.items:
            runner = CurRetrievalRunner({"scorer": SCORER, "anchor_queries": args.anchor_queries,
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
    (OUT / f"cur_scifact{args.tag}.json").write_text(json.dumps({"results": results, "items": n, "queries": len(qids),
                                                      "machine": machine()}, indent=2))
    lines = ["| method | anchor items | k | scorer calls / query | recall@10 of exact top-10 | nDCG@10 |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['method']} | {r['anchor_items'] or ''} | {r['k'] or ''} | {r['calls_per_query']:.0f} | "
                     f"{r['recall@10']:.3f} | {r['nDCG@10']:.4f} |")
    (OUT / f"cur_scifact{args.tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
