"""Shared fixtures: real data from ../shared/data, isolated caches per test session."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

SHARED = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()

# Set before anything imports ir_datasets: it computes its cache paths at import time.
_TMP = Path(tempfile.mkdtemp(prefix="lrbench-tests-"))
os.environ["IR_DATASETS_HOME"] = str(_TMP / "irds")
os.environ["LRBENCH_CACHE"] = str(_TMP / "cache")
os.environ["LRBENCH_MIRROR"] = str(SHARED / "ir_datasets")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def shared() -> Path:
    if not SHARED.exists():
        pytest.skip("../shared/data is not available")
    return SHARED
