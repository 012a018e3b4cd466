"""Harness overhead: lrbench's embedder vs plain sentence-transformers `encode` on the 5,183 SciFact
documents (title + " " + text), same model, batch size and device, interleaved rounds; plus the speed-up
of length-bucketed over unsorted batching.

    .venv/bin/python benchmarks/neural_overhead.py [--rounds 3] [--batch-size 32] [--device auto] [--limit N]

Reported per round (docs/s):
  st        SentenceTransformer.encode(texts, batch_size)            (sorts by character length itself)
  lrbench   LoadedModel.encode(texts, batch_size)                    (sorted by token length)
  runner    EmbedderRunner.corpus_embeddings (read corpus, encode in chunks, save the .npy cache)
  unsorted  LoadedModel.encode(texts, batch_size, sort=False)
ratio = median(lrbench docs/s) / median(st docs/s); the target is >= 0.95.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from neural_common import SHARED, dataset, write

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--limit", type=int, help="only the first N documents (quick checks)")
    args = ap.parse_args()

    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    from lrbench.runners.base import RunContext
    from lrbench.runners.retrieval.embedder import EmbedderRunner
    from lrbench.runners.neural import load_model

    ds = dataset(f"beir:{SHARED / 'beir-scifact'}")
    docs = list(ds.docs())[: args.limit] if args.limit else list(ds.docs())
    texts = [t for _, t in docs]
    params = {"device": args.device, "threads": args.threads, "batch_size": args.batch_size}
    ours = load_model("embedder", MINILM, params)
    st = SentenceTransformer(ours.resolved.path, device=ours.device)
    st.max_seq_length = ours.max_length
    runner = EmbedderRunner({"model": MINILM, **params})

    class Subset:  # the dataset, cut to `texts`, for the runner path
        spec = ds.spec

        def docs(self):
            return iter(docs)

        def fingerprint(self):
            return ds.fingerprint() + f":{len(docs)}"

        corpus_fingerprint = fingerprint

    def sync():
        if ours.device.startswith("cuda"):
            torch.cuda.synchronize()

    def timed(fn):
        sync()
        t0 = time.perf_counter()
        result = fn()
        sync()
        return time.perf_counter() - t0, result

    def runner_path():
        tmp = Path(tempfile.mkdtemp())
        try:
            return runner.corpus_embeddings(ours, Subset(), RunContext(cache_dir=tmp))[1]
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    warm = texts[:256]
    st.encode(warm, batch_size=args.batch_size)
    ours.encode(warm, batch_size=args.batch_size)
    rounds = []
    for r in range(args.rounds):
        row = {}
        order = ["st", "lrbench", "runner", "unsorted"] if r % 2 == 0 else ["lrbench", "st", "unsorted", "runner"]
        for name in order:
            if name == "st":
                secs, emb = timed(lambda: st.encode(texts, batch_size=args.batch_size, convert_to_numpy=True))
                ref = emb
            elif name == "lrbench":
                secs, emb = timed(lambda: ours.encode(texts, batch_size=args.batch_size))
            elif name == "runner":
                secs, emb = timed(runner_path)
            else:
                secs, emb = timed(lambda: ours.encode(texts, batch_size=args.batch_size, sort=False))
            row[name] = {"seconds": secs, "docs_per_second": len(texts) / secs}
            row[name + "_emb"] = emb
        diff = float(np.abs(row["lrbench_emb"] - row["st_emb"]).max())
        rounds.append({k: v for k, v in row.items() if not k.endswith("_emb")} | {"max_abs_diff_vs_st": diff})
        print(f"round {r + 1}: " + ", ".join(f"{k} {rounds[-1][k]['docs_per_second']:.1f} docs/s"
                                             for k in ("st", "lrbench", "runner", "unsorted")), flush=True)
    med = {k: statistics.median(rr[k]["docs_per_second"] for rr in rounds) for k in ("st", "lrbench", "runner",
                                                                                      "unsorted")}
    summary = {"docs": len(texts), "batch_size": args.batch_size, "device": ours.device, "threads": ours.threads,
               "dtype": str(ours.dtype), "median_docs_per_second": med,
               "ratio_lrbench_vs_st": med["lrbench"] / med["st"], "ratio_runner_vs_st": med["runner"] / med["st"],
               "bucketed_speedup_vs_unsorted": med["lrbench"] / med["unsorted"],
               "max_abs_diff_vs_st": max(rr["max_abs_diff_vs_st"] for rr in rounds), "rounds": rounds}
    print({k: v for k, v in summary.items() if k != "rounds"})
    write("neural_overhead" + (f"_{ours.device.split(':')[0]}" if True else ""), summary)


if __name__ == "__main__":
    main()
