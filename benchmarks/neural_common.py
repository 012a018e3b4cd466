"""Helpers shared by the neural benchmark scripts (not part of the lrbench package)."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LRBENCH_SHARED_DATA", ROOT.parent / "shared" / "data")).resolve()
OUT = ROOT / "benchmarks" / "out"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(ROOT))


def dataset(dataset_id: str, **spec):
    from lrbench.datasets import open_dataset
    from lrbench.suites.schema import DatasetSpec

    return open_dataset(DatasetSpec(id=dataset_id, **spec), ROOT)


def dl19(queries_limit: int | None = None):
    base = SHARED / "trec-dl-2019-passage"
    return dataset(f"candidates:{base}/rank_llm_candidates/BM25.top100.dl19.json",
                   qrels=str(base / "qrels.dl19-passage.txt"), queries_limit=queries_limit)


def context(depth=None, cache=None):
    from lrbench.runners.base import RunContext

    cache = Path(cache or OUT / "cache")
    cache.mkdir(parents=True, exist_ok=True)
    return RunContext(cache_dir=cache, suite_dir=ROOT, depth=depth)


def evaluate(output, ds, measures):
    from lrbench.evaluation.evaluators import evaluator_for

    frame = output.frame("run")
    _, scores = evaluator_for("ranking").evaluate(frame, ds, measures)
    return {row.measure: float(row.value) for row in scores.itertuples()}


def machine() -> dict:
    import torch

    info = {"python": platform.python_version(), "torch": torch.__version__, "cpu_count": os.cpu_count(),
            "threads": torch.get_num_threads(), "host": platform.node()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def write(name: str, payload: dict) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    payload = {"written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine(), **payload}
    path.write_text(json.dumps(payload, indent=2, default=str))
    print(f"-> {path}")
    return path
