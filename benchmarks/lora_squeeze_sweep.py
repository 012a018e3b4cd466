"""LoRA-Squeeze sweep: quality vs adapter rank on SciFact, through `lrbench.run` (suites/scifact-lora-squeeze.yaml).

Preparation (training is not a cell): a rank-16 LoRA (query/value, seeded) is trained with peft on
all-MiniLM-L6-v2 from the (query, relevant abstract) pairs of the first half of SciFact's test queries into
benchmarks/out/lora_squeeze/adapter, and the evaluation BEIR folder benchmarks/out/lora_squeeze/eval is written:
the other half of the test queries (disjoint from training), their relevant abstracts and the first --extra others.
The suite then runs the base model, the full adapter and the adapter squeezed to ranks 8, 4, 2, 1
(compress: lora-squeeze) as dense first stages; the summary goes to benchmarks/results/scifact-lora-squeeze.

    OMP_NUM_THREADS=1 python benchmarks/lora_squeeze_sweep.py [--steps 40] [--extra 1000] [--retrain] [--force]
    lrbench tables benchmarks/PARADIGMS_RESULTS.md

The adapter is retrained only when it is missing, when its recorded training settings differ, or with --retrain;
its content hash is part of the adapter cells' keys, so a retrained adapter gives new cells.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from neural_common import OUT, ROOT, SHARED

sys.path.insert(0, str(ROOT / "tests"))
from lora_helpers import scifact_pairs, train_lora  # noqa: E402
from neural_helpers import scifact_slice  # noqa: E402

SUITE = ROOT / "suites" / "scifact-lora-squeeze.yaml"
WORK = OUT / "lora_squeeze"  # the suite reads the adapter and the evaluation folder from here
RESULTS = ROOT / "benchmarks" / "results" / "scifact-lora-squeeze"
RANK = 16  # the suite's lora-r16 system
COLUMNS = ["nDCG@10", "R@100", "adapter_params", "wall_seconds"]


def train(steps: int, retrain: bool) -> None:
    """Train the adapter on the first half of the test queries' qrels pairs, unless the stored one has the
    same settings."""
    settings = {"rank": RANK, "steps": steps, "batch": 16, "lr": 2e-3, "max_length": 128, "seed": 0}
    record = WORK / "training.json"
    if not retrain and (WORK / "adapter" / "adapter_config.json").exists() and record.exists() \
            and json.loads(record.read_text()).get("settings") == settings:
        print(f"adapter: {WORK / 'adapter'} (trained earlier with these settings)")
        return
    rows = (SHARED / "beir-scifact" / "qrels" / "test.tsv").read_text().splitlines()[1:]
    qids = list(dict.fromkeys(r.split("\t")[0] for r in rows))
    first_half = set(qids[: len(qids) // 2])
    n_train = sum(r.split("\t")[0] in first_half for r in rows)  # qrels rows are grouped by query
    pairs = scifact_pairs(SHARED, slice(0, n_train))
    started = time.perf_counter()
    trainable, losses = train_lora(pairs, WORK / "adapter", **settings)
    seconds = time.perf_counter() - started
    record.write_text(json.dumps({"settings": settings, "pairs": len(pairs), "trainable": trainable,
                                  "losses": losses, "seconds": seconds}, indent=2))
    print(f"adapter: {len(pairs)} pairs, {trainable} trainable, loss {losses[0]:.3f} -> {losses[-1]:.3f} "
          f"({steps} steps, {seconds:.0f} s)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--extra", type=int, default=1000, help="unjudged abstracts in the evaluation corpus")
    ap.add_argument("--retrain", action="store_true", help="train the adapter again even if it is up to date")
    ap.add_argument("--force", action="store_true", help="recompute every cell")
    args = ap.parse_args()
    import lrbench
    from lrbench.presentation.tables import TableSpec, render, summarize

    WORK.mkdir(parents=True, exist_ok=True)
    train(args.steps, args.retrain)
    scifact_slice(SHARED, WORK / "eval", n_extra=args.extra, second_half=True)
    started = time.perf_counter()
    res = lrbench.run(SUITE, out=OUT / "scifact-lora-squeeze", force=args.force)
    print(f"scifact-lora-squeeze: {res.count('computed')} computed, {res.count('cached')} cached, "
          f"{len(res.failed)} failed in {time.perf_counter() - started:.1f}s -> {res.dir}")
    for dataset, system, error in res.failed:
        print(f"failed: {system} on {dataset}: {error}")
    if res.failed:
        sys.exit(1)
    print(render(TableSpec(results=[str(res.dir)], columns=COLUMNS)))
    summarize(res.dir, RESULTS)
    print(f"summary -> {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
