"""Length-bucketed vs unsorted batches: all-MiniLM-L6-v2 encoding through LoadedModel.encode.

    OMP_NUM_THREADS=2 python benchmarks/bucketing.py [--corpus scifact dl19] [--docs 256] [--rounds 2]
                                                     [--batch-size 32] [--device cpu] [--threads 2]
    lrbench tables benchmarks/RESULTS.md

The gain is the padding saved, so it depends on how the lengths spread: SciFact abstracts mostly reach the
model's 256-token cap (little to save), the DL19 candidate passages (MS MARCO) spread from a few words to
about 200 tokens. Each row records the length spread (tokens per text after truncation).

One model is loaded for every corpus; rounds alternate the order of the two variants (so both see the same machine
load on average); the embeddings must agree (bucketing changes speed, not results). Writes the benchmark summary
benchmarks/results/bucketing/summary.json (one row per corpus, the machine, the load and the date).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from neural_common import ROOT, SHARED, dataset

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
SUMMARY = ROOT / "benchmarks" / "results" / "bucketing" / "summary.json"
COLUMNS = {"corpus": "corpus", "docs": "texts", "tokens_min": "tokens min", "tokens_median": "tokens median",
           "tokens_max": "tokens max", "at_cap": "share at the cap", "unsorted_seconds": "unsorted s (median)",
           "bucketed_seconds": "bucketed s (median)", "speedup": "unsorted / bucketed",
           "max_abs_diff": "max abs diff of embeddings"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", nargs="+", choices=["scifact", "dl19"], default=["scifact", "dl19"])
    ap.add_argument("--docs", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int)
    args = ap.parse_args()

    from lrbench.presentation.summaries import machine, write_summary
    from lrbench.runners.neural import load_model

    model = load_model("embedder", MINILM, {"device": args.device, "threads": args.threads})
    corpora = {name: [t for _, (_, t) in zip(range(args.docs), corpus_docs(name))] for name in args.corpus}
    model.encode(corpora[args.corpus[0]][:32], batch_size=args.batch_size)  # warm-up, not timed
    started = machine()
    rows = [measure(model, name, texts, args) for name, texts in corpora.items()]
    bad = [r["corpus"] for r in rows if r["max_abs_diff"] > 1e-4]
    if bad:
        raise SystemExit(f"bucketed and unsorted embeddings differ on {bad}; no summary written")
    omp = os.environ.get("OMP_NUM_THREADS")
    command = (f"OMP_NUM_THREADS={omp} " if omp else "") + "python benchmarks/bucketing.py" + \
        "".join(f" {a}" for a in sys.argv[1:])
    path = write_summary(
        SUMMARY, name="bucketing", command=command, columns=COLUMNS, rows=rows, started=started,
        notes=[f"{MINILM}, max length {model.max_length}, batch size {args.batch_size}, {model.device}, "
               f"{model.threads} threads; the first {args.docs} texts of each corpus in file order",
               f"{args.rounds} rounds per corpus; the two variants alternate which runs first",
               "tokens per text after truncation; share at the cap: texts truncated to the max length"])
    print(f"-> {path}")


def measure(model, corpus: str, texts: list[str], args) -> dict:
    import numpy as np

    lengths = np.array([len(ids) for ids in model.tokenizer(texts, truncation=True,
                                                            max_length=model.max_length)["input_ids"]])
    seconds: dict[str, list[float]] = {"bucketed": [], "unsorted": []}
    out = {}
    for r in range(args.rounds):
        for name in (["bucketed", "unsorted"] if r % 2 == 0 else ["unsorted", "bucketed"]):
            t0 = time.perf_counter()
            out[name] = model.encode(texts, batch_size=args.batch_size, sort=name == "bucketed")
            seconds[name].append(time.perf_counter() - t0)
        print(f"{corpus} round {r + 1}: " + ", ".join(f"{k} {v[-1]:.1f}s" for k, v in seconds.items()), flush=True)
    med = {k: statistics.median(v) for k, v in seconds.items()}
    return {"corpus": corpus, "docs": len(texts), "tokens_min": int(lengths.min()),
            "tokens_median": float(np.median(lengths)), "tokens_max": int(lengths.max()),
            "at_cap": float((lengths >= model.max_length).mean()), "unsorted_seconds": med["unsorted"],
            "bucketed_seconds": med["bucketed"], "speedup": med["unsorted"] / med["bucketed"],
            "max_abs_diff": float(np.abs(out["bucketed"] - out["unsorted"]).max()), "seconds": seconds,
            "rounds": args.rounds}


def corpus_docs(name: str):
    """(doc id, text) of a real corpus, in its file order."""
    if name == "scifact":
        return dataset(f"beir:{SHARED / 'beir-scifact'}").docs()
    with open(SHARED / "trec-dl-2019-passage" / "passages_union_of_candidates.tsv", encoding="utf-8") as fh:
        return [tuple(line.rstrip("\n").split("\t", 1)) for line in fh]


if __name__ == "__main__":
    main()
