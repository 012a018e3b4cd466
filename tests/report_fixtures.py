"""A small real results folder for the report tests: BM25 variants and a b-sweep on Cranfield (225 queries)."""

from __future__ import annotations

from pathlib import Path

import yaml

SWEEP_SUITE = {
    "name": "report-cranfield",
    "datasets": [{"id": "irds:cranfield", "name": "cranfield", "measures": ["nDCG@10", "AP", "P@10"],
                  "relevance": {1: 4, 2: 3, 3: 2, 4: 1, -1: 0}}],
    "baseline": "bm25",
    "systems": [
        {"name": "bm25", "type": "bm25", "params": {"k1": 0.9, "b": 0.4}},
        {"name": "bm25-robertson", "type": "bm25", "params": {"k1": 1.2, "b": 0.75, "method": "robertson"}},
        {"name": "bm25-b", "type": "bm25", "params": {"k1": 0.9}, "sweep": {"b": [0.0, 0.75]}},
    ],
}


def run_sweep_suite(folder: Path) -> Path:
    """Run SWEEP_SUITE into folder/results and return that results folder."""
    import lrbench

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "suite.yaml"
    path.write_text(yaml.safe_dump(SWEEP_SUITE, sort_keys=False))
    result = lrbench.run(path, out=folder / "results")
    assert not result.failed, result.failed
    return folder / "results"
