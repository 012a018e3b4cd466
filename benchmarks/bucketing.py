"""Length-bucketed vs unsorted batches: all-MiniLM-L6-v2 encoding of SciFact abstracts through LoadedModel.encode.

    python benchmarks/bucketing.py [--docs 256] [--rounds 2] [--batch-size 32] [--device cpu] [--threads 2]

Rounds alternate the order of the two variants (so both see the same machine load on average); the embeddings
must agree (bucketing changes speed, not results). Writes benchmarks/out/bucketing_<device>.json.
"""

from __future__ import annotations

import argparse
import statistics
import time

from neural_common import SHARED, dataset, write

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int)
    args = ap.parse_args()

    import numpy as np

    from lrbench.runners.neural import load_model

    texts = [t for _, (_, t) in zip(range(args.docs), dataset(f"beir:{SHARED / 'beir-scifact'}").docs())]
    model = load_model("embedder", MINILM, {"device": args.device, "threads": args.threads})
    model.encode(texts[:32], batch_size=args.batch_size)  # warm-up
    seconds = {"bucketed": [], "unsorted": []}
    out = {}
    for r in range(args.rounds):
        for name in (["bucketed", "unsorted"] if r % 2 == 0 else ["unsorted", "bucketed"]):
            t0 = time.perf_counter()
            out[name] = model.encode(texts, batch_size=args.batch_size, sort=name == "bucketed")
            seconds[name].append(time.perf_counter() - t0)
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.1f}s" for k, v in seconds.items()), flush=True)
    med = {k: statistics.median(v) for k, v in seconds.items()}
    summary = {"docs": len(texts), "batch_size": args.batch_size, "device": model.device, "threads": model.threads,
               "seconds": seconds, "median_seconds": med,
               "bucketed_speedup_vs_unsorted": med["unsorted"] / med["bucketed"],
               "max_abs_diff": float(np.abs(out["bucketed"] - out["unsorted"]).max())}
    print(summary)
    write(f"bucketing_{model.device.split(':')[0]}", summary)


if __name__ == "__main__":
    main()
