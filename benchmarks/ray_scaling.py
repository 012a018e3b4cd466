"""Scaling of the Ray executor: the same suite on a local Ray instance with 1 vs 2 worker CPUs.

Suite: a BM25 grid (k1 x b, 8 cells) on BEIR SciFact (5,183 docs, 300 queries), through the offline mirror.
Each configuration runs `--repeats` times, alternating the order, on a fresh results folder and a fresh
LRBENCH_CACHE (so every cell builds its BM25 index, as on a first run; the ir_datasets files are shared);
the report gives the median wall time of the suite (Ray start excluded, and reported on its own), the
local sequential executor as a reference, and the 1 -> 2 worker speedup.

    LRBENCH_MIRROR=../shared/data/ir_datasets .venv/bin/python benchmarks/ray_scaling.py [--repeats 2]

Writes benchmarks/out/ray_scaling.json (every timing) and the summary benchmarks/results/ray-scaling/summary.json
(the table of benchmarks/RESULTS.md: `lrbench tables benchmarks/RESULTS.md`). On a shared 2-core machine, expect
well under 2x.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
SUITE = {
    "name": "ray-scaling",
    "datasets": [{"id": "irds:beir/scifact/test", "name": "scifact", "measures": ["nDCG@10"]}],
    "systems": [{"name": "grid", "type": "bm25", "params": {"k": 100},
                 "sweep": {"k1": [0.6, 0.9, 1.2, 1.5], "b": [0.4, 0.75]}}],
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if not os.environ.get("LRBENCH_MIRROR"):
        os.environ["LRBENCH_MIRROR"] = str((HERE.parent.parent / "shared" / "data" / "ir_datasets").resolve())
    work = Path(tempfile.mkdtemp(prefix="lrbench-ray-scaling-"))
    os.environ.setdefault("IR_DATASETS_HOME", str(work / "irds"))
    os.environ.setdefault("LRBENCH_CACHE", str(work / "cache"))

    import ray

    import lrbench
    from lrbench.presentation.summaries import machine, write_summary

    started = machine()  # the machine and its load when the measurement starts

    suite_path = work / "suite.yaml"
    suite_path.write_text(yaml.safe_dump(SUITE, sort_keys=False))
    loaded = lrbench.load_suite(suite_path)
    n_cells = 8

    def fresh_cache(tag: str) -> None:  # before ray.init: the workers inherit it
        os.environ["LRBENCH_CACHE"] = str(work / f"cache-{tag}")

    def timed(kind: str, cpus: int | None, tag: str) -> float:
        out = work / f"out-{tag}"
        t0 = time.perf_counter()
        result = lrbench.run(loaded, out=out, executor=kind)
        seconds = time.perf_counter() - t0
        assert result.count("computed") == n_cells and not result.failed, result.failed
        return seconds

    fresh_cache("warmup")
    timed("local", None, "warmup")  # seeds the ir_datasets files from the mirror
    walls: dict[str, list[float]] = {"local": [], "ray-1": [], "ray-2": []}
    starts: dict[str, list[float]] = {"ray-1": [], "ray-2": []}
    order = ["ray-1", "ray-2", "local"]
    for rep in range(args.repeats):
        for name in (order if rep % 2 == 0 else order[::-1]):
            fresh_cache(f"{name}-{rep}")
            if name == "local":
                walls[name].append(timed("local", None, f"{name}-{rep}"))
                continue
            cpus = int(name.split("-")[1])
            t0 = time.perf_counter()
            ray.init(address="local", num_cpus=cpus, include_dashboard=False, log_to_driver=False)
            starts[name].append(time.perf_counter() - t0)
            try:
                walls[name].append(timed("ray", cpus, f"{name}-{rep}"))
            finally:
                ray.shutdown()
    med = {k: statistics.median(v) for k, v in walls.items()}
    report = {
        "suite": SUITE, "cells": n_cells, "repeats": args.repeats,
        "wall_seconds": walls, "median_wall_seconds": med,
        "ray_start_seconds": {k: statistics.median(v) for k, v in starts.items()},
        "speedup_2_vs_1_ray_workers": med["ray-1"] / med["ray-2"],
        "ray_1_worker_vs_local": med["ray-1"] / med["local"],
        "per_cell_seconds_local": med["local"] / n_cells,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "ray": ray.__version__,
                    "load_avg_at_end": os.getloadavg()},
    }
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "ray_scaling.json").write_text(json.dumps(report, indent=2))
    rows = [{"executor": name, "cells": n_cells, "wall": med[name], "per_cell": med[name] / n_cells,
             "ray_start": statistics.median(starts[name]) if name in starts else None,
             "vs_local": med[name] / med["local"], "repeats": args.repeats} for name in ("local", "ray-1", "ray-2")]
    columns = {"executor": "executor", "cells": "cells", "wall": "suite wall s (median)", "per_cell": "s / cell",
               "ray_start": "Ray start s (not in the suite time)", "vs_local": "wall / local", "repeats": "repeats"}
    write_summary(HERE / "results" / "ray-scaling" / "summary.json", name="ray-scaling",
                  command=f"python benchmarks/ray_scaling.py --repeats {args.repeats}", columns=columns, rows=rows,
                  started=started, notes=[f"speedup of 2 Ray worker CPUs over 1: "
                                          f"{report['speedup_2_vs_1_ray_workers']:.2f}x (wall time; the machine is "
                                          "shared, so wall time includes the other tenants' load)"])
    print(json.dumps({k: report[k] for k in ("median_wall_seconds", "ray_start_seconds",
                                             "speedup_2_vs_1_ray_workers", "ray_1_worker_vs_local", "machine")},
                     indent=2))


if __name__ == "__main__":
    main()
