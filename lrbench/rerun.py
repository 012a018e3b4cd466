"""A fully cached rerun at start-up speed.

After a run in which no cell failed, the engine (`lrbench run` and `lrbench.run`) writes `rerun.json` into a
local results folder: the suite's configuration hash (with a signature of lrbench's own code), the keys of its
cells, the leaderboard as terminal tables, and the size, modification time and SHA-256 of every file it
vouches for (each cell's meta.json and data files, cells.json, leaderboard.parquet and .md). A rerun parses
the suite, computes every cell's key again (cheap: dataset fingerprints are cached against their files' size
and mtime) and, when the keys and the suite are those of `rerun.json` and every vouched file still has its
size and checksum (the small files are hashed every time, the large ones when their size or mtime moved),
prints the stored tables without starting the executor. Any difference sends the run to the full path,
which verifies every cell, recomputes a damaged one and rewrites the leaderboard; the line printed names
the cell. The semantic checks are skipped on the fast path: the same suite passed them under the same code
when the receipt was written. Nothing on this path imports pandas, numpy or a model library.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from lrbench.atomic import sha256_file, write_text
from lrbench.suites.cells import canonical_json, expand_cells

RECEIPT = "rerun.json"


def code_signature() -> str:
    """lrbench's version and the size and mtime of each of its modules: a receipt written by other code is void."""
    from lrbench.version import __version__

    root = Path(__file__).resolve().parent
    stats = []
    for path in sorted(root.rglob("*.py")):
        st = path.stat()
        stats.append(f"{path.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join([__version__, *stats]).encode()).hexdigest()[:20]


def suite_keys(loaded) -> list[str]:
    """The key of every cell of the suite, as the plan computes them (inputs first)."""
    from lrbench.plan import Plan
    from lrbench.plan.graph import order_cells

    plan = Plan(loaded, order_cells(expand_cells(loaded.suite)))
    return [plan.prepare(cell).key for cell in plan.cells]


def _suite_hash(loaded) -> str:
    config = canonical_json({"suite": loaded.suite.model_dump(mode="json"), "base": str(loaded.base_dir),
                             "code": code_signature()})
    return hashlib.sha256(config.encode()).hexdigest()[:20]


def _vouched(root: Path, keys: list[str]) -> dict[str, list]:
    """[size, mtime_ns, sha256] of every file the receipt vouches for: each cell's meta.json and data
    files (their checksums from meta.json, which the store verified), the manifest and the leaderboard."""
    from lrbench.store.manifest import BOARD, MANIFEST, MARKDOWN
    from lrbench.store.store import META

    files: dict[str, list] = {}

    def add(rel: str, digest: str | None = None) -> None:
        st = (root / rel).stat()
        files[rel] = [st.st_size, st.st_mtime_ns, digest or sha256_file(root / rel)]

    for key in keys:
        meta = json.loads((root / "cells" / key / META).read_text())
        add(f"cells/{key}/{META}")
        for name, digest in sorted((meta.get("files") or {}).items()):
            add(f"cells/{key}/{name}", digest)
    for name in (MANIFEST, BOARD, MARKDOWN):
        add(name)
    return files


def write_receipt(store, loaded, cells: dict[str, str], tables: list[dict]) -> None:
    """`cells`: key -> "system on dataset" of every cell of the suite, all stored in `store` (a local one)."""
    root = store.location.path
    keys = sorted(cells)
    receipt = {"suite": _suite_hash(loaded), "keys": keys, "labels": cells, "files": _vouched(root, keys),
               "tables": tables}
    write_text(root / RECEIPT, json.dumps(receipt))


#: files whose checksum the fast path checks every time (small); the others are checked when their
#: size or modification time differs from the receipt's
SMALL = ("meta.json", "scores.parquet", "cells.json", "leaderboard.parquet", "leaderboard.md")
#: what a receipt may vouch for: a file of a cell (a 20-hex-digit key) or of the leaderboard
_VOUCHED = re.compile(r"^(cells/[0-9a-f]{20}/[A-Za-z0-9_.\-]+|cells\.json|leaderboard\.(parquet|md))$")


def _changed(root: Path, rel: str, expected) -> str | None:
    """Why a vouched file no longer is what the receipt recorded, or None."""
    if not _VOUCHED.match(rel):
        return "is not a results file"
    path = root / rel
    try:
        size, mtime, digest = expected
        if not path.resolve().is_relative_to(root.resolve()):
            return "leads outside the results folder"
        st = path.stat()
    except (OSError, TypeError, ValueError):
        return "missing"
    if st.st_size != size:
        return "size differs"
    if (rel.rsplit("/", 1)[-1] in SMALL or st.st_mtime_ns != mtime) and sha256_file(path) != digest:
        return "checksum differs"
    return None


def _first_change(root: Path, receipt: dict) -> str | None:
    """A one-line reason the receipt no longer describes the folder, naming the cell it concerns, or None."""
    files, labels = receipt.get("files"), receipt.get("labels")
    if not isinstance(files, dict) or not isinstance(labels, dict) or sorted(labels) != receipt.get("keys"):
        return "rerun.json is from another version: checking every cell"
    for rel, expected in files.items():
        why = _changed(root, rel, expected)
        if why is None:
            continue
        parts = rel.split("/")
        if parts[0] == "cells" and len(parts) == 3:
            return f"cell {labels.get(parts[1], parts[1])} ({parts[1]}): {parts[2]} {why}; checking and recomputing it"
        return f"{rel} {why}; rewriting the leaderboard"
    return None


def cached_tables(loaded, location, warn=None) -> tuple[list[dict], int] | None:
    """(the stored leaderboard tables, the number of cells) when every cell of the suite is complete and
    every file the receipt vouches for is unchanged, else None (`warn` gets the reason when files changed).
    `loaded` may be unchecked: any problem computing the keys means "not cached", and the full path
    (checks first) reports it."""
    from lrbench.errors import LrbenchError

    root = location.path
    try:
        receipt = json.loads((root / RECEIPT).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(receipt, dict) or receipt.get("suite") != _suite_hash(loaded):
        return None
    try:
        keys = suite_keys(loaded)
    except (LrbenchError, OSError):
        return None
    if sorted(keys) != receipt.get("keys"):
        return None
    change = _first_change(root, receipt)
    if change is not None:
        if warn is not None:
            warn(change)
        return None
    return receipt["tables"], len(keys)


def print_cached(loaded, location, started: float, console, err_console) -> bool:
    """Print the stored leaderboard of a fully cached suite (True), or do nothing (False). `location`: the
    ResultsLocation (None: the suite's default folder)."""
    import time

    from lrbench.store.location import ResultsLocation

    location = ResultsLocation.of(location, loaded.suite.name)
    if location.remote:
        return False
    from rich.markup import escape

    cached = cached_tables(loaded, location,
                           lambda why: err_console.print(f"[yellow]rerun:[/yellow] {escape(why)}", highlight=False))
    if cached is None:
        return False
    tables, n = cached
    from lrbench.presentation.terminal import rich_tables

    for table in rich_tables(tables):
        console.print(table)
    err_console.print(f"0 computed, {n} cached, 0 failed in {time.perf_counter() - started:.1f}s -> "
                      f"{location.path}/leaderboard.md")
    return True
