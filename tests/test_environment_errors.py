"""The environment refuses a write (a path under /proc, a read-only mount, a full disk, a cache that is a file or
full, HOME missing): one line naming the path and the fix, a non-zero exit, nothing half-written; or, for the
cache, one warning and the same numbers as a clean run.

Real data: three DL19 queries with their qrels and BM25 run (`given`), and BM25 over Cranfield for the cache.
Mounts (tmpfs, read-only or 64 KiB) need root; the in-process cases patch the write to raise the errno instead.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def dl19(shared, tmp_path) -> Path:
    """A suite over three judged DL19 queries: topics, qrels and the BM25 run cut to them."""
    source = shared / "trec-dl-2019-passage"
    qids = list(dict.fromkeys(line.split()[0] for line in (source / "qrels.dl19-passage.txt").open()))[:3]
    folder = tmp_path / "suite"
    folder.mkdir()
    for name, src in (("qrels.txt", "qrels.dl19-passage.txt"), ("topics.tsv", "topics.dl19-passage.txt"),
                      ("run.trec", "rank_llm_candidates/run.bm25.top100.dl19.trec")):
        lines = [line for line in (source / src).open() if line.split() and line.split()[0] in qids]
        (folder / name).write_text("".join(lines))
    (folder / "suite.yaml").write_text("name: dl19-three\ndatasets:\n  - id: trec:topics.tsv\n    qrels: qrels.txt\n"
                                       "measures: [nDCG@10, RR@10]\nsystems:\n  - name: bm25run\n    type: given\n"
                                       "    params: {run: run.trec}\n")
    return folder / "suite.yaml"


def lrbench(*args, env=None, cwd=None, prelude: str = "", timeout=300):
    """`python -m lrbench ARGS` in a fresh process; `prelude` runs first in that process (to patch a write)."""
    full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    full = {k: v for k, v in full.items() if v is not None}
    if prelude:
        command = [sys.executable, "-c", prelude + "\nimport sys\nsys.argv = ['lrbench', *sys.argv[1:]]\n"
                   "from lrbench.entrypoint import main\nmain()", *args]
    else:
        command = [sys.executable, "-m", "lrbench", *args]
    return subprocess.run(command, env=full, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def one_error_line(result, code: int = 2) -> str:
    """Exit `code`, exactly one error line on stderr (besides the cells' progress lines), no traceback."""
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert all(line == errors[0] or line.split()[0] in ("computed", "cached") for line in lines), result.stderr
    return errors[0]


def board(out: Path) -> dict:
    frame = pd.read_parquet(out / "leaderboard.parquet")
    return {(r.system, r.measure): r.value for r in frame.itertuples()}


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def can_mount(tmp_path_factory) -> bool:
    probe = tmp_path_factory.mktemp("mount-probe")
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)], capture_output=True).returncode == 0
    if ok:
        subprocess.run(["umount", str(probe)], capture_output=True)
    return ok


@pytest.fixture
def mounted(tmp_path, can_mount):
    """mounted(options) -> a fresh tmpfs folder mounted with those options (unmounted afterwards)."""
    if not can_mount:
        pytest.skip("mounting a tmpfs needs root (CAP_SYS_ADMIN)")
    made = []

    def mount(options: str) -> Path:
        folder = tmp_path / f"mnt-{uuid.uuid4().hex[:6]}"
        folder.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], check=True)
        made.append(folder)
        return folder

    yield mount
    for folder in made:
        subprocess.run(["umount", str(folder)], capture_output=True)


# -- --out where nothing can be written ---------------------------------------------------------------------

@pytest.mark.parametrize("out", ["/proc/lrbench-results", "/proc/self/lrbench-results"])
def test_out_under_proc_is_one_line(dl19, out):
    result = lrbench("run", str(dl19), "--out", out)
    line = one_error_line(result)
    assert out in line and "--out" in line and "fix:" in line and "/proc" in line


def test_out_on_a_read_only_mount(dl19, mounted):
    folder = mounted("ro,size=64k")
    line = one_error_line(lrbench("run", str(dl19), "--out", str(folder / "out")))
    assert str(folder / "out") in line and "read-only" in line and "fix:" in line


def test_out_in_a_folder_chmod_0555(dl19, tmp_path):
    """As root the mode does not stop writes (the run goes on); as another user it is one line."""
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    result = lrbench("run", str(dl19), "--out", str(folder / "out"))
    if os.geteuid() == 0:
        assert result.returncode == 0, result.stderr
    else:
        line = one_error_line(result)
        assert "permission denied" in line and str(folder / "out") in line


@pytest.mark.parametrize("code, words", [(errno.EROFS, "read-only"), (errno.ENOSPC, "disk is full"),
                                         (errno.EPERM, "not permitted")])
def test_out_refused_in_process(dl19, tmp_path, code, words):
    """Every write of the results folder raising the errno (an immutable folder: EPERM): one line naming it."""
    out = tmp_path / "out"
    prelude = (f"import errno, os, pathlib\n_open = pathlib.Path.write_bytes\n"
               f"def refuse(self, data):\n"
               f"    if str(self).startswith({str(out)!r}):\n"
               f"        raise OSError({code}, os.strerror({code}), str(self))\n"
               f"    return _open(self, data)\n"
               f"pathlib.Path.write_bytes = refuse\n")
    line = one_error_line(lrbench("run", str(dl19), "--out", str(out), prelude=prelude))
    assert str(out) in line and words in line and "fix:" in line
    assert not [p for p in out.rglob("*") if p.is_file()]


# -- the leaderboard and its manifest: together or not at all ---------------------------------------------

def test_full_disk_while_committing_keeps_previous_board(dl19, tmp_path):
    out = tmp_path / "out"
    first = lrbench("run", str(dl19), "--out", str(out))
    assert first.returncode == 0, first.stderr
    before = {name: (out / name).read_bytes() for name in ("cells.json", "leaderboard.parquet", "leaderboard.md")}
    # the second run computes a new system, then the disk fills while the manifest is written
    (dl19.parent / "suite.yaml").write_text(dl19.read_text() + "  - name: top5\n    type: given\n"
                                            "    params: {run: run.trec, k: 5}\n")
    prelude = (f"import errno, os, pathlib\n_write = pathlib.Path.write_bytes\n"
               f"def full(self, data):\n"
               f"    if self.name.endswith('cells.json') and str(self).startswith({str(out)!r}):\n"
               f"        _write(self, data[: len(data) // 2])\n"
               f"        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))\n"
               f"    return _write(self, data)\n"
               f"pathlib.Path.write_bytes = full\n")
    line = one_error_line(lrbench("run", str(dl19), "--out", str(out), prelude=prelude))
    assert "disk is full" in line and str(out / "cells.json") in line
    assert {name: (out / name).read_bytes() for name in before} == before  # the previous commit, intact
    assert not list(out.glob(".tmp-*"))
    shown = lrbench("show", str(out), "--json")
    assert shown.returncode == 0 and {r["system"] for r in json.loads(shown.stdout)["rows"]} == {"bm25run"}


# -- the cache: run on without it, with one warning, same numbers -----------------------------------------

def _one_warning(result) -> str:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, result.stderr
    assert "running on without the cache" in warnings[0] and "fix:" in warnings[0]
    return warnings[0]


@pytest.fixture
def clean_board(dl19, tmp_path):
    out = tmp_path / "clean"
    result = lrbench("run", str(dl19), "--out", str(out), env={"LRBENCH_CACHE": str(tmp_path / "clean-cache")})
    assert result.returncode == 0, result.stderr
    return board(out)


def test_cache_that_is_a_file(dl19, tmp_path, clean_board):
    cache = tmp_path / "cache-file"
    cache.write_text("not a folder")
    out = tmp_path / "out"
    warning = _one_warning(lrbench("run", str(dl19), "--out", str(out), env={"LRBENCH_CACHE": str(cache)}))
    assert str(cache) in warning
    assert cache.read_text() == "not a folder"
    assert board(out) == clean_board


@pytest.mark.parametrize("home", ["/proc/lrbench-home", "missing"])
def test_home_under_proc_or_missing(dl19, tmp_path, clean_board, home):
    home = str(tmp_path / "no-such-home") if home == "missing" else home
    out = tmp_path / "out"
    warning = _one_warning(lrbench("run", str(dl19), "--out", str(out), env={"LRBENCH_CACHE": None, "HOME": home}))
    assert home in warning
    assert not Path(home).exists()  # nothing created outside the results folder
    assert board(out) == clean_board


def test_home_read_only(dl19, tmp_path, clean_board, mounted):
    home = mounted("ro,size=64k")
    out = tmp_path / "out"
    warning = _one_warning(lrbench("run", str(dl19), "--out", str(out), env={"LRBENCH_CACHE": None, "HOME": str(home)}))
    assert "read-only" in warning
    assert board(out) == clean_board


CRANFIELD = "name: cran\ndatasets:\n  - id: irds:cranfield\nmeasures: [nDCG@10, RR@10]\nsystems:\n  - name: bm25\n    type: bm25\n"


@pytest.fixture
def cranfield(shared, tmp_path):
    suite = tmp_path / "cran.yaml"
    suite.write_text(CRANFIELD)
    clean = tmp_path / "cran-clean"
    result = lrbench("run", str(suite), "--out", str(clean), env={"LRBENCH_CACHE": str(tmp_path / "cran-cache")})
    assert result.returncode == 0, result.stderr
    return suite, board(clean)


def test_full_cache_on_a_real_mount(cranfield, tmp_path, mounted):
    """BM25's index does not fit a 64 KiB cache: the cell runs on with a temporary cache, one warning."""
    suite, clean = cranfield
    cache = mounted("size=64k")
    out = tmp_path / "out"
    warning = _one_warning(lrbench("run", str(suite), "--out", str(out), env={"LRBENCH_CACHE": str(cache)}))
    assert str(cache) in warning and "disk is full" in warning
    assert board(out) == clean


def test_full_cache_in_process(cranfield, tmp_path):
    """numpy's message on a full disk ("120040 requested and 31712 written") carries no errno: the cache is
    probed, found full, and the cell runs again on a temporary cache."""
    suite, clean = cranfield
    cache = tmp_path / "cache"
    prelude = (f"import bm25s\n_save = bm25s.BM25.save\n"
               f"def full(self, folder, *a, **k):\n"
               f"    if str(folder).startswith({str(cache)!r}):\n"
               f"        raise OSError('120040 requested and 31712 written')\n"
               f"    return _save(self, folder, *a, **k)\n"
               f"bm25s.BM25.save = full\n"
               f"import lrbench.paths as paths\n_unusable = paths._unusable\n"
               f"paths._unusable = lambda root, size=1: ('{cache}: the cache folder cannot be used (the disk is full)'"
               f" if size > 1 else _unusable(root, size))\n")
    out = tmp_path / "out"
    warning = _one_warning(lrbench("run", str(suite), "--out", str(out), env={"LRBENCH_CACHE": str(cache)},
                                   prelude=prelude))
    assert str(cache) in warning
    assert board(out) == clean


def test_git_commit_names_this_checkout():
    """Summaries and cell metadata carry the commit of the lrbench source they ran, read from this checkout."""
    import subprocess
    from pathlib import Path

    from lrbench.environment import git_commit

    root = Path(__file__).resolve().parents[1]
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    if not head:
        pytest.skip("not a git checkout")
    git_commit.cache_clear()
    assert git_commit().removesuffix("+dirty") == head[:12]
