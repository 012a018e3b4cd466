"""`lrbench prune DIR`: the cells of a results folder that its suite no longer names.

A suite whose systems, params or runner versions changed leaves the old cells in the folder; the leaderboard
(cells.json, written by the last run) names the cells of its suite only, so every other cell folder is stale.
Pruning holds the leaderboard lock, so no run commits a manifest meanwhile; a run still computing cells into
the folder has not named them yet, so prune a folder no run is writing to.
"""

from __future__ import annotations

from dataclasses import dataclass

from lrbench.errors import LrbenchError
from lrbench.store.manifest import MANIFEST, _read_json
from lrbench.store.store import BOARD_LOCK, open_store


@dataclass
class Stale:
    key: str
    label: str  # "dataset / system" as its meta.json says, for the listing


def stale_cells(store) -> list[Stale]:
    """The store's cells that its manifest does not name."""
    root = store.root
    info = _read_json(store, store.root / MANIFEST)
    if info is None:
        raise LrbenchError(f"{root} is not a results folder (no readable {MANIFEST})",
                           hint="prune a folder written by `lrbench run`; without a manifest every cell looks stale")
    named = {entry.get("key") for entry in info["cells"] if isinstance(entry, dict)}
    out = []
    for key in store.keys():
        if key in named:
            continue
        try:
            meta = store.meta(key)
            label = f"{meta.get('dataset', {}).get('label', '?')} / {meta.get('system', {}).get('label', '?')}"
        except Exception:  # a damaged cell is stale all the same
            label = "unreadable meta.json"
        out.append(Stale(key, label))
    return out


def prune(root, *, delete: bool) -> list[Stale]:
    """The stale cells of the results folder `root`; removed when `delete`."""
    store = open_store(root)
    if not delete:
        return stale_cells(store)
    with store.lock(BOARD_LOCK):
        stale = stale_cells(store)
        for cell in stale:
            store.discard(cell.key)
    return stale
