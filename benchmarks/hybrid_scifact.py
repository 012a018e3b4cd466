"""BM25 + MiniLM hybrid retrieval on BEIR SciFact (suites/hybrid-scifact.yaml): run it, then write
benchmarks/HYBRID.md from the results folder and the alpha-sweep plot next to it.

    LRBENCH_MIRROR=../shared/data/ir_datasets python benchmarks/hybrid_scifact.py --out results/hybrid-scifact
    python benchmarks/hybrid_scifact.py --out results/hybrid-scifact --no-run   # table from a finished folder
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "suites" / "hybrid-scifact.yaml"
MEASURES = ["nDCG@10", "R@100", "AP@100"]


def table(out: Path) -> str:
    board = pd.read_parquet(out / "leaderboard.parquet")
    cells = {c["system"]: c for c in json.loads((out / "cells.json").read_text())["cells"]}
    wide = board.pivot_table(index="system", columns="measure", values="value", aggfunc="first")
    order = list(dict.fromkeys(board["system"]))
    lines = ["| system | type | " + " | ".join(MEASURES) + " | cell key |", "|---|---|" + "---:|" * len(MEASURES) + "---|"]
    for system in order:
        values = " | ".join(f"{wide.loc[system, m]:.4f}" if m in wide.columns else "" for m in MEASURES)
        lines.append(f"| {system} | {cells[system].get('type', '')} | {values} | {cells[system]['key']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "hybrid-scifact")
    parser.add_argument("--no-run", action="store_true", help="only tabulate a finished results folder")
    args = parser.parse_args()
    lrbench = [sys.executable, "-m", "lrbench.cli"]
    if not args.no_run:
        subprocess.run(lrbench + ["run", str(SUITE), "--out", str(args.out)], check=True)
    subprocess.run(lrbench + ["report", str(args.out)], check=True)
    rows = table(args.out)
    text = f"""# Hybrid retrieval on BEIR SciFact: BM25 + all-MiniLM-L6-v2

Suite: `suites/hybrid-scifact.yaml` (300 test queries, 5,183 documents). BM25 is bm25s (k1=0.9, b=0.4, Snowball
stemmer, top 1000); MiniLM is exact cosine search over the whole corpus (top 1000). Fusion systems combine the two
runs per query; `wsum[alpha=a]` weighs min-max-normalised BM25 by a and MiniLM by 1 - a.

Command: `LRBENCH_MIRROR=../shared/data/ir_datasets python benchmarks/hybrid_scifact.py --out {args.out}`
(runs the suite, then `lrbench report` for the plots and this table from `leaderboard.parquet`).

{rows}

The alpha sweep, with its Pareto front, is drawn by `lrbench report` as `pareto-scifact.png` in the results folder
(copied here as `hybrid_scifact_sweep.png`).
"""
    (ROOT / "benchmarks" / "HYBRID.md").write_text(text)
    plot = next((p for p in (args.out / "report").glob("*pareto-scifact*.png")), None) or \
        next(iter(args.out.glob("**/*pareto-scifact*.png")), None)
    if plot:
        (ROOT / "benchmarks" / "hybrid_scifact_sweep.png").write_bytes(plot.read_bytes())
    print(text)


if __name__ == "__main__":
    main()
