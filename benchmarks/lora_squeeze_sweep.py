"""LoRA-Squeeze sweep: quality vs adapter rank on SciFact.

A rank-16 LoRA (query/value) is trained with peft on all-MiniLM-L6-v2 from the (query, relevant abstract)
pairs of the first half of SciFact's test qrels, then evaluated as a dense first stage on the other half's
queries (disjoint queries) over a corpus slice (their relevant abstracts plus the first --extra abstracts):
the base model, the full adapter, and the adapter squeezed to each target rank (compress: lora-squeeze).

    .venv/bin/python benchmarks/lora_squeeze_sweep.py [--steps 40] [--ranks 1 2 4 8] [--extra 1000]

Writes benchmarks/out/lora_squeeze.json and .md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from neural_common import OUT, ROOT, SHARED, context, dataset, evaluate, machine

sys.path.insert(0, str(ROOT / "tests"))
from lora_helpers import MINILM, scifact_pairs, train_lora  # noqa: E402
from neural_helpers import scifact_slice  # noqa: E402


def eval_folder(folder, extra: int) -> None:
    """BEIR folder: the second half of SciFact's test queries, their relevant docs + `extra` other docs."""
    scifact_slice(SHARED, folder, n_extra=extra, second_half=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--ranks", type=int, nargs="*", default=[1, 2, 4, 8])
    ap.add_argument("--extra", type=int, default=1000)
    args = ap.parse_args()
    from lrbench.runners.base import RunContext
    from lrbench.runners.retrieval.embedder import EmbedderRunner

    work = OUT / "lora_squeeze"
    work.mkdir(parents=True, exist_ok=True)
    rows = [line for line in (SHARED / "beir-scifact" / "qrels" / "test.tsv").read_text().splitlines()[1:]]
    qids = list(dict.fromkeys(r.split("\t")[0] for r in rows))
    first_half = set(qids[: len(qids) // 2])
    n_train = sum(r.split("\t")[0] in first_half for r in rows)
    t0 = time.perf_counter()
    trainable, losses = train_lora(scifact_pairs(SHARED, slice(0, n_train)), work / "adapter", rank=args.rank,
                                   steps=args.steps, batch=16, lr=2e-3, max_length=128)
    train_s = time.perf_counter() - t0
    eval_folder(work / "eval", args.extra)
    ds = dataset(f"beir:{work / 'eval'}", split="test")
    configs = [("base", {}, None), (f"lora r={args.rank}", {"adapter": str(work / "adapter")}, None)]
    configs += [(f"lora-squeeze r={r}", {"adapter": str(work / "adapter")},
                 {"method": "lora-squeeze", "target_rank": r}) for r in sorted(args.ranks, reverse=True)]
    results = []
    for name, extra, compress in configs:
        base_ctx = context()
        ctx = RunContext(cache_dir=base_ctx.cache_dir / "lora_squeeze" / name.replace(" ", "_").replace("=", ""),
                         suite_dir=ROOT, compress=compress)
        out = EmbedderRunner({"model": MINILM, "k": 100, **extra}).run(ds, {}, ctx)
        p = out.profile
        rec = {"system": name, **evaluate(out, ds, ["nDCG@10", "R@100"]),
               "adapter_params": p.get("adapter_params_after_squeeze", p.get("adapter_trainable_params")),
               "corpus_docs": p["corpus_docs"]}
        results.append(rec)
        print(rec, flush=True)
    (OUT / "lora_squeeze.json").write_text(json.dumps({"results": results, "train_losses": losses,
                                                       "train_seconds": train_s, "trainable": trainable,
                                                       "machine": machine()}, indent=2))
    lines = ["| system | adapter params | nDCG@10 | R@100 |", "|---|---:|---:|---:|"]
    lines += [f"| {r['system']} | {r['adapter_params'] or 0} | {r['nDCG@10']:.4f} | {r['R@100']:.4f} |"
              for r in results]
    (OUT / "lora_squeeze.md").write_text("\n".join(lines) + "\n")
    print(f"train loss {losses[0]:.3f} -> {losses[-1]:.3f} ({args.steps} steps, {train_s:.0f} s)")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
