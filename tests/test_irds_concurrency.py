"""Several processes opening one collection for the first time (process pool, Ray workers) must not race
ir_datasets' docstore build: without the lock, readers find half-written files."""

from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path


def _fingerprint(home: str) -> str:
    os.environ["IR_DATASETS_HOME"] = home  # set before ir_datasets is imported in this fresh process
    from lrbench.datasets import open_dataset
    from lrbench.suites.schema import DatasetSpec

    try:
        return open_dataset(DatasetSpec(id="irds:beir/scifact/test"), Path(".")).fingerprint()
    except Exception as exc:  # reported, so the assertion shows what went wrong
        return f"ERR {type(exc).__name__}: {exc}"


def test_first_reads_from_parallel_processes(tmp_path, shared):
    home = tmp_path / "home"
    home.mkdir()
    with mp.get_context("spawn").Pool(4) as pool:
        prints = pool.map(_fingerprint, [str(home)] * 4)
    assert not [p for p in prints if p.startswith("ERR")], prints
    assert len(set(prints)) == 1
