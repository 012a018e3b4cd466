"""TREC DL19 passage: rerank the BM25 top-100 with the systems of suites/dl19-rerank.yaml through `lrbench.run`
(the same engine as `lrbench run`), timed, and print nDCG@10 / RR(rel=2)@10 / latency / memory per system.

    # the CI subset (10 queries, top-20):
    python benchmarks/neural_dl19.py --suite suites/dl19-rerank-ci.yaml --threads 1 --summary
    # full table (hours on 2 CPU cores for the LLM rows; minutes on a GPU: benchmarks/gpu_suites.sh):
    python benchmarks/neural_dl19.py --suite suites/dl19-rerank.yaml
    # only some systems, or param overrides (they change the cells' keys and are recorded in their config):
    python benchmarks/neural_dl19.py --only smollm-first --set smollm-listwise.batch_size=43

The results folder is benchmarks/out/<suite name>/; --summary also copies its small files (leaderboard, cells.json,
meta, per-query values) to benchmarks/results/<suite name>/, from which `lrbench tables benchmarks/*.md`
regenerates the published tables.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import yaml
from neural_common import OUT, ROOT

RESULTS = ROOT / "benchmarks" / "results"
COLUMNS = ["nDCG@10", "RR(rel=2)@10", "latency_ms_p50", "latency_ms_p95", "peak_rss_mb", "peak_cuda_mb",
           "wall_seconds"]


def parse_value(text):
    try:
        return json.loads(text)
    except ValueError:
        return text


def suite_with_overrides(args) -> tuple[dict, Path]:
    """The suite as a dict, with --set/--device/--threads applied to its neural systems' params."""
    path = Path(args.suite).resolve()
    suite = yaml.safe_load(path.read_text())
    if args.name:
        suite["name"] = args.name
    overrides: dict[str, dict] = {}
    for item in args.set or []:
        key, _, value = item.partition("=")
        system, _, param = key.partition(".")
        overrides.setdefault(system, {})[param] = parse_value(value)
    for system in suite["systems"]:
        if system["type"] == "given":
            continue
        params = system.setdefault("params", {})
        params.update(overrides.get(system["name"], {}))
        if args.device:
            params["device"] = args.device
        if args.threads:
            params["threads"] = args.threads
    return suite, path.parent


def run_suite(args, columns=COLUMNS):
    """Run the suite through lrbench.run, time it, print its table; returns the Results."""
    import lrbench
    from lrbench.presentation.tables import TableSpec, render, summarize

    suite, base = suite_with_overrides(args)
    out = Path(args.out) if args.out else OUT / suite["name"]
    started = time.perf_counter()
    res = lrbench.run(suite, out=out, base_dir=base, only=args.only or None, force=args.force)
    wall = time.perf_counter() - started
    print(f"{suite['name']}: {res.count('computed')} computed, {res.count('cached')} cached, "
          f"{len(res.failed)} failed in {wall:.1f}s -> {res.dir}")
    for dataset, system, error in res.failed:
        print(f"failed: {system} on {dataset}: {error}")
    print(render(TableSpec(results=[str(res.dir)], columns=columns)))
    if args.summary:
        dest = RESULTS / suite["name"]
        summarize(res.dir, dest)
        print(f"summary -> {dest.relative_to(ROOT)}")
    return res


def arguments(default_suite: str) -> argparse.ArgumentParser:
    """The options of run_suite (shared with dl19_paradigms.py)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--suite", default=str(ROOT / "suites" / default_suite))
    ap.add_argument("--name", help="suite name (and results folder) instead of the suite's own")
    ap.add_argument("--out", help="results folder [default: benchmarks/out/<suite name>]")
    ap.add_argument("--only", nargs="*", help="run only these systems (and their inputs)")
    ap.add_argument("--set", nargs="*", help="SYSTEM.PARAM=VALUE overrides")
    ap.add_argument("--device")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--force", action="store_true", help="recompute every cell")
    ap.add_argument("--summary", action="store_true", help="copy the results summary to benchmarks/results/")
    return ap


def main():
    run_suite(arguments("dl19-rerank-ci.yaml").parse_args())


if __name__ == "__main__":
    main()
