"""A fully cached rerun at start-up speed.

After a run in which no cell failed, `lrbench run` writes `rerun.json` into the results folder: the suite's
configuration hash (with a signature of lrbench's own code), the keys of its cells and the leaderboard as
terminal tables. A rerun parses the suite, computes every cell's key again (cheap: dataset fingerprints are
cached against their files' size and mtime) and, when the keys and the suite are those of `rerun.json` and
every cell is complete in the store, prints the stored tables without starting the executor. The semantic
checks are skipped on that path: the same suite passed them under the same code when the receipt was
written. Nothing on this path imports pandas, numpy or a model library.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from lrbench.atomic import write_text
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


def write_receipt(out_dir: Path, loaded, keys: list[str], tables: list[dict]) -> None:
    write_text(Path(out_dir) / RECEIPT, json.dumps({"suite": _suite_hash(loaded), "keys": sorted(keys),
                                                    "tables": tables}))


def cached_tables(loaded, out_dir: Path) -> tuple[list[dict], int] | None:
    """(the stored leaderboard tables, the number of cells) when every cell of the suite is complete and
    unchanged, else None. `loaded` may be unchecked: any problem computing the keys means "not cached", and
    the full path (checks first) reports it."""
    from lrbench.errors import LrbenchError

    try:
        receipt = json.loads((Path(out_dir) / RECEIPT).read_text())
    except (OSError, ValueError):
        return None
    if receipt.get("suite") != _suite_hash(loaded):
        return None
    try:
        keys = suite_keys(loaded)
    except (LrbenchError, OSError):
        return None
    if sorted(keys) != receipt.get("keys"):
        return None
    from lrbench.store.store import LocalStore

    store = LocalStore(Path(out_dir))
    if not all(store.has(key) for key in keys):
        return None
    return receipt["tables"], len(keys)


def print_cached(loaded, out: str | None, started: float, console, err_console) -> bool:
    """Print the stored leaderboard of a fully cached suite (True), or do nothing (False)."""
    import time

    from lrbench.paths import default_out_dir
    from lrbench.store.store import is_remote

    if out and is_remote(out):
        return False
    out_dir = Path(str(out).removeprefix("file://")) if out else default_out_dir(loaded.suite.name)
    cached = cached_tables(loaded, out_dir)
    if cached is None:
        return False
    tables, n = cached
    from lrbench.presentation.terminal import rich_tables

    for table in rich_tables(tables):
        console.print(table)
    err_console.print(f"0 computed, {n} cached, 0 failed in {time.perf_counter() - started:.1f}s -> "
                      f"{out_dir}/leaderboard.md")
    return True
