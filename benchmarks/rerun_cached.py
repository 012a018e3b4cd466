"""Benchmark: wall time of a cached rerun of a finished suite, as a ratio to the first run and to `lrbench --help`.

    python benchmarks/rerun_cached.py [SUITE] [--repeats N]

Runs `lrbench run SUITE` as a user would (a fresh process each time) into a fresh results folder and a
fresh lrbench cache, then reruns it N times, each rerun followed by one `lrbench --help` (interleaved, so
both see the same machine load). Python's bytecode cache is on, as in a normal environment (an environment
that sets PYTHONDONTWRITEBYTECODE recompiles every lrbench module a command imports, on every start; the
cache goes to a temporary PYTHONPYCACHEPREFIX, warmed by the first run). Writes the summary
benchmarks/results/rerun-cached/summary.json (the table of benchmarks/RESULTS.md: `lrbench tables benchmarks/RESULTS.md`).
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


def timed(cmd: list[str], env: dict) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the process: user + system, its stderr). CPU time is the steadier
    number on a shared machine, where wall time mostly measures the other tenants."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise SystemExit(err)
    return elapsed, usage.ru_utime + usage.ru_stime, err


def timed_run(suite: Path, out: Path, env: dict) -> tuple[float, float, str]:
    wall, cpu, err = timed([sys.executable, "-m", "lrbench", "run", str(suite), "--out", str(out)], env)
    summary = [l for l in err.splitlines() if " computed, " in l]
    return wall, cpu, summary[-1].strip() if summary else ""


def timed_help(env: dict) -> tuple[float, float]:
    wall, cpu, _ = timed([sys.executable, "-m", "lrbench", "--help"], env)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("suite", nargs="?", default=str(ROOT / "suites" / "quickstart.yaml"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-bytecode-cache", action="store_true",
                        help="set PYTHONDONTWRITEBYTECODE: every start compiles the lrbench modules it imports")
    args = parser.parse_args()
    from lrbench.presentation.summaries import machine, write_summary

    started = machine()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, LRBENCH_CACHE=str(Path(tmp) / "cache"))
        if args.no_bytecode_cache:  # installed packages' bytecode is still read; lrbench's is never written
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pyc")
        env.setdefault("LRBENCH_MIRROR", str((ROOT / ".." / "shared" / "data" / "ir_datasets").resolve()))
        out = Path(tmp) / "results"
        first, _, first_summary = timed_run(Path(args.suite), out, env)
        timed_help(env)  # the help path's modules into the bytecode cache too
        reruns, helps = [], []
        for _ in range(args.repeats):
            reruns.append(timed_run(Path(args.suite), out, env))
            helps.append(timed_help(env))
    med = lambda rows, i: statistics.median(r[i] for r in rows)  # noqa: E731
    result = {"suite": args.suite, "first_run_seconds": round(first, 3), "first_run": first_summary,
              "rerun_seconds_median": round(med(reruns, 0), 3), "rerun": reruns[-1][2],
              "rerun_to_first_ratio": round(med(reruns, 0) / first, 4),
              "help_seconds_median": round(med(helps, 0), 3),
              "rerun_to_help_ratio": round(med(reruns, 0) / med(helps, 0), 3),
              "rerun_cpu_seconds_median": round(med(reruns, 1), 3), "help_cpu_seconds_median": round(med(helps, 1), 3),
              "rerun_to_help_cpu_ratio": round(med(reruns, 1) / med(helps, 1), 3), "repeats": args.repeats,
              "bytecode_cache": not args.no_bytecode_cache, "load_average_1min_after": round(os.getloadavg()[0], 2)}
    name = f"rerun-cached{'-no-bytecode' if args.no_bytecode_cache else ''}"
    suite = Path(args.suite).resolve()
    row = {"suite": str(suite.relative_to(ROOT)) if suite.is_relative_to(ROOT) else str(suite),
           "first_wall": result["first_run_seconds"], "rerun_wall": result["rerun_seconds_median"],
           "rerun_to_first": result["rerun_to_first_ratio"], "rerun_cpu": result["rerun_cpu_seconds_median"],
           "help_cpu": result["help_cpu_seconds_median"], "rerun_to_help_cpu": result["rerun_to_help_cpu_ratio"],
           "repeats": args.repeats, "bytecode_cache": result["bytecode_cache"]}
    columns = {"suite": "suite", "first_wall": "first run, wall s", "rerun_wall": "cached rerun, wall s (median)",
               "rerun_to_first": "rerun / first (wall)", "rerun_cpu": "rerun CPU s (median)",
               "help_cpu": "`lrbench --help` CPU s (median)", "rerun_to_help_cpu": "rerun / help (CPU)",
               "repeats": "reruns", "bytecode_cache": "bytecode cache"}
    command = "python benchmarks/rerun_cached.py" + "".join(f" {a}" for a in sys.argv[1:])
    path = write_summary(ROOT / "benchmarks" / "results" / name / "summary.json", name=name, command=command,
                         columns=columns, rows=[row], started=started, extra={"detail": result})
    print(json.dumps(result, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
