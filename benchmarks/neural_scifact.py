"""all-MiniLM-L6-v2 dense retrieval on BEIR SciFact test (title + " " + text, cosine), nDCG@10.

Reference: MTEB's published result for sentence-transformers/all-MiniLM-L6-v2 on SciFact (test),
main score nDCG@10 = 0.64508 (see benchmarks/RESULTS.md for the source and the differences).

    .venv/bin/python benchmarks/neural_scifact.py [--batch-size 32] [--threads N]
"""

from __future__ import annotations

import argparse
import time

from neural_common import SHARED, context, dataset, evaluate, write

MTEB_NDCG10 = 0.64508


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    from lrbench.runners.embedder import EmbedderRunner

    ds = dataset(f"beir:{SHARED / 'beir-scifact'}")
    runner = EmbedderRunner({"model": "sentence-transformers/all-MiniLM-L6-v2", "batch_size": args.batch_size,
                             "threads": args.threads, "device": args.device, "k": 100})
    t0 = time.perf_counter()
    out = runner.run(ds, {}, context())
    wall = time.perf_counter() - t0
    scores = evaluate(out, ds, ["nDCG@10", "R@100"])
    print(f"nDCG@10 {scores['nDCG@10']:.4f} (MTEB {MTEB_NDCG10}), R@100 {scores['R@100']:.4f}, wall {wall:.1f}s, "
          f"corpus cached: {out.profile['corpus_cached']}")
    write("neural_scifact", {"scores": scores, "mteb_ndcg10": MTEB_NDCG10,
                             "difference": scores["nDCG@10"] - MTEB_NDCG10, "wall_seconds": wall,
                             "profile": out.profile})


if __name__ == "__main__":
    main()
