"""Benchmark: wall time of a cached rerun of a finished suite, as a ratio to the first run.

    python benchmarks/rerun_cached.py [SUITE] [--repeats N]

Runs `lrbench run SUITE` as a user would (a fresh process each time) into a fresh results folder and a
fresh lrbench cache, then reruns it N times. Writes benchmarks/out/rerun_cached.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed_run(suite: Path, out: Path, env: dict) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "lrbench", "run", str(suite), "--out", str(out)],
                          env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    summary = [l for l in proc.stderr.splitlines() if " computed, " in l]
    return elapsed, summary[-1].strip() if summary else ""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("suite", nargs="?", default=str(ROOT / "suites" / "quickstart.yaml"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, LRBENCH_CACHE=str(Path(tmp) / "cache"))
        env.setdefault("LRBENCH_MIRROR", str((ROOT / ".." / "shared" / "data" / "ir_datasets").resolve()))
        out = Path(tmp) / "results"
        first, first_summary = timed_run(Path(args.suite), out, env)
        reruns = [timed_run(Path(args.suite), out, env) for _ in range(args.repeats)]
    median = statistics.median(t for t, _ in reruns)
    result = {"suite": args.suite, "first_run_seconds": round(first, 3), "first_run": first_summary,
              "rerun_seconds_median": round(median, 3), "rerun": reruns[-1][1],
              "rerun_to_first_ratio": round(median / first, 4)}
    out_file = ROOT / "benchmarks" / "out" / "rerun_cached.json"
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
