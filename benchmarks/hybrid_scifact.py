"""BM25 + MiniLM hybrid retrieval on BEIR SciFact (suites/hybrid-scifact.yaml): run the suite, draw its plots, keep
its summary in benchmarks/results/hybrid-scifact and regenerate the table in benchmarks/HYBRID.md from it.

    LRBENCH_MIRROR=../shared/data/ir_datasets python benchmarks/hybrid_scifact.py
    python benchmarks/hybrid_scifact.py --no-run      # from a finished results folder
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "suites" / "hybrid-scifact.yaml"
SUMMARY = ROOT / "benchmarks" / "results" / "hybrid-scifact"
PAGE = ROOT / "benchmarks" / "HYBRID.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "hybrid-scifact")
    parser.add_argument("--no-run", action="store_true", help="only summarize and tabulate a finished results folder")
    args = parser.parse_args()

    def lrbench(*argv: str) -> None:
        subprocess.run([sys.executable, "-m", "lrbench.cli", *argv], check=True)

    if not args.no_run:
        lrbench("run", str(SUITE), "--out", str(args.out))
    lrbench("report", str(args.out))
    if SUMMARY.exists():
        shutil.rmtree(SUMMARY)
    lrbench("summarize", str(args.out), str(SUMMARY))
    lrbench("tables", str(PAGE))
    plot = next(iter(sorted(args.out.glob("*pareto-scifact*.png"))), None)
    if plot:
        shutil.copyfile(plot, ROOT / "benchmarks" / "hybrid_scifact_sweep.png")


if __name__ == "__main__":
    main()
