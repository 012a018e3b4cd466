"""The fast rerun (rerun.json) serves only what it can vouch for: a damaged file of a cell, of the manifest or of
the leaderboard sends `lrbench run` to the full path, which names and recomputes the cell or rewrites the
leaderboard; the numbers are those of a clean run. Damage to the folder's structure gets one line or a
recomputation, never a traceback."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import write_suite

ROOT = Path(__file__).resolve().parents[1]
CRAN = {"id": "irds:cranfield", "name": "cranfield", "queries_limit": 40, "measures": ["nDCG@10", "AP"]}
SUITE = {"name": "fast-rerun", "datasets": [CRAN], "baseline": "bm25",
         "systems": [{"name": "bm25", "type": "bm25", "params": {"k": 100}},
                     {"name": "robertson", "type": "bm25", "params": {"k": 100, "method": "robertson", "k1": 1.2}},
                     {"name": "k1-low", "type": "bm25", "params": {"k": 100, "k1": 0.6}},
                     {"name": "b-low", "type": "bm25", "params": {"k": 100, "b": 0.3}}]}
CELL_FILES = ("run.parquet", "perquery.parquet", "scores.parquet", "meta.json")
TOP_FILES = ("cells.json", "leaderboard.parquet", "leaderboard.md")


def lrbench(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "lrbench", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


def shown(folder: Path) -> list[dict]:
    proc = lrbench("show", str(folder), "--json")
    assert proc.returncode == 0, proc.stderr
    return sorted(json.loads(proc.stdout)["rows"], key=lambda r: (r["system"], r["measure"]))


def tree_digest(folder: Path) -> str:
    """One checksum of every file's path and bytes under a folder (links not followed)."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file() and not path.is_symlink():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """A clean run of the suite (rerun.json written) and its leaderboard."""
    folder = tmp_path_factory.mktemp("clean")
    suite = write_suite(folder, SUITE)
    first = lrbench("run", str(suite), "--out", str(folder / "out"))
    assert first.returncode == 0 and "4 computed, 0 cached" in first.stderr, first.stderr
    assert (folder / "out" / "rerun.json").exists()
    return suite, folder / "out", shown(folder / "out")


@pytest.fixture
def copy(clean, tmp_path):
    """A copy of the clean folder (times kept, so the receipt still vouches for it) beside an untouched sibling."""
    suite, out, board = clean
    target = tmp_path / "results" / "out"
    shutil.copytree(out, target, copy_function=shutil.copy2)
    sibling = tmp_path / "results" / "sibling"
    (sibling / "cells" / "x").mkdir(parents=True)
    (sibling / "cells" / "x" / "data.txt").write_text("not lrbench's")
    before = tree_digest(sibling)
    yield suite, target, board
    assert tree_digest(sibling) == before  # nothing outside the results folder was touched


def one_cell(out: Path) -> tuple[str, str, str]:
    """(key, other key, label) of the robertson cell and of another cell."""
    info = json.loads((out / "cells.json").read_text())
    keys = {c["system"]: c["key"] for c in info["cells"]}
    return keys["robertson"], keys["bm25"], "robertson on cranfield"


def damage(path: Path, kind: str, other: Path | None = None) -> None:
    if kind == "garbage":
        path.write_bytes(os.urandom(max(path.stat().st_size, 64)))
    elif kind == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif kind == "missing":
        path.unlink()
    elif kind == "swapped":
        tmp = path.with_name("swap.tmp")
        path.rename(tmp)
        other.rename(path)
        tmp.rename(other)


def test_an_untouched_copy_is_served_from_the_receipt(copy):
    suite, out, board = copy
    again = lrbench("run", str(suite), "--out", str(out))
    assert again.returncode == 0 and "0 computed, 4 cached" in again.stderr and "rerun:" not in again.stderr
    assert shown(out) == board


@pytest.mark.parametrize("kind", ["garbage", "truncated", "missing", "swapped"])
@pytest.mark.parametrize("name", CELL_FILES)
def test_a_damaged_cell_file_is_named_and_recomputed(copy, name, kind):
    suite, out, board = copy
    key, other, label = one_cell(out)
    damage(out / "cells" / key / name, kind, out / "cells" / other / name)
    again = lrbench("run", str(suite), "--out", str(out))
    assert again.returncode == 0 and "Traceback" not in again.stderr, again.stderr
    assert "rerun:" in again.stderr  # the fast path said why it stepped aside, naming the cell
    notice = next(line for line in again.stderr.splitlines() if "rerun:" in line)
    assert key in notice or (kind == "swapped" and other in notice), notice
    computed = 2 if kind == "swapped" else 1
    assert f"{computed} computed, {4 - computed} cached" in again.stderr, again.stderr
    assert shown(out) == board
    served = lrbench("run", str(suite), "--out", str(out))  # the receipt is whole again
    assert "0 computed, 4 cached" in served.stderr and "rerun:" not in served.stderr, served.stderr


@pytest.mark.parametrize("kind", ["garbage", "truncated", "missing"])
@pytest.mark.parametrize("name", TOP_FILES)
def test_a_damaged_manifest_or_leaderboard_is_rewritten(copy, name, kind):
    suite, out, board = copy
    damage(out / name, kind)
    again = lrbench("run", str(suite), "--out", str(out))
    assert again.returncode == 0 and "Traceback" not in again.stderr, again.stderr
    assert f"rerun: {name}" in again.stderr and "0 computed, 4 cached" in again.stderr, again.stderr
    assert shown(out) == board
    served = lrbench("run", str(suite), "--out", str(out))
    assert "0 computed, 4 cached" in served.stderr and "rerun:" not in served.stderr, served.stderr


def _single_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert all(n in proc.stderr for n in needles), proc.stderr
    return errors[0]


def test_a_manifest_without_suite(copy):
    suite, out, board = copy
    info = json.loads((out / "cells.json").read_text())
    del info["suite"]
    (out / "cells.json").write_text(json.dumps(info))
    _single_error(lrbench("show", str(out)), "cells.json", "names no suite")
    again = lrbench("run", str(suite), "--out", str(out))
    assert again.returncode == 0 and "0 computed, 4 cached" in again.stderr, again.stderr
    assert shown(out) == board


def test_cells_that_is_a_file(copy):
    suite, out, _ = copy
    shutil.rmtree(out / "cells")
    (out / "cells").write_text("a file")
    _single_error(lrbench("run", str(suite), "--out", str(out)), "cells is a file")
    assert (out / "cells").read_text() == "a file"


def test_a_cell_folder_that_is_a_file_is_recomputed(copy):
    suite, out, board = copy
    key, _, _ = one_cell(out)
    shutil.rmtree(out / "cells" / key)
    (out / "cells" / key).write_text("a file")
    again = lrbench("run", str(suite), "--out", str(out))
    assert again.returncode == 0 and "Traceback" not in again.stderr, again.stderr
    assert "1 computed, 3 cached" in again.stderr and key in again.stderr, again.stderr
    assert shown(out) == board
