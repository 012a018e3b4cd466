"""Length-bucketed vs unsorted batches: all-MiniLM-L6-v2 encoding through LoadedModel.encode.

    python benchmarks/bucketing.py [--corpus scifact|dl19] [--docs 256] [--rounds 2] [--batch-size 32]
                                   [--device cpu] [--threads 2]

The gain is the padding saved, so it depends on how the lengths spread: SciFact abstracts mostly reach the
model's 256-token cap (little to save), the DL19 candidate passages (MS MARCO) spread from a few words to
about 200 tokens. The summary records the length spread (tokens per text after truncation).

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
    ap.add_argument("--corpus", choices=["scifact", "dl19"], default="scifact")
    ap.add_argument("--docs", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int)
    args = ap.parse_args()

    import numpy as np

    from lrbench.runners.neural import load_model

    texts = [t for _, (_, t) in zip(range(args.docs), corpus_docs(args.corpus))]
    model = load_model("embedder", MINILM, {"device": args.device, "threads": args.threads})
    lengths = np.array([len(ids) for ids in model.tokenizer(texts, truncation=True,
                                                            max_length=model.max_length)["input_ids"]])
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
    summary = {"corpus": args.corpus, "docs": len(texts), "batch_size": args.batch_size,
               "tokens_per_text": {"min": int(lengths.min()), "median": float(np.median(lengths)),
                                   "max": int(lengths.max()), "at_cap": float((lengths >= model.max_length).mean())}, "device": model.device, "threads": model.threads,
               "seconds": seconds, "median_seconds": med,
               "bucketed_speedup_vs_unsorted": med["unsorted"] / med["bucketed"],
               "max_abs_diff": float(np.abs(out["bucketed"] - out["unsorted"]).max())}
    print(summary)
    write(f"bucketing_{args.corpus}_{model.device.split(':')[0]}", summary)


def corpus_docs(name: str):
    """(doc id, text) of a real corpus, in its file order."""
    if name == "scifact":
        return dataset(f"beir:{SHARED / 'beir-scifact'}").docs()
    with open(SHARED / "trec-dl-2019-passage" / "passages_union_of_candidates.tsv", encoding="utf-8") as fh:
        return [tuple(line.rstrip("\n").split("\t", 1)) for line in fh]


if __name__ == "__main__":
    main()
