"""Shared fixtures: real data from ../shared/data, isolated caches per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session", autouse=True)
def isolated_caches(tmp_path_factory):
    """A writable ir_datasets home seeded through the offline mirror, and a private lrbench cache."""
    home = tmp_path_factory.mktemp("irds")
    cache = tmp_path_factory.mktemp("lrcache")
    os.environ["IR_DATASETS_HOME"] = str(home)
    os.environ["LRBENCH_CACHE"] = str(cache)
    os.environ["LRBENCH_MIRROR"] = str(SHARED / "ir_datasets")
    yield


@pytest.fixture
def shared() -> Path:
    if not SHARED.exists():
        pytest.skip("../shared/data is not available")
    return SHARED
