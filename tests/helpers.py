"""Helpers for writing small suites that point at the shared data."""

from __future__ import annotations

from pathlib import Path

import yaml


def write_suite(folder: Path, suite: dict, name: str = "suite.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return path


def scores(board, dataset: str, system: str) -> dict[str, float]:
    part = board[(board["dataset"] == dataset) & (board["system"] == system)]
    return dict(zip(part["measure"], part["value"]))
