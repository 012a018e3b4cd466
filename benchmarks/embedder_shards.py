"""Sharded corpus encoding (`shards: N`) with the Ray executor vs one unsharded encoding.

Dataset: a BEIR SciFact slice (the first --queries test queries, their relevant abstracts and --docs others),
dense first stage with all-MiniLM-L6-v2 (1 torch thread per worker, blocks of --block-docs). Configurations:
the local executor without shards, Ray with 1 CPU and 2 shards, Ray with 2 CPUs and 2 shards; each on a fresh
results folder and cache. Checks that every sharded run equals the unsharded one, row for row.

    LRBENCH_MIRROR=../shared/data/ir_datasets .venv/bin/python benchmarks/embedder_shards.py [--docs 1000]

Writes benchmarks/out/embedder_shards.json.
Writes benchmarks/out/embedder_shards.json and the summary benchmarks/results/embedder-shards/summary.json
(the table of benchmarks/RESULTS.md: `lrbench tables benchmarks/RESULTS.md`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from neural_helpers import MINILM, scifact_slice  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=1000, help="SciFact abstracts besides the relevant ones")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--block-docs", type=int, default=128)
    args = parser.parse_args()
    from lrbench.presentation.summaries import machine, write_summary

    started = machine()
    work = Path(tempfile.mkdtemp(prefix="lrbench-shards-"))
    folder = scifact_slice(HERE.parent.parent / "shared" / "data", work / "scifact-slice", args.queries, args.docs)

    import pandas as pd
    import ray

    import lrbench

    def suite(shards: int | None) -> Path:
        params = {"model": MINILM, "k": 100, "threads": 1, "block_docs": args.block_docs}
        if shards:
            params["shards"] = shards
        path = work / f"suite-{shards}.yaml"
        path.write_text(yaml.safe_dump({
            "name": "shards", "datasets": [{"id": f"beir:{folder}", "name": "scifact-slice",
                                            "measures": ["nDCG@10", "R@100"]}],
            "systems": [{"name": "minilm", "type": "embedder", "params": params}]}, sort_keys=False))
        return path

    def run(tag: str, shards: int | None, cpus: int | None) -> dict:
        os.environ["LRBENCH_CACHE"] = str(work / f"cache-{tag}")  # before ray.init: workers inherit it
        out = work / f"out-{tag}"
        start = 0.0
        if cpus:
            t0 = time.perf_counter()
            ray.init(address="local", num_cpus=cpus, include_dashboard=False, log_to_driver=False)
            start = time.perf_counter() - t0
        try:
            t0 = time.perf_counter()
            result = lrbench.run(suite(shards), out=out, executor="ray" if cpus else "local")
            wall = time.perf_counter() - t0
        finally:
            if cpus:
                ray.shutdown()
        assert not result.failed, result.failed
        (cell,) = (out / "cells").iterdir()
        meta = json.loads((cell / "meta.json").read_text())
        board = result.leaderboard
        return {"wall_seconds": wall, "ray_start_seconds": start, "run": pd.read_parquet(cell / "run.parquet"),
                "scores": dict(zip(board["measure"], board["value"])),
                "corpus_docs": meta["profile"]["corpus_docs"],
                "shard_tasks": [{k: t.get(k) for k in ("shard", "docs", "encode_seconds", "seconds", "worker")}
                                for t in meta["profile"].get("shard_tasks", [])]}

    runs = {"local, unsharded": run("local", None, None),
            "ray 1 CPU, 2 shards": run("ray1", 2, 1),
            "ray 2 CPUs, 2 shards": run("ray2", 2, 2)}
    base = runs["local, unsharded"]["run"]
    for name, r in runs.items():
        r["identical_to_unsharded"] = bool(r.pop("run").equals(base))
    report = {"docs": runs["local, unsharded"]["corpus_docs"], "block_docs": args.block_docs, "runs": runs,
              "speedup_2_vs_1_cpu": runs["ray 1 CPU, 2 shards"]["wall_seconds"]
              / runs["ray 2 CPUs, 2 shards"]["wall_seconds"],
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "ray": ray.__version__,
                          "load_avg_at_end": os.getloadavg()}}
    rows = [{"configuration": name, "docs": r["corpus_docs"], "wall": r["wall_seconds"],
             "ray_start": r["ray_start_seconds"] or None, "shards": len(r["shard_tasks"]) or 1,
             "identical": r["identical_to_unsharded"], "nDCG@10": r["scores"].get("nDCG@10")} for name, r in runs.items()]
    columns = {"configuration": "configuration", "docs": "corpus docs", "wall": "suite wall s",
               "ray_start": "Ray start s (not in the suite time)", "shards": "shard tasks",
               "identical": "run identical to unsharded", "nDCG@10": "nDCG@10"}
    write_summary(HERE / "results" / "embedder-shards" / "summary.json", name="embedder-shards",
                  command=f"python benchmarks/embedder_shards.py --docs {args.docs} --queries {args.queries} "
                          f"--block-docs {args.block_docs}", columns=columns, rows=rows, started=started,
                  notes=[f"{args.queries} SciFact test queries, their relevant abstracts and {args.docs} others; "
                         f"speedup of 2 CPUs over 1: {report['speedup_2_vs_1_cpu']:.2f}x (wall time, shared machine)"])
    (HERE / "out").mkdir(exist_ok=True)
    (HERE / "out" / "embedder_shards.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
