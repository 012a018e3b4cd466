"""Nothing leaves the results folder, through links either: the store resolves every path it reads, writes or
deletes and refuses one that resolves outside the folder with one error line naming it; cell keys read from
cells.json must be cell keys."""

from __future__ import annotations

import json
import shutil

import pytest

from lrbench.errors import LrbenchError
from lrbench.store.store import LocalStore
from tests.test_fast_rerun_integrity import _single_error, clean, copy, lrbench, one_cell, tree_digest  # noqa: F401


def _outside(copy_root) -> "tuple":
    """A folder beside the results folder (inside the sibling whose checksum the fixture compares)."""
    return copy_root.parent / "sibling"


def test_cells_linked_to_another_folder(copy):
    suite, out, _ = copy
    sibling = _outside(out)
    shutil.rmtree(out / "cells")
    (out / "cells").symlink_to(sibling / "cells", target_is_directory=True)
    line = _single_error(lrbench("run", str(suite), "--out", str(out)), str(out / "cells"), "outside the results folder")
    assert str(sibling / "cells") in line
    assert (sibling / "cells" / "x" / "data.txt").exists()  # the other folder's sub-folder (no meta.json) stays


def test_a_cell_folder_linked_outside(copy, tmp_path):
    suite, out, _ = copy
    key, _, _ = one_cell(out)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.move(str(out / "cells" / key), str(elsewhere / key))
    (out / "cells" / key).symlink_to(elsewhere / key, target_is_directory=True)
    before = tree_digest(elsewhere)
    _single_error(lrbench("run", str(suite), "--out", str(out)), str(out / "cells" / key), "outside the results folder")
    _single_error(lrbench("export", str(out), "--format", "trec"), key, "outside the results folder")
    assert tree_digest(elsewhere) == before


def test_a_manifest_key_that_climbs_out(copy, tmp_path):
    suite, out, _ = copy
    info = json.loads((out / "cells.json").read_text())
    key, _, _ = one_cell(out)
    shutil.copytree(out / "cells" / key, tmp_path / "elsewhere" / "cellk")  # a readable cell outside, to be refused
    climb = "../../../elsewhere/cellk"
    for entry in info["cells"]:
        if entry["key"] == key:
            entry["key"] = climb
    (out / "cells.json").write_text(json.dumps(info))
    for command in (["export", str(out), "--format", "trec"], ["show", str(out)], ["report", str(out), "--no-plots"]):
        _single_error(lrbench(*command), "cells.json", f"'{climb}' is not a cell key")
    assert not (out / "export").exists()
    again = lrbench("run", str(suite), "--out", str(out))  # the run rewrites the manifest from its cells
    assert again.returncode == 0 and "0 computed, 4 cached" in again.stderr, again.stderr


def test_the_store_refuses_paths_outside_its_folder(tmp_path):
    """At the store's path layer, for any caller: a '..' key, a linked lock folder, a linked leaderboard."""
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    elsewhere.mkdir()
    store = LocalStore(out)
    with pytest.raises(LrbenchError, match="outside the results folder"):
        store.has("../../elsewhere")
    out.mkdir()
    (out / ".locks").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(LrbenchError, match="outside the results folder"):
        with store.lock("a" * 20):
            pass
    (out / "leaderboard.md").symlink_to(elsewhere / "board.md")
    with pytest.raises(LrbenchError, match="leaderboard.md"):
        store.write_atomic(out / "leaderboard.md", lambda p: p.write_text("x"))
    assert list(elsewhere.iterdir()) == []
